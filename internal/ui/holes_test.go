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
