package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// endpoint is one authenticated operation with a body that would succeed.
type endpoint struct {
	method, path, body string
}

func endpoints(id int64) []endpoint {
	return []endpoint{
		{http.MethodGet, "/api/v1/templates", ""},
		{http.MethodGet, "/api/v1/deployments", ""},
		{http.MethodPost, "/api/v1/deployments", `{"template":"` + seedSlug + `","service":"svc","environment":"staging","version":"v1"}`},
		{http.MethodGet, dpath(id, ""), ""},
		{http.MethodGet, dpath(id, "/export"), ""},
		{http.MethodPut, dpath(id, "/items/1.1.1.1"), `{"state":"done"}`},
		{http.MethodPut, dpath(id, "/items/1.1.1.1/evidence"), `{"evidence":"ok"}`},
		{http.MethodPost, dpath(id, "/status"), `{"status":"live"}`},
		{http.MethodPost, dpath(id, "/slots/1/sign"), `{}`},
	}
}

// TestEveryEndpointNeedsAGoodToken sends every authenticated request with
// no token, a malformed header, a forged token, a revoked token and the
// token of a deactivated person: each is a JSON 401 with a Bearer
// challenge, and nothing changes.
func TestEveryEndpointNeedsAGoodToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	admin := e.user("Ada Admin", true, false)
	alice := e.user("Alice Chen", false, false, "Deployment Engineer")
	gone := e.user("Gone Person", false, false)
	d := e.deployment(alice)

	revoked, revokedSecret := e.token(alice, "revoked")
	if err := e.db.RevokeToken(ctx, revoked.ID, system); err != nil {
		t.Fatal(err)
	}
	_, goneSecret := e.token(gone, "gone")
	if err := e.db.SetActive(ctx, gone.ID, false, system); err != nil {
		t.Fatal(err)
	}
	_, good := e.token(alice, "good")
	_ = admin

	headers := map[string]string{
		"missing":          "",
		"basic scheme":     "Basic YWxpY2U6c2VjcmV0",
		"empty bearer":     "Bearer ",
		"not a token":      "Bearer hunter2",
		"forged token":     "Bearer sgf_" + strings.Repeat("A", 43),
		"token in twice":   "Bearer " + good + " " + good,
		"revoked token":    "Bearer " + revokedSecret,
		"deactivated user": "Bearer " + goneSecret,
	}
	seq, count := e.auditSeq(d.ID), e.countDeployments()
	for _, ep := range endpoints(d.ID) {
		for name, h := range headers {
			t.Run(fmt.Sprintf("%s %s/%s", ep.method, ep.path, name), func(t *testing.T) {
				res := e.send(e.web, request{method: ep.method, path: ep.path, body: ep.body,
					header: map[string]string{"Authorization": h}})
				wantError(t, res, http.StatusUnauthorized, "unauthorized")
			})
		}
	}
	if e.auditSeq(d.ID) != seq || e.countDeployments() != count {
		t.Fatal("refused requests changed something")
	}
	// The revoked token's message says so; the person's is clear too.
	body := e.call(http.MethodGet, "/api/v1/templates", revokedSecret, "").JSON(t)
	if !strings.Contains(body["message"].(string), "revoked") {
		t.Fatalf("revoked token message: %v", body["message"])
	}
	body = e.call(http.MethodGet, "/api/v1/templates", goneSecret, "").JSON(t)
	if !strings.Contains(body["message"].(string), "deactivated") {
		t.Fatalf("deactivated person message: %v", body["message"])
	}
	// Tokens are never read from the query string.
	wantError(t, e.call(http.MethodGet, "/api/v1/templates?access_token="+good, "", ""), http.StatusUnauthorized, "unauthorized")
}

// TestDeactivationStopsTokensAtOnce: a token that worked stops on the
// next request after its person is deactivated, and after revocation.
func TestDeactivationStopsTokensAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	alice := e.user("Alice Chen", false, false)
	tok, secret := e.token(alice, "ci")
	wantStatus(t, e.call(http.MethodGet, "/api/v1/deployments", secret, ""), http.StatusOK)

	if err := e.db.SetActive(ctx, alice.ID, false, system); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.call(http.MethodGet, "/api/v1/deployments", secret, ""), http.StatusUnauthorized, "unauthorized")
	if err := e.db.SetActive(ctx, alice.ID, true, system); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.call(http.MethodGet, "/api/v1/deployments", secret, ""), http.StatusOK)

	if err := e.db.RevokeToken(ctx, tok.ID, system); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.call(http.MethodGet, "/api/v1/deployments", secret, ""), http.StatusUnauthorized, "unauthorized")
}

// TestAuditorTokenOnlyReads: an auditor's token reads everything and is
// refused every write with a JSON 403, changing nothing.
func TestAuditorTokenOnlyReads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	auditor := e.user("Olu Auditor", false, true)
	d := e.deployment(alice)
	_, secret := e.token(auditor, "audit")
	seq, count := e.auditSeq(d.ID), e.countDeployments()
	for _, ep := range endpoints(d.ID) {
		res := e.call(ep.method, ep.path, secret, ep.body)
		switch {
		case ep.method == http.MethodGet:
			wantStatus(t, res, http.StatusOK)
		case strings.HasSuffix(ep.path, "/sign"):
			wantError(t, res, http.StatusForbidden, "tokens_cannot_sign")
		default:
			wantError(t, res, http.StatusForbidden, "forbidden")
		}
	}
	if e.auditSeq(d.ID) != seq || e.countDeployments() != count {
		t.Fatal("an auditor's token changed something")
	}
}

// TestCrossOriginRequestsNeedNoCookieDefence: the API is outside the web
// layer's cross-origin protection (bearer tokens are not ambient
// credentials), so a pipeline's request works whatever its Origin, and a
// cross-site request without a token still gets the API's JSON 401.
func TestCrossOriginRequestsNeedNoCookieDefence(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	crossSite := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	res := e.send(e.web, request{method: http.MethodPost, path: "/api/v1/deployments", token: secret, header: crossSite,
		body: `{"template":"` + seedSlug + `","service":"svc","environment":"staging","version":"v1"}`})
	wantStatus(t, res, http.StatusCreated)
	res = e.send(e.web, request{method: http.MethodPost, path: "/api/v1/deployments", header: crossSite, body: `{}`})
	wantError(t, res, http.StatusUnauthorized, "unauthorized")
}

func TestUnknownRoutesAndMethodsAreJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	wantError(t, e.call(http.MethodGet, "/api/v1/nothing-here", secret, ""), http.StatusNotFound, "not_found")
	wantError(t, e.call(http.MethodDelete, "/api/v1/deployments", secret, ""), http.StatusMethodNotAllowed, "method_not_allowed")
	wantError(t, e.call(http.MethodGet, "/api/v1/deployments/1/slots/1/sign", secret, ""), http.StatusMethodNotAllowed, "method_not_allowed")
}
