package ui_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/live"
	"github.com/signoff/signoff/internal/metrics"
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

const testPassword = "correct horse battery"

// app is a running web layer on a fresh database.
type app struct {
	t   testing.TB
	db  *postgres.DB
	srv *httptest.Server
	ui  *ui.Server
}

// router is the chi router under the cross-origin wrapper, for walking.
func (a *app) router(t testing.TB) chi.Routes { return a.ui.Router() }

func newApp(t testing.TB) *app { return newAppWith(t, appConfig{}) }

// appConfig varies the app a test runs: environment variables, where the
// logs go, and web-layer options.
type appConfig struct {
	env  map[string]string
	logs io.Writer // nil discards them
	opts func(*ui.Options)
}

func newAppWith(t testing.TB, ac appConfig) *app {
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
	cfg, err := config.Load(func(k string) string { return ac.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	if ac.logs != nil {
		logger = slog.New(slog.NewJSONHandler(ac.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	hub := live.NewHub(db, logger)
	go hub.Run(ctx)
	m := metrics.New(metrics.Sources{Pool: db.Pool(), LiveConnections: hub.Connections, TickBatching: db.TickBatching})
	opts := ui.Options{Live: hub, Metrics: m}
	if ac.opts != nil {
		ac.opts(&opts)
	}
	s, err := ui.New(ctx, db, cfg, logger, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &app{t: t, db: db, srv: srv, ui: s}
}

// user creates a person with roles; admin and auditor via the flags.
func (a *app) user(name string, admin, auditor bool, roles ...string) *signoff.User {
	a.t.Helper()
	u, err := a.db.CreateUser(context.Background(), signoff.NewUser{
		Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com", Name: name,
		Password: testPassword, IsAdmin: admin, IsAuditor: auditor, Roles: roles,
	}, signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		a.t.Fatal(err)
	}
	return u
}

// client is a browser-like HTTP client: cookies, no redirects followed.
type client struct {
	t    testing.TB
	base string
	http *http.Client
}

func (a *app) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: a.t, base: a.srv.URL, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login signs u in and returns their client.
func (a *app) login(u *signoff.User) *client {
	a.t.Helper()
	c := a.anon()
	res := c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}}, false)
	if res.StatusCode != http.StatusSeeOther {
		a.t.Fatalf("login %s: status %d", u.Email, res.StatusCode)
	}
	return c
}

type response struct {
	*http.Response
	Body string
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Response: res, Body: string(b)}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

// post sends a same-origin form post, as a browser would; htmx adds the
// HX-Request header.
func (c *client) post(path string, form url.Values, htmx bool) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	return c.do(req)
}

func (a *app) deployment(by *signoff.User) *signoff.Deployment {
	a.t.Helper()
	d, err := a.db.CreateDeployment(context.Background(), signoff.NewDeployment{
		TemplateSlug: "voxflow-production-deployment-checklist", Service: "voxflow-api", Environment: "production", Version: "v2.4.0",
	}, signoff.EventActor{ID: by.ID, Name: by.Name, Via: "web"})
	if err != nil {
		a.t.Fatal(err)
	}
	return d
}

func dpath(d *signoff.Deployment, rest string) string {
	return fmt.Sprintf("/deployments/%d%s", d.ID, rest)
}
