package api_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/api"
	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// faultyEnv is the API on a store whose connections pass through a proxy
// that breaks them at a COMMIT; e.db sees the database directly.
func faultyEnv(t *testing.T) (*env, *httptest.Server, *pgtest.Proxy) {
	t.Helper()
	e := newEnv(t)
	cfg := e.db.Pool().Config().ConnConfig
	u := url.URL{Scheme: "postgres", User: url.UserPassword(cfg.User, cfg.Password),
		Host: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), Path: "/" + cfg.Database, RawQuery: "sslmode=disable"}
	proxy, through := pgtest.NewProxy(t, u.String())
	db, err := postgres.Open(context.Background(), through, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.EnsureTemplate(context.Background(), checklist.Seed); err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Mount("/api/v1", api.New(db, slog.New(slog.DiscardHandler), api.Options{}).Routes())
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return e, srv, proxy
}

// A pipeline whose create lost its answer at the COMMIT is told the
// outcome is unknown (never "nothing was changed"), and that repeating
// the request with its key is safe; the retry answers the deployment the
// lost COMMIT made, and only that one exists.
func TestAPICreateWithALostCommitIsRetriedSafely(t *testing.T) {
	t.Parallel()
	e, srv, proxy := faultyEnv(t)
	_, secret := e.token(e.user("Alice Chen", false, false), "ci")
	create := keyed(http.MethodPost, "/api/v1/deployments", secret, createBody, "pipeline-7-create")

	proxy.DropCommitAnswer()
	res := e.send(srv, create)
	wantError(t, res, http.StatusServiceUnavailable, signoff.EUNKNOWN)
	if body := string(res.Body); strings.Contains(body, "Nothing was changed") || !strings.Contains(body, "same Idempotency-Key is safe") {
		t.Fatalf("outcome unknown says: %s", body)
	}
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	res = e.send(srv, create)
	wantStatus(t, res, http.StatusCreated)
	var d deploymentBody
	res.Decode(t, &d)
	if n := e.countDeployments(); n != 1 || d.ID == 0 || res.Header.Get(api.HeaderReplayed) != "true" {
		t.Fatalf("after the retry: %d deployments, answered %d (replayed %q)", n, d.ID, res.Header.Get(api.HeaderReplayed))
	}
}

// A change that committed is answered as made even when reading it back
// fails: the success status, what the change established, "partial".
func TestAPIChangeCommittedButUnreadIsAnsweredAsMade(t *testing.T) {
	t.Parallel()
	e, srv, proxy := faultyEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")

	proxy.CutAfterCommit()
	res := e.send(srv, request{method: http.MethodPost, path: "/api/v1/deployments", token: secret, body: createBody})
	proxy.Heal()
	wantStatus(t, res, http.StatusCreated)
	var partial struct {
		Partial bool           `json:"partial"`
		ID      int64          `json:"id"`
		Status  signoff.Status `json:"status"`
		Message string         `json:"message"`
	}
	res.Decode(t, &partial)
	if !partial.Partial || partial.ID == 0 || partial.Status != signoff.StatusDraft || res.Header.Get("Location") != dpath(partial.ID, "") {
		t.Fatalf("create answered %s (Location %q)", res.Body, res.Header.Get("Location"))
	}

	proxy.CutAfterCommit()
	res = e.send(srv, request{method: http.MethodPut, path: dpath(partial.ID, "/items/2.4.1.1"), token: secret, body: `{"state":"done"}`})
	proxy.Heal()
	wantStatus(t, res, http.StatusOK)
	var item struct {
		Partial bool              `json:"partial"`
		Path    string            `json:"path"`
		State   signoff.ItemState `json:"state"`
	}
	res.Decode(t, &item)
	if !item.Partial || item.Path != "2.4.1.1" || item.State != signoff.ItemDone {
		t.Fatalf("tick answered %s", res.Body)
	}
	if got := e.auditSeq(partial.ID); got != 2 {
		t.Fatalf("audit seq %d; want the create and the tick", got)
	}
}
