package ui_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/ui"
)

// TestPasswordLoginOff: with PASSWORD_LOGIN=false a right password opens
// no session and signs nothing, on a server sharing the database with one
// where passwords still work (as during a switch to single sign-on).
func TestPasswordLoginOff(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	eng := a.user("Erin Engineer", false, false, "Deployment Engineer")
	dba := a.user("Dana Admin", false, false, "Database Administrator")
	d := a.deployment(eng)
	a.resolveAll(d, eng)

	env := map[string]string{"PASSWORD_LOGIN": "false", "OIDC_ISSUER": "https://idp.example.com",
		"OIDC_CLIENT_ID": "signoff", "OIDC_CLIENT_SECRET": "s3cret", "OIDC_NAME": "Okta"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s, err := ui.New(context.Background(), a.db, cfg, slog.New(slog.DiscardHandler), ui.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	anon := a.anon()
	anon.base = srv.URL
	page := anon.get("/login")
	if page.StatusCode != http.StatusOK || strings.Contains(page.Body, `type="password"`) || !strings.Contains(page.Body, "Okta") {
		t.Fatalf("login page without passwords: %d, offers a password field or no Okta button:\n%.800s", page.StatusCode, page.Body)
	}
	res := anon.post("/login", url.Values{"email": {dba.Email}, "password": {testPassword}}, false)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "Passwords are turned off here") {
		t.Fatalf("password login while off: %d\n%.800s", res.StatusCode, res.Body)
	}
	if got := anon.get("/"); got.StatusCode != http.StatusSeeOther {
		t.Fatalf("after a refused login the home page answers %d; want a redirect to /login", got.StatusCode)
	}

	// A session opened where passwords work cannot sign with one here.
	c := a.login(dba)
	c.base = srv.URL
	res = c.post(dpath(d, "/slots/2/sign"), url.Values{"password": {testPassword}}, false)
	if res.StatusCode < 400 || !strings.Contains(res.Body, "Passwords are turned off here") {
		t.Fatalf("signing with a password while off: %d\n%.800s", res.StatusCode, res.Body)
	}
	sigs, err := a.db.Signatures(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 0 {
		t.Fatalf("a password signed while passwords are off: %+v", sigs)
	}
}
