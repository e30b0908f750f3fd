package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/api"
	"github.com/signoff/signoff/internal/audit"
)

// TestExportIsTheSignedAuditRecord: the export is the canonical signed
// record, which verifies offline against the server's key and carries the
// API changes with the token named.
func TestExportIsTheSignedAuditRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	d := e.deployment(alice)
	wantStatus(t, e.call(http.MethodPut, dpath(d.ID, "/items/1.1.1.1"), secret, `{"state":"done"}`), http.StatusOK)
	wantStatus(t, e.call(http.MethodPut, dpath(d.ID, "/items/1.1.1.1/evidence"), secret, `{"evidence":"ok"}`), http.StatusOK)

	res := e.send(e.signed, request{method: http.MethodGet, path: dpath(d.ID, "/export"), token: secret})
	wantStatus(t, res, http.StatusOK)
	result, err := audit.Verify(res.Body, e.signer.Public())
	if err != nil {
		t.Fatalf("the export does not verify: %v", err)
	}
	if result.DeploymentID != d.ID || result.Events != 3 {
		t.Fatalf("verified %+v", result)
	}
	if !strings.Contains(string(res.Body), `Alice Chen (token ci)`) || !strings.Contains(string(res.Body), `\"via\":\"api\"`) {
		t.Fatal("the export does not name the token and the API")
	}
	// Any edited byte fails.
	edited := strings.Replace(string(res.Body), `"ok"`, `"OK"`, 1)
	if _, err := audit.Verify([]byte(edited), e.signer.Public()); err == nil {
		t.Fatal("an edited export verified")
	}
	// Through the web application, the export is signed with the key the
	// server publishes, and verifies against it.
	res = e.call(http.MethodGet, dpath(d.ID, "/export"), secret, "")
	wantStatus(t, res, http.StatusOK)
	keyRes := e.send(e.web, request{method: http.MethodGet, path: "/.well-known/signoff-signing-key"})
	pub, err := audit.ParsePublicKey(string(keyRes.Body))
	if err != nil {
		t.Fatalf("published key: %v", err)
	}
	if _, err := audit.Verify(res.Body, pub); err != nil {
		t.Fatalf("the web-mounted export does not verify against the published key: %v", err)
	}
	wantError(t, e.send(e.signed, request{method: http.MethodGet, path: "/api/v1/deployments/99999/export", token: secret}), http.StatusNotFound, "not_found")
	wantError(t, e.send(e.signed, request{method: http.MethodGet, path: dpath(d.ID, "/export")}), http.StatusUnauthorized, "unauthorized")
}

// TestExportWithoutSigningKey: a server with no key says so rather than
// handing out an unverifiable file.
func TestExportWithoutSigningKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	d := e.deployment(alice)
	r := chi.NewRouter()
	r.Mount("/api/v1", api.New(e.db, nil, api.Options{}).Routes())
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	wantError(t, e.send(srv, request{method: http.MethodGet, path: dpath(d.ID, "/export"), token: secret}), http.StatusServiceUnavailable, "unavailable")
}
