package ui_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Issue 2: the first start's one-time link creates the first admin, once.
func TestSetupCreatesTheFirstAdminOnce(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ctx := t.Context()
	token, err := a.db.CreateSetupToken(ctx)
	if err != nil || token == "" {
		t.Fatalf("setup token %q, %v", token, err)
	}
	users := func() int {
		t.Helper()
		n, err := a.db.CountUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	refused := func(what string, res response, status int, message string) {
		t.Helper()
		if res.StatusCode != status || !strings.Contains(html.UnescapeString(res.Body), message) {
			t.Errorf("%s: %d; want %d saying %q", what, res.StatusCode, status, message)
		}
	}
	form := func(tok, pw, confirm string) url.Values {
		return url.Values{"token": {tok}, "name": {"Rachel Kim"}, "email": {"rachel@example.com"},
			"password": {pw}, "password_confirm": {confirm}}
	}
	const used = "This setup link is invalid, expired or already used"

	c := a.anon()
	refused("form with a wrong token", c.get("/setup?token=not-the-token"), http.StatusForbidden, used)
	refused("form without a token", c.get("/setup"), http.StatusForbidden, used)
	refused("post with a wrong token", c.post("/setup", form("not-the-token", testPassword, testPassword), false), http.StatusForbidden, used)
	refused("passwords that differ", c.post("/setup", form(token, testPassword, testPassword+"!"), false), http.StatusBadRequest, "The two passwords differ.")
	bad := form(token, testPassword, testPassword)
	bad.Set("email", "not an address")
	if res := c.post("/setup", bad, false); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad email: %d; want 400", res.StatusCode)
	}
	if n := users(); n != 0 {
		t.Fatalf("refused setups created %d people", n)
	}

	// The real link shows the form, and the form creates the first admin,
	// signed in.
	page := c.get("/setup?token=" + url.QueryEscape(token))
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, `action="/setup"`) || !strings.Contains(page.Body, `value="`+token+`"`) {
		t.Fatalf("setup form: %d", page.StatusCode)
	}
	res := c.post("/setup", form(token, testPassword, testPassword), false)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/people" {
		t.Fatalf("setup: %d %s\n%.600s", res.StatusCode, res.Header.Get("Location"), res.Body)
	}
	people := c.get("/admin/people")
	if people.StatusCode != http.StatusOK || !strings.Contains(people.Body, `data-testid="current-user">Rachel Kim<`) ||
		!strings.Contains(people.Body, "You are the first admin") {
		t.Fatalf("after setup the first admin is not signed in on the people page: %d", people.StatusCode)
	}
	all, err := a.db.Users(ctx)
	if err != nil || len(all) != 1 || !all[0].IsAdmin || all[0].Email != "rachel@example.com" {
		t.Fatalf("people after setup: %+v, %v", all, err)
	}
	// The password chosen signs in.
	if res := a.anon().post("/login", url.Values{"email": {"rachel@example.com"}, "password": {testPassword}}, false); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the first admin cannot sign in: %d", res.StatusCode)
	}

	// The link is spent: neither the form nor a second post works, from
	// any client.
	again := a.anon()
	refused("the form again", again.get("/setup?token="+url.QueryEscape(token)), http.StatusForbidden, used)
	second := form(token, testPassword, testPassword)
	second.Set("email", "mallory@example.com")
	refused("a second setup", again.post("/setup", second, false), http.StatusForbidden, used)
	if n := users(); n != 1 {
		t.Fatalf("%d people after a second setup; want 1", n)
	}
	// With people in the database no new link is made.
	if tok, err := a.db.CreateSetupToken(ctx); err != nil || tok != "" {
		t.Fatalf("a new setup token with an admin present: %q, %v", tok, err)
	}
}
