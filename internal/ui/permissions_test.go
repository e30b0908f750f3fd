package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// Who may do what, route by route. The test walks every route the router
// registers: a route missing from this table fails it, so a new route
// cannot ship without deciding who may use it.
//
//	public   anyone, signed in or not
//	network  by client address (METRICS_ALLOWED_NETWORKS) or METRICS_TOKEN,
//	         never by session; these test clients are local, so let in
//	member   anyone signed in
//	editor   signed in and not an auditor (auditors change nothing)
//	holder   an editor holding the slot's role (checked by the handler)
//	auditor  auditors and admins
//	admin    admins only
//	token    bearer tokens only (the JSON API): sessions get 401
var access = map[string]string{
	"GET /healthz":                        "public",
	"GET /readyz":                         "public",
	"GET /metrics":                        "network",
	"GET /static/*":                       "public",
	"GET /login":                          "public",
	"POST /login":                         "public",
	"POST /logout":                        "public",
	"GET /setup":                          "public",
	"POST /setup":                         "public",
	"GET /invite":                         "public",
	"POST /invite":                        "public",
	"GET /reset":                          "public",
	"POST /reset":                         "public",
	"GET /login/sso":                      "public",
	"GET /login/sso/callback":             "public",
	"POST /login/passkey/options":         "public",
	"POST /login/passkey":                 "public",
	"GET /account":                        "member",
	"POST /account/password":              "member",
	"POST /account/passkeys/options":      "member",
	"POST /account/passkeys":              "member",
	"POST /account/passkeys/{pid}/delete": "member",
	"POST /account/sessions/{ref}/end":    "member",
	"POST /account/sessions/end-others":   "member",
	"POST /deployments/{id}/slots/{slot}/sign/passkey": "holder",
	"POST /admin/people/{uid}/reset":                   "admin",
	"GET /":                                            "member",
	"GET /deployments":                                 "member",
	"GET /my/signoffs":                                 "member",
	"GET /my/work":                                     "member",
	"GET /deployments/{id}/files/{fid}":                "member",
	"POST /deployments/{id}/items/{path}/files":        "editor",
	"POST /deployments/{id}/items/{path}/assign":       "editor",
	"GET /deployments/{id}/sections/{section}/assign":  "editor",
	"POST /deployments/{id}/sections/{section}/assign": "editor",
	"GET /templates":                                   "member",
	"GET /_load/read-floor":                            "member",

	"GET /deployments/{id}":                          "member",
	"GET /deployments/{id}/history":                  "member",
	"GET /deployments/{id}/events":                   "member",
	"GET /deployments/{id}/items/{path}/na":          "editor",
	"GET /deployments/{id}/items/{path}/comments":    "member",
	"GET /templates/{slug}":                          "member",
	"GET /templates/{slug}/export.md":                "member",
	"GET /deployments/{id}/export.json":              "member",
	"GET /deployments/{id}/export.csv":               "member",
	"GET /deployments/{id}/export.pdf":               "member",
	"GET /deployments/{id}/export.md":                "member",
	"GET /audit":                                     "auditor",
	"GET /audit/export.zip":                          "auditor",
	"GET /.well-known/signoff-signing-key":           "public",
	"GET /.well-known/signoff-log/checkpoint":        "public",
	"GET /.well-known/signoff-log/tile/*":            "public",
	"GET /.well-known/signoff-log/proof/inclusion":   "public",
	"GET /.well-known/signoff-log/proof/consistency": "public",
	"POST /.well-known/signoff-log/cosignature":      "public",
	"GET /deployments/new":                           "editor",
	"POST /deployments":                              "editor",
	"POST /_load/write-floor":                        "editor",
	"POST /deployments/{id}/items/{path}/state":      "editor",
	"POST /deployments/{id}/items/{path}/comments":   "editor",
	"POST /deployments/{id}/notes/{position}":        "editor",
	"POST /deployments/{id}/status":                  "editor",
	"GET /deployments/{id}/slots/{slot}/sign":        "holder",
	"POST /deployments/{id}/slots/{slot}/sign":       "holder",
	"POST /deployments/{id}/slots/{slot}/revoke":     "editor",
	"POST /deployments/{id}/slots/{slot}/reject":     "holder",
	"POST /deployments/{id}/slots/{slot}/withdraw":   "editor",
	"GET /admin/people":                              "admin",
	"POST /admin/people":                             "admin",
	"POST /admin/people/{uid}/active":                "admin",
	"POST /admin/people/{uid}/permissions":           "admin",
	"POST /admin/people/{uid}/roles":                 "admin",
	"POST /admin/people/{uid}/roles/withdraw":        "admin",
	"POST /admin/roles":                              "admin",
	"POST /templates":                                "admin",
	"POST /templates/preview":                        "admin",
	"POST /templates/roles":                          "admin",
	"POST /templates/{slug}/preview":                 "admin",
	"POST /templates/{slug}/versions":                "admin",
	"GET /templates/{slug}/edit":                     "admin",
	"GET /templates/{slug}/versions":                 "member",
	"GET /templates/{slug}/versions/{version}":       "member",
	"GET /templates/{slug}/diff":                     "member",
	"POST /templates/{slug}/settings":                "admin",
	"GET /admin/tokens":                              "admin",
	"POST /admin/tokens":                             "admin",
	"POST /admin/tokens/{tid}/revoke":                "admin",
	"GET /admin/webhooks":                            "admin",
	"POST /admin/webhooks":                           "admin",
	"POST /admin/webhooks/{hid}/delete":              "admin",

	"GET /api/v1/openapi.json":                           "public",
	"GET /api/v1/templates":                              "token",
	"GET /api/v1/deployments":                            "token",
	"POST /api/v1/deployments":                           "token",
	"GET /api/v1/deployments/{id}":                       "token",
	"GET /api/v1/deployments/{id}/files/{fid}":           "token",
	"GET /api/v1/deployments/{id}/items/{path}/files":    "token",
	"POST /api/v1/deployments/{id}/items/{path}/files":   "token",
	"GET /api/v1/deployments/{id}/export":                "token",
	"PUT /api/v1/deployments/{id}/items/{path}":          "token",
	"PUT /api/v1/deployments/{id}/items/{path}/evidence": "token",
	"POST /api/v1/deployments/{id}/status":               "token",
	"POST /api/v1/deployments/{id}/slots/{slot}/sign":    "token",
}

// allowed says whether a level lets a kind of visitor through.
func allowed(level, who string) bool {
	switch level {
	case "public", "network":
		return true
	case "member":
		return who != "anon"
	case "editor":
		return who == "member" || who == "holder" || who == "admin"
	case "holder":
		return who == "holder"
	case "auditor":
		return who == "auditor" || who == "admin"
	case "admin":
		return who == "admin"
	case "token":
		return false
	}
	panic("unknown access level " + level)
}

func TestEveryRouteChecksPermissions(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	owner := a.user("Olivia Owner", false, false)
	d := a.deployment(owner)
	people := map[string]*signoff.User{
		"member":  a.user("Mel Member", false, false),
		"holder":  a.user("Dana Whitfield", false, false, "Database Administrator"),
		"auditor": a.user("Ari Auditor", false, true),
		"admin":   a.user("Rachel Kim", true, false),
	}
	visitors := map[string]*client{"anon": a.anon()}
	for who, u := range people {
		visitors[who] = a.login(u)
	}
	target := a.user("Tom Target", false, false)
	params := map[string]string{
		"{id}": fmt.Sprint(d.ID), "{path}": "1.1.1.1", "{slot}": "2", "{position}": "1",
		"{slug}": "voxflow-production-deployment-checklist", "{uid}": fmt.Sprint(target.ID), "{tid}": "1", "{hid}": "1", "{version}": "1", "*": "app.css",
		"{pid}": "1", "{ref}": "1", "{section}": "1.1", "{fid}": "1",
	}

	var routes []string
	handler := a.router(t)
	chi.Walk(handler, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	sort.Strings(routes)
	seen := map[string]bool{}
	for _, r := range routes {
		seen[r] = true
		level, ok := access[r]
		if !ok {
			t.Errorf("route %s has no entry in the permission table (permissions_test.go): decide who may use it", r)
			continue
		}
		method, pattern, _ := strings.Cut(r, " ")
		path := pattern
		for k, v := range params {
			path = strings.ReplaceAll(path, k, v)
		}
		for _, who := range []string{"anon", "member", "holder", "auditor", "admin"} {
			c := visitors[who]
			if r == "POST /logout" && who != "anon" {
				c = a.login(people[who]) // a session of its own to end
			}
			status, loc := request(t, c, method, path)
			denied := status == http.StatusForbidden || status == http.StatusUnauthorized ||
				(status == http.StatusSeeOther && strings.HasPrefix(loc, "/login") && r != "POST /logout")
			if status >= 500 {
				t.Errorf("%s as %s: status %d", r, who, status)
			}
			if level == "public" || level == "network" {
				// Public routes may still refuse bad input (a wrong
				// password, a missing setup token); they never ask to sign in.
				if strings.HasPrefix(loc, "/login") && r != "POST /logout" {
					t.Errorf("%s as %s: redirected to sign in", r, who)
				}
				continue
			}
			if want := allowed(level, who); denied == want {
				t.Errorf("%s as %s: status %d (location %q); want %s", r, who, status, loc, map[bool]string{true: "allowed", false: "denied"}[want])
			}
			if level != "public" && who == "anon" && !(status == http.StatusSeeOther && strings.HasPrefix(loc, "/login")) && level != "token" {
				t.Errorf("%s as anon: status %d; want a redirect to /login", r, status)
			}
		}
	}
	for r := range access {
		if !seen[r] {
			t.Errorf("permission table lists %s but no such route is registered", r)
		}
	}
}

// request sends one request as a visitor and reports the status and
// redirect; event streams are cut off once their headers arrive.
func request(t *testing.T, c *client, method, path string) (int, string) {
	t.Helper()
	form := url.Values{"password": {testPassword}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(form.Encode()))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Location")
}
