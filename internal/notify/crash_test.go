package notify_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/notify"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// The crash tests. Delivery is at least once with a stable idempotency key:
// a process that dies between a receiver's doing the work and the delivery
// being recorded delivers again after a restart, with the same delivery id,
// so a receiver that keeps the ids it has seen applies it exactly once.

const (
	crashDBEnv   = "SIGNOFF_NOTIFY_CRASH_DB"
	crashSMTPEnv = "SIGNOFF_NOTIFY_CRASH_SMTP" // host:port of the test's mail server, if any
)

// TestCrashWorker is not a test: it is the worker process that
// TestKilledMidDeliveryDeliversOnceAfterRestart and
// TestKilledMidMailSendsTheSameMessageAfterRestart start and kill. It runs
// a Notifier on the database (and mail server) it is given until it is
// killed.
func TestCrashWorker(t *testing.T) {
	url := os.Getenv(crashDBEnv)
	if url == "" {
		t.Skip("the worker process of TestKilledMidDeliveryDeliversOnceAfterRestart")
	}
	ctx := context.Background()
	db, err := postgres.Open(ctx, url, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BASE_URL": "https://signoff.example.com", "SMTP_FROM": "Signoff <signoff@example.com>", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}
	if hostPort := os.Getenv(crashSMTPEnv); hostPort != "" {
		host, port, _ := strings.Cut(hostPort, ":")
		env["SMTP_HOST"], env["SMTP_PORT"], env["SMTP_TLS"] = host, port, "none"
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(db, cfg, slog.New(slog.DiscardHandler), notify.Options{
		WebhookTimeout: 30 * time.Second, MailTimeout: 30 * time.Second, River: quickQueue})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("worker started\n")
	select {} // until killed
}

func TestKilledMidDeliveryDeliversOnceAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for River to notice the dead worker's job (about 20 s)")
	}
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	rc.hang = make(chan struct{}) // the first request is applied, then never answered
	e.hook(rc, signoff.WebhookJSON, signoff.HookDeploymentCreated)
	owner := e.user("Olivia Owner")
	// This process's Notifier is not started yet.
	n := e.notifier(e.db, e.options())
	e.deployment(owner)

	// Another process starts a Notifier: its start-up sweep finds the
	// deployment, it syncs it and starts the delivery; the receiver applies it and, before it answers, the
	// process is killed (SIGKILL: no defer, no shutdown, nothing recorded).
	worker := exec.Command(os.Args[0], "-test.run=^TestCrashWorker$", "-test.v")
	worker.Env = append(os.Environ(), crashDBEnv+"="+e.url)
	var out strings.Builder
	worker.Stdout, worker.Stderr = &out, &out
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	var first string
	select {
	case first = <-rc.got:
	case <-time.After(30 * time.Second):
		worker.Process.Kill()
		worker.Wait()
		t.Fatalf("the worker process never delivered; its output:\n%s", out.String())
	}
	if err := worker.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := worker.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Success() {
		t.Fatalf("worker did not die: %v", err)
	}

	// The delivery's outcome was never recorded: its job is still running
	// as far as the database knows.
	log := e.deliveries()
	if len(log) != 1 || log[0].Status != signoff.DeliveryPending || log[0].Attempts != 0 || log[0].DeliveryID != first {
		t.Fatalf("delivery log after the kill = %s", dump(log))
	}
	var state string
	var attempted time.Time
	if err := e.db.Pool().QueryRow(e.ctx, `SELECT state, attempted_at FROM river_job WHERE kind = 'signoff.webhook'`).Scan(&state, &attempted); err != nil {
		t.Fatal(err)
	}
	if state != "running" {
		t.Fatalf("webhook job is %s; want running (its worker died)", state)
	}

	// Restart: a new process (here, this one) works the same queue. River
	// rescues the dead worker's job once it has run longer than it may
	// (the webhook timeout plus 5 s, here 6 s) and delivers again, with the
	// same id. Starting once that is so lets the first rescue pass find it
	// rather than the next, 30 s later.
	time.Sleep(time.Until(attempted.Add(6*time.Second + 500*time.Millisecond)))
	restarted := time.Now()
	e.run(n)
	select {
	case second := <-rc.got:
		t.Logf("redelivered %s after the restart", time.Since(restarted).Round(time.Millisecond))
		if second != first {
			t.Fatalf("redelivered with id %s; want the same id %s", second, first)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the delivery was never made again")
	}
	eventually(t, 10*time.Second, "the delivery to be logged", func() bool {
		log := e.deliveries()
		return len(log) == 1 && log[0].Status == signoff.DeliveryDelivered
	})
	reqs := rc.all()
	if len(reqs) != 2 || string(reqs[0].Body) != string(reqs[1].Body) || reqs[0].Signature != reqs[1].Signature {
		t.Fatalf("requests = %+v; want the same request twice", reqs)
	}
	if effects := rc.effects(); len(effects) != 1 || effects[first] != 1 {
		t.Fatalf("effects = %v; want delivery %s applied once", effects, first)
	}
	if l := e.deliveries()[0]; l.Attempts != 2 || l.LastStatusCode != 200 {
		t.Errorf("logged delivery = %s; want 2 attempts, the second answered 200", dump(l))
	}
}

// A change adds nothing to its transaction for notifications: its
// deployment's audit_seq, bumped with it, is ahead of the notification
// cursor. If the process dies right after the commit, before any notifier
// heard of it, the next process's start-up sweep finds it and tells
// everyone, once.
func TestChangeCommittedBeforeCrashIsStillNotified(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	e.hook(rc, signoff.WebhookJSON)
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")

	// The first process "dies" once the changes are committed: its store
	// is closed, its Notifier never ran.
	first := e.open()
	e.notifier(first, e.options())
	d, err := first.CreateDeployment(e.ctx, signoff.NewDeployment{TemplateSlug: "mini", Service: "voxflow-api",
		Environment: "production", Version: "v2.4.0"}, as(owner))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range leaves {
		if _, err := first.SetItemState(e.ctx, d.ID, signoff.ItemChange{Path: p, State: signoff.ItemDone}, as(owner)); err != nil {
			t.Fatal(err)
		}
	}
	first.Close()
	if behind, jobs := e.backlog(); behind != 1 || jobs != 0 {
		t.Fatalf("%d deployments behind, %d jobs queued; want 1 and none (changes queue no job)", behind, jobs)
	}
	if len(e.mail.messages()) != 0 || len(rc.all()) != 0 {
		t.Fatal("something was sent before any notifier ran")
	}

	// The next process. Only its start-up sweep can find the deployment:
	// it heard no NOTIFY for it, hears of changes only after an hour, and
	// its periodic sweep is an hour away.
	opt := e.options()
	opt.SyncDelay = time.Hour
	n := e.notifier(e.db, opt)
	e.run(n)
	eventually(t, 10*time.Second, "the mail to Dana", func() bool { return len(e.mail.to(dana.Email)) == 1 })
	e.drain()
	if got := sorted(rc.events()); !equal(got, sorted([]string{"deployment.created", "deployment.status", "signoff.ready", "signoff.ready"})) {
		t.Fatalf("webhook events = %v", got)
	}
	if effects := rc.effects(); len(effects) != 4 {
		t.Fatalf("effects = %v; want 4 deliveries applied once each", effects)
	}
	if runs := notify.SyncRuns(n); runs != 1 {
		t.Errorf("%d syncs; want the sweep's one", runs)
	}
}

// A change that fails at commit, after it appended its event and sent its
// NOTIFY, leaves nothing to tell: its NOTIFY is never delivered and its
// audit_seq is rolled back with it.
func TestRolledBackChangeTellsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	e.hook(rc, signoff.WebhookJSON)
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	d := e.deployment(owner)
	e.resolve(d, owner, leaves[:len(leaves)-1]...)
	// The last tick (the one that would make slot 1 signable) fails when
	// it commits: a deferred constraint trigger refuses its audit event.
	if _, err := e.db.Pool().Exec(e.ctx, `
		CREATE FUNCTION fail_commit() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN RAISE EXCEPTION 'boom at commit'; END $$;
		CREATE CONSTRAINT TRIGGER fail_commit AFTER INSERT ON audit_events
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
		WHEN (NEW.deployment_id = `+itoa(d.ID)+` AND NEW.seq = `+itoa(int64(len(leaves)+1))+`)
		EXECUTE FUNCTION fail_commit()`); err != nil {
		t.Fatal(err)
	}
	n := e.start()
	e.drain()
	seen := len(rc.all())
	before := notify.SyncRuns(n)

	_, err := e.db.SetItemState(e.ctx, d.ID, signoff.ItemChange{Path: leaves[len(leaves)-1], State: signoff.ItemDone}, as(owner))
	if err == nil || !strings.Contains(err.Error(), "boom at commit") {
		t.Fatalf("err = %v; want the commit to fail", err)
	}
	time.Sleep(300 * time.Millisecond) // well past the coalescing delay
	e.drain()
	if runs := notify.SyncRuns(n) - before; runs != 0 {
		t.Errorf("%d syncs after a change that rolled back; want none (no NOTIFY)", runs)
	}
	if err := n.Sync(e.ctx, d.ID); err != nil { // and a sync finds nothing to tell
		t.Fatal(err)
	}
	e.drain()
	if got := rc.events()[seen:]; len(got) != 0 {
		t.Fatalf("webhooks after a change that rolled back: %v", got)
	}
	if got := e.emails(d); len(got) != 0 || len(e.mail.to(dana.Email)) != 0 {
		t.Fatalf("mail after a change that rolled back: %s", dump(got))
	}
}

// Syncing the same deployment again and again, at once, tells once.
func TestConcurrentSyncsTellOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	n := e.notifier(e.db, e.options())
	d := e.deployment(owner)
	e.resolve(d, owner)
	errs := make(chan error, 8)
	for range 8 {
		go func() { errs <- n.Sync(e.ctx, d.ID) }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	logged := e.emails(d)
	if len(logged) != 1 || logged[0].Address != dana.Email {
		t.Fatalf("mail log = %s; want one mail to Dana", dump(logged))
	}
	var notices int
	if err := e.db.Pool().QueryRow(e.ctx, `SELECT count(*) FROM notifications WHERE deployment_id = $1`, d.ID).Scan(&notices); err != nil {
		t.Fatal(err)
	}
	if notices != 2 { // slots 1 and 2 are signable (nobody holds the DBA role: no mail)
		t.Fatalf("%d notifications recorded; want 2", notices)
	}
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }
