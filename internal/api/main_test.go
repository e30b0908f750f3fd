package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/api"
	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/password"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/internal/ui"
	"github.com/signoff/signoff/migrations"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, pgtest.HashFS(migrations.FS), postgres.Migrate)
}

// cheapPasswords makes hashing cheap: the tests check behaviour, not
// argon2's cost.
var cheapPasswords = password.Params{Memory: 64, Time: 1, Threads: 1}

const (
	testPassword = "correct horse battery"
	seedSlug     = "voxflow-production-deployment-checklist"
)

// env is the whole web application on a fresh database, with the API
// mounted exactly as in production, plus the API on its own with an audit
// signing key for exports.
type env struct {
	t      *testing.T
	db     *postgres.DB
	web    *httptest.Server
	signed *httptest.Server
	signer *audit.Signer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	// One key signs exports and the transparency log's checkpoints, for
	// the web application and the API alike, as in a server.
	signer, err := audit.SignerFromSeed(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetLogKey(ctx, signer.PrivateKey(), "signoff.test/audit-log", nil); err != nil {
		t.Fatal(err)
	}
	s, err := ui.New(ctx, db, cfg, logger, ui.Options{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(s.Handler())
	t.Cleanup(web.Close)
	r := chi.NewRouter()
	r.Mount("/api/v1", api.New(db, logger, api.Options{Signer: signer}).Routes())
	signed := httptest.NewServer(r)
	t.Cleanup(signed.Close)
	return &env{t: t, db: db, web: web, signed: signed, signer: signer}
}

var system = signoff.EventActor{Name: "test", Via: "cli"}

// user creates a person with roles; admin and auditor via the flags.
func (e *env) user(name string, admin, auditor bool, roles ...string) *signoff.User {
	e.t.Helper()
	u, err := e.db.CreateUser(context.Background(), signoff.NewUser{
		Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com", Name: name,
		Password: testPassword, IsAdmin: admin, IsAuditor: auditor, Roles: roles,
	}, system)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// token issues a token acting as u and returns its secret.
func (e *env) token(u *signoff.User, name string) (*signoff.Token, string) {
	e.t.Helper()
	tok, secret, err := e.db.CreateToken(context.Background(), signoff.NewToken{Name: name, UserID: u.ID}, system)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok, secret
}

func (e *env) deployment(by *signoff.User) *signoff.Deployment {
	e.t.Helper()
	d, err := e.db.CreateDeployment(context.Background(), signoff.NewDeployment{
		TemplateSlug: seedSlug, Service: "voxflow-api", Environment: "production", Version: "v2.4.0",
	}, signoff.EventActor{ID: by.ID, Name: by.Name, Via: "web"})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// auditSeq is the deployment's audit sequence: every change moves it, so
// an unchanged one proves a refused request changed nothing.
func (e *env) auditSeq(id int64) int64 {
	e.t.Helper()
	d, err := e.db.Deployment(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return d.AuditSeq
}

func (e *env) countDeployments() int {
	e.t.Helper()
	var n int
	if err := e.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM deployments`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return v
}

// Decode decodes the body into v.
func (r response) Decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode body: %v\n%s", err, r.Body)
	}
}

type request struct {
	method, path, token, body string
	header                    map[string]string
}

// call sends a request to the web application (the API as mounted in
// production). An empty token sends no Authorization header; a body is
// sent as application/json unless the header says otherwise.
func (e *env) call(method, path, token, body string) response {
	e.t.Helper()
	return e.send(e.web, request{method: method, path: path, token: token, body: body})
}

func (e *env) send(srv *httptest.Server, rq request) response {
	e.t.Helper()
	var rd io.Reader
	if rq.body != "" {
		rd = strings.NewReader(rq.body)
	}
	req, err := http.NewRequest(rq.method, srv.URL+rq.path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	if rq.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// wantError fails unless res is a JSON error with the status and code,
// not cached, with a message.
func wantError(t *testing.T, res response, status int, code string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d; want %d\n%s", res.Status, status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q; want JSON\n%s", ct, res.Body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q; want no-store", cc)
	}
	var body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, res.Body)
	}
	if body.Code != code || body.Message == "" {
		t.Fatalf("error %+v; want code %q with a message", body, code)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("401 without a Bearer challenge: %q", res.Header.Get("WWW-Authenticate"))
	}
}

// wantStatus fails unless res has the status and is uncached JSON.
func wantStatus(t *testing.T, res response, status int) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d; want %d\n%s", res.Status, status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q; want JSON", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q; want no-store", cc)
	}
}

func dpath(id int64, rest string) string { return fmt.Sprintf("/api/v1/deployments/%d%s", id, rest) }
