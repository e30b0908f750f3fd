package ui_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/ui"
)

// The open redirect an attacker found: a tab after the first slash made
// "/<TAB>/evil.example/x", which browsers follow to //evil.example. Signed
// in (GET) or signing in (POST), every spelling of another site lands on
// the deployments list instead.
func TestLoginRedirectStaysOnSite(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	u := a.user("Alice Chen", false, false)
	signedIn := a.login(u)
	for _, next := range []string{"/\t/evil.example/x", "/\\evil.example", "//evil.example", "/%5Cevil.example", "/\n/evil.example", "https://evil.example/"} {
		res := signedIn.get("/login?next=" + url.QueryEscape(next))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/deployments" {
			t.Errorf("GET /login?next=%q signed in: %d to %q; want 303 to /deployments", next, res.StatusCode, res.Header.Get("Location"))
		}
		res = a.anon().post("/login", url.Values{"email": {u.Email}, "password": {testPassword}, "next": {next}}, false)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/deployments" {
			t.Errorf("POST /login next=%q: %d to %q; want 303 to /deployments", next, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// The raw form the attacker sent, not re-encoded by this client.
	res := signedIn.get("/login?next=/%09/evil.example/x")
	if loc := res.Header.Get("Location"); loc != "/deployments" {
		t.Errorf("GET /login?next=/%%09/evil.example/x: Location %q; want /deployments", loc)
	}
	if res := signedIn.get("/login?next=" + url.QueryEscape("/my/signoffs?x=1")); res.Header.Get("Location") != "/my/signoffs?x=1" {
		t.Errorf("a page of this site is not kept: %q", res.Header.Get("Location"))
	}
}

// Pages behind a session, and the pages that carry one-time links, are
// never stored by a browser or a proxy.
func TestSignedInPagesAreNotStored(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	admin := a.user("Rachel Kim", true, false)
	c := a.login(admin)
	d := a.deployment(admin)
	for _, path := range []string{"/deployments", dpath(d, ""), dpath(d, "/history"), "/admin/people", "/admin/tokens",
		"/admin/webhooks", "/my/signoffs", "/templates", "/login", "/invite?token=x", "/setup?token=x"} {
		if got := c.get(path).Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control %q; want no-store", path, got)
		}
	}
	res := c.post("/admin/people", url.Values{"email": {"new@example.com"}, "name": {"New Person"}}, false)
	if res.StatusCode != http.StatusCreated || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the page with a fresh invitation link: %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
}

// tableDNS answers names from a table (no network in tests).
type tableDNS map[string]string

func (d tableDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	a, ok := d[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

// Webhooks to internal addresses were accepted, making the admin page a
// port scanner. Each address the attacker used, other spellings of them,
// and names that resolve inside are refused when added, with a reason,
// and nothing is stored or recorded.
func TestWebhookToInternalAddressIsRefused(t *testing.T) {
	t.Parallel()
	a := newAppWith(t, appConfig{opts: func(o *ui.Options) {
		o.WebhookResolver = tableDNS{"hooks.example.com": "93.184.215.14", "metadata.attacker.example": "169.254.169.254", "localhost": "127.0.0.1"}
	}})
	admin := a.user("Ada Admin", true, false)
	c := a.login(admin)
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://127.0.0.1:5432/", "http://0x7f.1/",
		"http://[::ffff:169.254.169.254]/", "http://2130706433/", "http://10.0.0.8/", "http://[fd00::1]/",
		"http://metadata.attacker.example/", "http://localhost:8080/",
	} {
		res := c.post("/admin/webhooks", url.Values{"url": {u}}, false)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, "internal address") {
			t.Errorf("POST webhook %s: %d; want 400 naming an internal address", u, res.StatusCode)
		}
	}
	if hooks, err := a.db.Webhooks(context.Background()); err != nil || len(hooks) != 0 {
		t.Fatalf("webhooks stored: %v, %v", hooks, err)
	}
	if res := c.post("/admin/webhooks", url.Values{"url": {"https://hooks.example.com/signoff"}}, false); res.StatusCode != http.StatusCreated {
		t.Fatalf("a public webhook: %d", res.StatusCode)
	}
}

// Ten spaces were accepted as the first admin's password. Blank, short,
// common and guessable passwords are refused at every door that sets
// one, with a reason, and nothing is created.
func TestWeakPasswordsAreRefused(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	token, err := a.db.CreateSetupToken(context.Background())
	if err != nil || token == "" {
		t.Fatalf("setup token %q: %v", token, err)
	}
	for pw, why := range map[string]string{
		"          ":               "only spaces",
		"  short   ":               "at least 10 characters",
		"password123":              "too easy to guess",
		"qwertyuiopasdf":           "too easy to guess",
		"rachelkim2026":            "too easy to guess",
		"rachel.kim@example.com":   "too easy to guess",
		"\t\t\t\t\t\t\t\t\t\t\t\t": "only spaces",
	} {
		res := a.anon().post("/setup", url.Values{"token": {token}, "email": {"rachel.kim@example.com"}, "name": {"Rachel Kim"},
			"password": {pw}, "password_confirm": {pw}}, false)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, why) {
			t.Errorf("setup with password %q: %d; want 400 saying %q", pw, res.StatusCode, why)
		}
	}
	if n, err := a.db.CountUsers(context.Background()); err != nil || n != 0 {
		t.Fatalf("%d people after refused setups (%v)", n, err)
	}
	res := a.anon().post("/setup", url.Values{"token": {token}, "email": {"rachel.kim@example.com"}, "name": {"Rachel Kim"},
		"password": {"plinth orchard ferry 42"}, "password_confirm": {"plinth orchard ferry 42"}}, false)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a good password: %d", res.StatusCode)
	}
}

// Changing one's own password needs the current one, refuses a weak one,
// ends one's other sessions, and keeps this one.
func TestChangeOwnPassword(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	u := a.user("Alice Chen", false, false)
	laptop, phone := a.login(u), a.login(u)
	form := func(current, next string) url.Values {
		return url.Values{"current_password": {current}, "new_password": {next}, "new_password_confirm": {next}}
	}
	if res := laptop.post("/account/password", form("not my password", "plinth orchard ferry 42"), false); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong current password: %d", res.StatusCode)
	}
	if res := laptop.post("/account/password", form(testPassword, "alicechen123"), false); res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, "too easy to guess") {
		t.Fatalf("weak new password: %d", res.StatusCode)
	}
	if res := laptop.post("/account/password", form(testPassword, "plinth orchard ferry 42"), false); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("change: %d", res.StatusCode)
	}
	if res := laptop.get("/account"); res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "Password changed") {
		t.Fatalf("this session after the change: %d", res.StatusCode)
	}
	if res := phone.get("/deployments"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the other session after the change: %d; want sent to log in", res.StatusCode)
	}
	if _, err := a.db.Authenticate(context.Background(), u.Email, "plinth orchard ferry 42", "192.0.2.1"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
}

// People see their sessions and end the others, one or all.
func TestEndOtherSessions(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	u := a.user("Alice Chen", false, false)
	me, other, third := a.login(u), a.login(u), a.login(u)
	page := me.get("/account")
	if n := strings.Count(page.Body, `data-testid="session"`); n != 3 {
		t.Fatalf("%d sessions listed; want 3", n)
	}
	sessions, err := a.db.Sessions(context.Background(), u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	// Someone else's session number is not theirs to end.
	mallory := a.login(a.user("Mallory Mole", false, false))
	if res := mallory.post("/account/sessions/"+itoa(sessions[0].Ref)+"/end", nil, false); res.StatusCode != http.StatusNotFound {
		t.Fatalf("ending another person's session: %d", res.StatusCode)
	}
	if res := me.post("/account/sessions/end-others", nil, false); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("end others: %d", res.StatusCode)
	}
	for _, c := range []*client{other, third} {
		if res := c.get("/deployments"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("an ended session still works: %d", res.StatusCode)
		}
	}
	if res := me.get("/deployments"); res.StatusCode != http.StatusOK {
		t.Fatalf("the session that asked was ended: %d", res.StatusCode)
	}
}
