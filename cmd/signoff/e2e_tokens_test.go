package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
)

// apiGet calls the API as a pipeline would and returns the status.
func apiGet(t *testing.T, base, secret, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1"+path, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// An admin issues a token in the browser, copies its secret from the one
// page that shows it, a pipeline uses it, and the admin revokes it.
func TestBrowserAPITokens(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	admin := a.user("Tia Admin")
	if err := a.DB.SetPermissions(context.Background(), admin.ID, true, false, signoff.EventActor{Name: "test", Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	bot := a.user("CI Bot")
	b := newTab(t, newBrowser(t), a.URL, "admin")
	b.login(admin)

	b.navigate("/deployments")
	if st := b.submit(`nav a[href="/admin/tokens"]`); st != http.StatusOK {
		b.fail("open Tokens from the top bar: status %d", st)
	}
	if b.count("[data-testid=empty]") != 1 {
		b.fail("no tokens yet, but no empty state")
	}
	b.do(
		chromedp.SendKeys(chromedp.ID("t-name"), "github-actions voxflow-api"),
		chromedp.SetValue(chromedp.ID("t-user"), fmt.Sprint(bot.ID)),
	)
	if st := b.submit(`form[action="/admin/tokens"] button[type=submit]`); st != http.StatusCreated {
		b.fail("create token: status %d", st)
	}
	secret := eval[string](b, `document.querySelector("[data-testid=token-secret] input").value`)
	if !signoff.LooksLikeToken(secret) {
		b.fail("the page shows %q, not a token secret", secret)
	}
	b.shot("tokens-created")
	if st := apiGet(t, a.URL, secret, "/deployments"); st != http.StatusOK {
		t.Fatalf("the new token: API answered %d", st)
	}

	b.navigate("/admin/tokens")
	if strings.Contains(eval[string](b, "document.body.innerHTML"), secret) {
		b.fail("the secret is shown again")
	}
	if got := b.text("[data-testid=token] td:nth-child(4)"); strings.Contains(got, "Never") {
		b.fail("last used reads %q after the token was used", got)
	}
	b.submit(`[data-testid=token] form button`)
	if got := b.text("[data-testid=token]"); !strings.Contains(got, "Revoked") {
		b.fail("after revoking, the row reads %q", got)
	}
	b.shot("tokens-revoked")
	if st := apiGet(t, a.URL, secret, "/deployments"); st != http.StatusUnauthorized {
		t.Fatalf("the revoked token: API answered %d", st)
	}
}
