package ui_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/postgres"
)

// TestLoginLimitCountsTheProxysAddress: behind TRUST_PROXY the login limit
// counts the address the proxy appended to X-Forwarded-For, so a client
// cannot escape it by sending addresses of its own in front.
func TestLoginLimitCountsTheProxysAddress(t *testing.T) {
	t.Parallel()
	a := newAppWith(t, appConfig{env: map[string]string{"TRUST_PROXY": "true"}})
	a.user("Alice Chen", false, false)
	login := func(email, password, xff string) int {
		req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/login",
			strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", a.srv.URL)
		req.Header.Set("X-Forwarded-For", xff)
		return a.anon().do(req).StatusCode
	}
	// Wrong guesses up to the address's limit, each at another account and
	// each claiming another origin in front of the proxy's entry: all from
	// one client.
	for i := range postgres.ThrottleAddress.Free {
		if code := login("nobody"+strconv.Itoa(i)+"@example.com", "wrong password", "198.51.100."+strconv.Itoa(i%250)+", 203.0.113.9"); code == http.StatusTooManyRequests {
			t.Fatalf("guess %d already limited", i+1)
		}
	}
	if code := login("alice.chen@example.com", testPassword, "198.51.100.99, 203.0.113.9"); code != http.StatusTooManyRequests {
		t.Fatalf("after the limit of failures from one client a login answered %d; want 429 (the spoofed first address must not count)", code)
	}
	// Another client (another address appended by the proxy) is not held up.
	if code := login("alice.chen@example.com", testPassword, "203.0.113.10"); code != http.StatusSeeOther {
		t.Fatalf("a login from another client answered %d; want 303", code)
	}
}
