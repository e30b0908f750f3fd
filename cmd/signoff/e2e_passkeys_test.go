package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
)

// virtualAuthenticator gives the tab a platform authenticator (as a
// laptop's fingerprint reader) through Chromium's DevTools: it keeps
// discoverable credentials, verifies the user, and is always touched.
func (b *tab) virtualAuthenticator() {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
				Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: true,
			}})
		return err
	}))
}

// A passkey, end to end in Chromium: registered on the account page,
// used to sign in (no email, no password), and to sign a slot; the
// signature records which passkey it was.
func TestPasskeysInTheBrowser(t *testing.T) {
	t.Parallel()
	a := startAppWith(t, pgtest.URL(t), appSetup{listened: func(cfg *config.Config, port int) { cfg.BaseURL = localhostURL(port) }})
	dana := a.user("Dana Whitfield", "Database Administrator")
	owner := a.user("Olivia Owner")
	d := a.deployment(owner, "voxflow-api", "v2.4.0")
	for _, it := range a.leaves(d) {
		a.setItem(d, owner, it.Path, signoff.ItemDone, "")
	}
	slot := slotOf(t, a, d, "Database Administrator")

	browser := newBrowser(t)
	b := newTab(t, browser, a.URL, "dana")
	b.virtualAuthenticator()
	b.login(dana)

	// Register a passkey: named, confirmed with the current password.
	b.navigate("/account")
	b.waitFor("the passkey button", `!document.querySelector("[data-testid=add-passkey]").hidden`)
	b.do(
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Work laptop"),
		chromedp.SendKeys(chromedp.ID("passkey-password"), e2ePassword),
	)
	before := eval[float64](b, "performance.timeOrigin")
	b.click("[data-testid=add-passkey]")
	b.waitFor("the account page after adding", fmt.Sprintf(`performance.timeOrigin !== %v && document.readyState === "complete"`, before))
	if n := b.count("[data-testid=passkey]"); n != 1 || !strings.Contains(b.text("[data-testid=passkeys]"), "Work laptop") {
		b.fail("%d passkeys listed after adding one; flash %q", n, b.text("#flash"))
	}
	keys, err := a.DB.Passkeys(context.Background(), dana.ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("stored passkeys: %v, %v", keys, err)
	}
	b.colorScheme("dark")
	b.shot("account-dark")
	b.colorScheme("")

	// Sign out, then in with the passkey alone.
	before = eval[float64](b, "performance.timeOrigin")
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]').submit()`))
	b.waitFor("the login page", fmt.Sprintf(`performance.timeOrigin !== %v && location.pathname === "/login"`, before))
	b.waitFor("the passkey sign-in", `!document.querySelector("[data-testid=login-passkey]").hidden`)
	before = eval[float64](b, "performance.timeOrigin")
	b.click("[data-testid=login-passkey]")
	b.waitFor("signed in", fmt.Sprintf(`performance.timeOrigin !== %v && !!document.querySelector("[data-testid=current-user]")`, before))
	if got := b.text("[data-testid=current-user]"); got != dana.Name {
		b.fail("signed in with the passkey as %q", got)
	}

	// Sign the slot with it.
	if st := b.navigate(fmt.Sprintf("/deployments/%d/slots/%d/sign", d.ID, slot)); st != http.StatusOK {
		b.fail("sign page: %d", st)
	}
	b.waitFor("the passkey signature button", `!document.querySelector("[data-testid=sign-passkey]").hidden`)
	b.shot("sign-with-passkey")
	before = eval[float64](b, "performance.timeOrigin")
	b.click("[data-testid=sign-passkey]")
	b.waitFor("the deployment", fmt.Sprintf(`performance.timeOrigin !== %v && location.pathname === %q`, before, dpath(d, "")))
	sig := a.slot(d, slot).Signature
	if sig == nil || sig.Signer.ID != dana.ID {
		b.fail("slot %d not signed by Dana: %+v (flash %q)", slot, sig, b.text("#flash"))
	}
	with := a.signedWith(t, d, slot)
	if with.Method != signoff.SignedWithPasskey || with.Credential != keys[0].CredentialName() {
		t.Fatalf("signed_with = %+v; want passkey %s", with, keys[0].CredentialName())
	}
	if used, _ := a.DB.Passkeys(context.Background(), dana.ID); used[0].LastUsedAt == nil {
		t.Fatalf("the passkey's use was not recorded")
	}
	if got := strings.Join(a.systemActions(t), " "); !strings.Contains(got, "passkey.register") {
		t.Fatalf("system chain %s lacks passkey.register", got)
	}

	// The account page on a phone, with the sessions of both sign-ins.
	p := newTab(t, browser, a.URL, "phone")
	p.phone(390, 844)
	p.login(dana)
	p.navigate("/account")
	if n := p.count("[data-testid=session]"); n < 2 {
		p.fail("%d sessions listed; want this one and the laptop's", n)
	}
	p.shot("account-phone")
}

// Recovery in the browser: an admin issues a reset link; the person opens
// it, is told why ten spaces are no password, and sets a good one.
func TestPasswordResetInTheBrowser(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	admin := a.user("Rachel Kim")
	if err := a.DB.SetPermissions(context.Background(), admin.ID, true, false, byUser(admin)); err != nil {
		t.Fatal(err)
	}
	omar := a.user("Omar Haddad")

	browser := newBrowser(t)
	b := newTab(t, browser, a.URL, "admin")
	b.login(admin)
	b.navigate("/admin/people")
	if st := b.submit(fmt.Sprintf(`#person-%d [data-testid=reset]`, omar.ID)); st != http.StatusCreated {
		b.fail("reset link: status %d", st)
	}
	link := eval[string](b, `document.querySelector("[data-testid=reset-link] input").value`)
	if !strings.Contains(link, "/reset?token=") {
		b.fail("no reset link shown: %q", link)
	}
	b.shot("people-reset-link")

	o := newTab(t, browser, a.URL, "omar")
	o.navigate(link[strings.Index(link, "/reset?"):]) // BASE_URL here is the configured :0
	o.do(
		chromedp.SendKeys(chromedp.ID("new-password"), "          "),
		chromedp.SendKeys(chromedp.ID("new-password-confirm"), "          "),
	)
	if st := o.submit(`form[action="/reset"] button[type=submit]`); st != http.StatusBadRequest {
		o.fail("ten spaces: status %d", st)
	}
	if msg := o.text("[data-testid=form-error]"); !strings.Contains(msg, "only spaces") {
		o.fail("ten spaces: %q", msg)
	}
	o.colorScheme("dark")
	o.shot("reset-refused-dark")
	o.colorScheme("")
	const fresh = "quartz meadow lantern 1987"
	o.do(
		chromedp.SendKeys(chromedp.ID("new-password"), fresh),
		chromedp.SendKeys(chromedp.ID("new-password-confirm"), fresh),
	)
	if st := o.submit(`form[action="/reset"] button[type=submit]`); st != http.StatusOK {
		o.fail("reset: status %d", st)
	}
	if got := o.text("[data-testid=current-user]"); got != omar.Name {
		o.fail("after the reset the page shows %q", got)
	}
	if _, err := a.DB.Authenticate(context.Background(), omar.Email, fresh, "127.0.0.1"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
}
