package notify_test

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/notify"
	"github.com/signoff/signoff/internal/password"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/migrations"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, pgtest.HashFS(migrations.FS), postgres.Migrate)
}

// cheapPasswords makes hashing cheap: the tests check behaviour, not
// argon2's cost.
var cheapPasswords = password.Params{Memory: 64, Time: 1, Threads: 1}

// mini is a small template: 3 items before, 2 due in the first 2 hours
// after go-live, two technical slots and a final approval.
//
//go:embed testdata/mini.md
var mini []byte

const testPassword = "correct horse battery"

// clock is the test's clock: it runs, and Set moves it to another time.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.offset) }

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.offset = time.Until(t); c.mu.Unlock() }

// env is one test's world: a database, a clock, a mail server and the
// settings a Notifier is made with.
type env struct {
	t     testing.TB
	ctx   context.Context
	url   string
	db    *postgres.DB
	cfg   *config.Config
	clock *clock
	mail  *mailbox
	tls   bool // mail over STARTTLS with a login
}

type envOptions struct {
	noSMTP bool // SMTP_HOST unset (a mail server still runs, to show it gets nothing)
	tls    bool
	// inside keeps webhooks from this machine (no WEBHOOK_ALLOWED_NETWORKS),
	// as in production; the other tests let them reach their receivers.
	inside bool
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, url: pgtest.URL(t), clock: &clock{}, tls: o.tls}
	e.db = e.open()
	if err := e.db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.db.ImportTemplate(ctx, mini, "mini", signoff.EventActor{Name: "test", Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	e.mail = startSMTP(t, o.tls)
	// The receivers listen on this machine, which webhooks may reach
	// only when allowed.
	env := map[string]string{"BASE_URL": "https://signoff.example.com", "SMTP_FROM": "Signoff <signoff@example.com>",
		"WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128"}
	if o.inside {
		delete(env, "WEBHOOK_ALLOWED_NETWORKS")
	}
	if !o.noSMTP {
		host, port := e.mail.hostPort()
		env["SMTP_HOST"], env["SMTP_PORT"], env["SMTP_TLS"] = host, port, "none"
		if o.tls {
			env["SMTP_TLS"], env["SMTP_USERNAME"], env["SMTP_PASSWORD"] = "starttls", smtpUser, smtpPassword
		}
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	return e
}

// open opens another store on the test database.
func (e *env) open() *postgres.DB {
	e.t.Helper()
	db, err := postgres.Open(e.ctx, e.url, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(db.Close)
	return db
}

// options are the Notifier's options in tests: the test clock, a short
// coalescing delay and a queue tuned to react in milliseconds rather than
// seconds.
func (e *env) options() notify.Options {
	return notify.Options{
		Now:            e.clock.Now,
		WebhookTimeout: time.Second,
		MailTimeout:    5 * time.Second,
		ScanInterval:   time.Hour, // tests scan when they want to
		SyncDelay:      20 * time.Millisecond,
		SweepInterval:  time.Hour, // the sweep at start (and reconnect) aside
		MailTLS:        e.mail.clientTLS(),
		River:          quickQueue,
	}
}

func quickQueue(c *river.Config) {
	c.FetchCooldown = 5 * time.Millisecond
	c.FetchPollInterval = 50 * time.Millisecond
	c.RetryPolicy = quickRetry{}
	c.JobTimeout = 5 * time.Second
	c.RescueStuckJobsAfter = 5 * time.Second
	c.TestOnly = true
	c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("NOTIFY_TEST_LOG") != "" {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// quickRetry retries after 100 ms instead of River's attempt⁴ seconds.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(100 * time.Millisecond)
}

// notifier makes a Notifier on db, not started.
func (e *env) notifier(db *postgres.DB, opt notify.Options) *notify.Notifier {
	e.t.Helper()
	n, err := notify.New(db, e.cfg, slog.New(slog.DiscardHandler), opt)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// start makes and starts a Notifier on e.db, stopped when the test ends.
func (e *env) start() *notify.Notifier {
	e.t.Helper()
	n := e.notifier(e.db, e.options())
	e.run(n)
	return n
}

func (e *env) run(n *notify.Notifier) {
	e.t.Helper()
	if err := n.Start(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		n.Stop(ctx)
	})
}

// user creates a person holding roles.
func (e *env) user(name string, roles ...string) *signoff.User {
	e.t.Helper()
	u, err := e.db.CreateUser(e.ctx, signoff.NewUser{
		Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com", Name: name,
		Password: testPassword, Roles: roles,
	}, signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		e.t.Fatalf("add user %s: %v", name, err)
	}
	return u
}

func as(u *signoff.User) signoff.EventActor {
	return signoff.EventActor{ID: u.ID, Name: u.Name, Via: "web"}
}

// deployment starts a deployment of the mini template.
func (e *env) deployment(by *signoff.User) *signoff.Deployment {
	e.t.Helper()
	d, err := e.db.CreateDeployment(e.ctx, signoff.NewDeployment{
		TemplateSlug: "mini", Service: "voxflow-api", Environment: "production", Version: "v2.4.0",
	}, as(by))
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// set changes an item's state.
func (e *env) set(d *signoff.Deployment, path string, state signoff.ItemState, by *signoff.User) {
	e.t.Helper()
	c := signoff.ItemChange{Path: path, State: state}
	if state == signoff.ItemNA {
		c.NAReason = "not this time"
	}
	if _, err := e.db.SetItemState(e.ctx, d.ID, c, as(by)); err != nil {
		e.t.Fatalf("set %s to %s: %v", path, state, err)
	}
}

// leaves are the mini template's tickable items.
var leaves = []string{"1.1.1", "1.1.2", "1.1.3", "2.1.1", "2.1.2"}

// resolve ticks the given items (all when none are given).
func (e *env) resolve(d *signoff.Deployment, by *signoff.User, paths ...string) {
	e.t.Helper()
	if len(paths) == 0 {
		paths = leaves
	}
	for _, p := range paths {
		e.set(d, p, signoff.ItemDone, by)
	}
}

// sign signs a slot.
func (e *env) sign(d *signoff.Deployment, slot int, u *signoff.User) {
	e.t.Helper()
	if _, err := e.db.Sign(e.ctx, postgres.SignInput{DeploymentID: d.ID, Slot: slot, UserID: u.ID,
		Password: testPassword, Via: "web"}); err != nil {
		e.t.Fatalf("%s signs slot %d: %v", u.Name, slot, err)
	}
}

// drain waits until every deployment's notifications are caught up with
// its events and no job waits or runs (the periodic scans aside), both
// seen at once: a sync commits its cursor with the jobs it adds.
func (e *env) drain() {
	e.t.Helper()
	eventually(e.t, 20*time.Second, "notifications to catch up and the queue to drain", func() bool {
		behind, jobs := e.backlog()
		return behind == 0 && jobs == 0
	})
}

// backlog counts the deployments behind their notification cursor and the
// jobs waiting or running (the periodic scans aside).
func (e *env) backlog() (behind, jobs int) {
	e.t.Helper()
	err := e.db.Pool().QueryRow(e.ctx, `
		SELECT
		    (SELECT count(*) FROM deployments d
		     LEFT JOIN notification_cursors c ON c.deployment_id = d.id
		     WHERE d.audit_seq > coalesce(c.seq, 0)),
		    (SELECT count(*) FROM river_job
		     WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'pending')
		       AND kind NOT IN ('signoff.overdue_scan', 'signoff.catch_up'))`).Scan(&behind, &jobs)
	if err != nil {
		e.t.Fatal(err)
	}
	return behind, jobs
}

// eventually polls cond until it holds or the time is up.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// emails reads the mail log for a deployment, oldest first.
func (e *env) emails(d *signoff.Deployment) []signoff.Email {
	e.t.Helper()
	all, err := e.db.Emails(e.ctx, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []signoff.Email
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].DeploymentID == d.ID {
			out = append(out, all[i])
		}
	}
	return out
}

func dump(v any) string { return fmt.Sprintf("%+v", v) }
