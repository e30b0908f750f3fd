package ui_test

import (
	"net/http"
	"net/url"
	"testing"
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
