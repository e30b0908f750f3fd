package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	res := a.anon().get("/login")
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline or eval: %q", csp)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q; want %q", h, got, want)
		}
	}
	if strings.Contains(res.Body, "<script>") || strings.Contains(res.Body, " style=") {
		t.Error("page has inline script or style")
	}
}

func TestSessionCookieFlags(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	u := a.user("Alice Chen", false, false)
	c := a.anon()
	res := c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}}, false)
	var cookie *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "signoff" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
		t.Fatalf("session cookie = %+v", cookie)
	}
	if strings.Contains(res.Header.Get("Set-Cookie"), "uid") {
		t.Fatal("cookie leaks session values")
	}
}

// A login on a client that already holds a session gets a new session id,
// and the old one is dead on the server: a session id someone planted or
// copied before a login is worth nothing after it.
func TestLoginRotatesSessionAndLogoutEndsIt(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	bob := a.user("Bob Okafor", false, false)
	c := a.login(alice)
	aliceCookie := cookieValue(c, a)
	if aliceCookie == "" {
		t.Fatal("no session cookie after Alice's login")
	}
	if got := withCookie(a, aliceCookie).get("/deployments"); got.StatusCode != http.StatusOK {
		t.Fatalf("Alice's cookie before the second login: %d; the check below would prove nothing", got.StatusCode)
	}

	// Bob signs in on the same client, over Alice's session.
	if res := c.post("/login", url.Values{"email": {bob.Email}, "password": {testPassword}}, false); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("Bob's login: %d", res.StatusCode)
	}
	bobCookie := cookieValue(c, a)
	if bobCookie == "" || bobCookie == aliceCookie {
		t.Fatal("session cookie not rotated at login")
	}
	if page := c.get("/deployments"); page.StatusCode != http.StatusOK || !strings.Contains(page.Body, `data-testid="current-user">Bob Okafor<`) {
		t.Fatalf("after Bob's login the client is not Bob: %d", page.StatusCode)
	}
	if res := withCookie(a, aliceCookie).get("/deployments"); !toLogin(res) {
		t.Fatalf("Alice's old cookie after the second login: %d %s; want a redirect to /login", res.StatusCode, res.Header.Get("Location"))
	}

	// Replaying Bob's cookie after logout gets nothing either.
	if res := withCookie(a, bobCookie).get("/deployments"); res.StatusCode != http.StatusOK {
		t.Fatalf("Bob's cookie before logout: %d", res.StatusCode)
	}
	if res := c.post("/logout", nil, false); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if res := withCookie(a, bobCookie).get("/deployments"); !toLogin(res) {
		t.Fatalf("replayed cookie after logout: %d %s; want a redirect to /login", res.StatusCode, res.Header.Get("Location"))
	}
}

// withCookie is a fresh client carrying only the given session cookie.
func withCookie(a *app, value string) *client {
	c := a.anon()
	u, _ := url.Parse(a.srv.URL)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: "signoff", Value: value, Path: "/"}})
	return c
}

func toLogin(res response) bool {
	return res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/login")
}

func cookieValue(c *client, a *app) string {
	u, _ := url.Parse(a.srv.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "signoff" {
			return ck.Value
		}
	}
	return ""
}

func TestTamperedCookieIsIgnored(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	u := a.user("Alice Chen", false, false)
	c := a.login(u)
	v := cookieValue(c, a)
	bad := v[:len(v)-4] + "AAAA"
	evil := a.anon()
	su, _ := url.Parse(a.srv.URL)
	evil.http.Jar.SetCookies(su, []*http.Cookie{{Name: "signoff", Value: bad, Path: "/"}})
	if res := evil.get("/deployments"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("tampered cookie: status %d; want a redirect to login", res.StatusCode)
	}
}

func TestDeactivatedUserIsOutAtOnce(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	admin := a.user("Rachel Kim", true, false)
	bob := a.user("Bob Okafor", false, false)
	bc := a.login(bob)
	if res := bc.get("/deployments"); res.StatusCode != http.StatusOK {
		t.Fatalf("before: %d", res.StatusCode)
	}
	ac := a.login(admin)
	res := ac.post("/admin/people/"+itoa(bob.ID)+"/active", url.Values{"active": {"false"}}, false)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("deactivate: %d %s", res.StatusCode, res.Body)
	}
	if res := bc.get("/deployments"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("deactivated user still in: %d", res.StatusCode)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	c := a.login(alice)
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+dpath(d, "/items/1.1.1.1/state"), strings.NewReader("state=done"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res := c.do(req)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin post: %d; want 403", res.StatusCode)
	}
	got, _ := a.db.Deployment(t.Context(), d.ID)
	if got.AuditSeq != d.AuditSeq {
		t.Fatal("cross-origin post changed the deployment")
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	c := a.login(alice)
	cases := []struct {
		name, path string
		form       url.Values
		status     int
		message    string
	}{
		{"unknown deployment", "/deployments/999999/items/1.1.1.1/state", url.Values{"state": {"done"}}, 404, "not found"},
		{"non-numeric id", "/deployments/abc/items/1.1.1.1/state", url.Values{"state": {"done"}}, 404, "Nothing is found"},
		{"unknown item", dpath(d, "/items/9.9.9/state"), url.Values{"state": {"done"}}, 404, "has no item"},
		{"bad state", dpath(d, "/items/1.1.1.1/state"), url.Values{"state": {"maybe"}}, 400, "State must be"},
		{"N/A without reason", dpath(d, "/items/1.1.1.1/state"), url.Values{"state": {"na"}}, 400, "needs a reason"},
		{"tick a parent", dpath(d, "/items/1.1.1/state"), url.Values{"state": {"done"}}, 400, "sub-items"},
		{"invalid UTF-8 reason", dpath(d, "/items/1.1.1.1/state"), url.Values{"state": {"na"}, "reason": {"bad \xff byte"}}, 400, "UTF-8"},
		{"note position", dpath(d, "/notes/99"), url.Values{"value": {"x"}}, 404, "no note field"},
		{"empty comment", dpath(d, "/items/1.1.1.1/comments"), url.Values{"body": {"  "}}, 400, "Comment is required"},
		{"unknown status", dpath(d, "/status"), url.Values{"status": {"done"}}, 400, "Unknown status"},
		{"abort without reason", dpath(d, "/status"), url.Values{"status": {"aborted"}}, 400, "Reason for aborting"},
	}
	for _, tc := range cases {
		res := c.post(tc.path, tc.form, false)
		if res.StatusCode != tc.status || !strings.Contains(res.Body, tc.message) {
			t.Errorf("%s: status %d; want %d with %q", tc.name, res.StatusCode, tc.status, tc.message)
		}
		// HTMX gets the same status with the message for the flash region.
		res = c.post(tc.path, tc.form, true)
		if res.StatusCode != tc.status || res.Header.Get("HX-Retarget") != "#flash" {
			t.Errorf("%s (htmx): status %d, retarget %q", tc.name, res.StatusCode, res.Header.Get("HX-Retarget"))
		}
	}
	got, _ := a.db.Deployment(t.Context(), d.ID)
	if got.AuditSeq != d.AuditSeq || got.ChecklistRev != 0 {
		t.Fatalf("bad input changed the deployment: seq %d rev %d", got.AuditSeq, got.ChecklistRev)
	}
}

func TestOversizedBodyRefused(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	c := a.login(alice)
	big := strings.Repeat("x", 200<<10)
	res := c.post(dpath(d, "/items/1.1.1.1/comments"), url.Values{"body": {big}}, false)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized comment: %d; want 413", res.StatusCode)
	}
}

func TestHTMLIsInertAndStoredExactly(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	c := a.login(alice)
	evil := `<script>alert(1)</script> '; DROP TABLE deployments; -- <img src=x onerror=alert(2)>`
	if res := c.post(dpath(d, "/items/1.1.1.1/state"), url.Values{"state": {"na"}, "reason": {evil}}, false); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("N/A: %d", res.StatusCode)
	}
	page := c.get(dpath(d, ""))
	if strings.Contains(page.Body, "<script>alert(1)") || strings.Contains(page.Body, "<img src=x") {
		t.Fatal("HTML in a reason was rendered as markup")
	}
	if !strings.Contains(page.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("escaped reason not on the page")
	}
	items, _ := a.db.Items(t.Context(), d.ID, "1.1.1.1")
	if items[0].NAReason != evil {
		t.Fatalf("stored reason %q; want it exactly", items[0].NAReason)
	}
}

func TestOperations(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.anon()
	if res := c.get("/healthz"); res.StatusCode != 200 {
		t.Fatalf("healthz %d", res.StatusCode)
	}
	if res := c.get("/readyz"); res.StatusCode != 200 || !strings.Contains(res.Body, "ready") {
		t.Fatalf("readyz %d %q", res.StatusCode, res.Body)
	}
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	ac := a.login(alice)
	ac.post(dpath(d, "/items/1.1.1.1/state"), url.Values{"state": {"done"}}, true)
	res := c.get("/metrics")
	for _, want := range []string{
		`signoff_http_request_duration_seconds_bucket{method="POST",route="/deployments/{id}/items/{path}/state",status="2xx"`,
		`signoff_item_changes_total{state="done",via="web"} 1`,
		// The tick went through the group commit: one tick, one transaction.
		"signoff_tick_batch_ticks_total 1", "signoff_tick_batch_transactions_total 1",
		"signoff_live_connections", "signoff_db_pool_connections",
	} {
		if !strings.Contains(res.Body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if res := c.get("/deployments/1"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("request id check needs a response; got %d", res.StatusCode)
	}
	if c.get("/healthz").Header.Get("X-Request-Id") == "" {
		t.Fatal("no request id header")
	}
}

// Served over HTTPS (BASE_URL https://…), the session cookie is Secure and
// carries the __Host- prefix, and browsers are told to stay on HTTPS.
func TestHTTPSCookieAndHSTS(t *testing.T) {
	t.Parallel()
	a := newAppWith(t, appConfig{env: map[string]string{"BASE_URL": "https://signoff.example.com"}})
	u := a.user("Alice Chen", false, false)
	c := a.anon()
	if hsts := c.get("/login").Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=31536000") {
		t.Fatalf("HTTPS base URL: Strict-Transport-Security = %q", hsts)
	}
	res := c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}}, false)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", res.StatusCode)
	}
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("login answer has no Strict-Transport-Security")
	}
	var cookie *http.Cookie
	for _, ck := range res.Cookies() {
		if strings.Contains(ck.Name, "signoff") {
			cookie = ck
		}
	}
	if cookie == nil || cookie.Name != "__Host-signoff" {
		t.Fatalf("session cookie %+v; want one named __Host-signoff", cookie)
	}
	// The __Host- prefix is only honoured with Secure, Path=/ and no Domain.
	if !cookie.Secure || !cookie.HttpOnly || cookie.Path != "/" || cookie.Domain != "" || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie flags: %+v", cookie)
	}
	// The cookie works under its own name only (a browser sends it back
	// over HTTPS; this test server is plain HTTP, so it is set by hand).
	send := func(name string) response {
		req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/deployments", nil)
		req.AddCookie(&http.Cookie{Name: name, Value: cookie.Value})
		return a.anon().do(req)
	}
	if res := send("__Host-signoff"); res.StatusCode != http.StatusOK {
		t.Fatalf("request with the __Host- cookie: %d", res.StatusCode)
	}
	if res := send("signoff"); !toLogin(res) {
		t.Fatalf("the same session under the plain name: %d; want a redirect to /login", res.StatusCode)
	}

	// Plain HTTP: no HSTS (it would lock browsers out of a plain-HTTP
	// install), and the cookie cannot be Secure.
	plain := newApp(t)
	if h := plain.anon().get("/login").Header.Get("Strict-Transport-Security"); h != "" {
		t.Errorf("plain HTTP base URL sends Strict-Transport-Security %q", h)
	}
}
