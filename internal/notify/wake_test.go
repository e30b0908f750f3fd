package notify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/notify"
	"github.com/signoff/signoff/internal/signoff"
)

// How notifiers learn of changes: the NOTIFY each change sends, coalesced;
// and the catch-up sweep, at start, after a reconnect and periodically.

// wantReady are the webhook events of the mini template's deployment once
// its items are all done: created, started by the first tick, and its two
// technical slots signable.
var wantReady = sorted([]string{"deployment.created", "deployment.status", "signoff.ready", "signoff.ready"})

// checkToldOnce checks that what a deployment whose items are all done
// should tell was decided once: the webhook events, each delivered and
// applied once, one mail to Dana, two notices.
func (e *env) checkToldOnce(d *signoff.Deployment, rc *receiver, dana *signoff.User) {
	e.t.Helper()
	if got := sorted(rc.events()); !slices.Equal(got, wantReady) {
		e.t.Errorf("webhook events = %v; want %v", got, wantReady)
	}
	log := e.deliveries()
	if len(log) != len(wantReady) || len(rc.effects()) != len(wantReady) {
		e.t.Errorf("delivery log = %s, effects = %v; want %d deliveries, applied once each", dump(log), rc.effects(), len(wantReady))
	}
	if mails := e.emails(d); len(mails) != 1 || mails[0].Address != dana.Email || len(e.mail.to(dana.Email)) != 1 {
		e.t.Errorf("mail log = %s; want one mail to Dana", dump(mails))
	}
	var notices int
	if err := e.db.Pool().QueryRow(e.ctx, `SELECT count(*) FROM notifications WHERE deployment_id = $1`, d.ID).Scan(&notices); err != nil {
		e.t.Fatal(err)
	}
	if notices != 2 {
		e.t.Errorf("%d notifications recorded; want 2 (slots 1 and 2)", notices)
	}
}

// A burst of changes to one deployment is synced a few times, not once per
// change, and tells exactly what it should.
func TestBurstOfChangesIsSyncedFewTimes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	e.hook(rc, signoff.WebhookJSON)
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	opt := e.options()
	opt.SyncDelay = 100 * time.Millisecond
	n := e.notifier(e.db, opt)
	e.run(n)
	d := e.deployment(owner)
	e.drain()
	before := notify.SyncRuns(n)

	// 100 changes as fast as the store takes them: the first item ticked
	// and unticked (nothing becomes signable meanwhile), then all done.
	const toggles = 100
	start := time.Now()
	for i := range toggles {
		state := signoff.ItemDone
		if i%2 == 1 {
			state = signoff.ItemOpen
		}
		e.set(d, leaves[0], state, owner)
	}
	e.resolve(d, owner)
	took := time.Since(start)
	e.drain()

	changes := toggles + len(leaves)
	runs := notify.SyncRuns(n) - before
	t.Logf("%d changes in %s: %d syncs", changes, took.Round(time.Millisecond), runs)
	// At most one sync per coalescing delay, plus the one after the burst
	// (and some slack for a slow machine).
	if bound := int64(took/opt.SyncDelay) + 3; runs > bound || runs > int64(changes)/5 {
		t.Errorf("%d syncs for %d changes in %s; want at most %d (one per %s)", runs, changes, took, bound, opt.SyncDelay)
	}
	e.checkToldOnce(d, rc, dana)
}

// A change whose NOTIFY a notifier does not act on is synced by the
// leader's periodic sweep. Here the notifier hears changes but would sync
// them only after an hour: within the test only a sweep can. The start-up
// sweep runs once, before the second round, so at least two rounds are
// the periodic sweep's.
func TestMissedNotifyIsSyncedByThePeriodicSweep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	e.hook(rc, signoff.WebhookJSON)
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	opt := e.options()
	opt.SyncDelay = time.Hour
	opt.SweepInterval = 300 * time.Millisecond
	e.run(e.notifier(e.db, opt))

	var d *signoff.Deployment
	rounds := []func(){
		func() { d = e.deployment(owner) },
		func() { e.resolve(d, owner, leaves[0]) },
		func() { e.resolve(d, owner, leaves[1:]...) },
	}
	for i, round := range rounds {
		round()
		start := time.Now()
		eventually(t, 10*time.Second, "the sweep to sync the deployment", func() bool {
			behind, jobs := e.backlog()
			return behind == 0 && jobs == 0
		})
		t.Logf("round %d synced after %s", i+1, time.Since(start).Round(time.Millisecond))
	}
	e.checkToldOnce(d, rc, dana)
}

// A change committed while the listener is disconnected (its NOTIFY is
// lost) is synced once it reconnects: it sweeps before listening on.
func TestListenerReconnectCatchesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	e.hook(rc, signoff.WebhookJSON)
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	e.start() // the periodic sweep is an hour away
	d := e.deployment(owner)
	e.drain()

	listeners := func() int {
		var n int
		if err := e.db.Pool().QueryRow(e.ctx, `
			SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'listen "signoff_deployment"'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for attempt := 1; ; attempt++ {
		eventually(t, 10*time.Second, "the listener to listen", func() bool { return listeners() == 1 })
		if _, err := e.db.Pool().Exec(e.ctx, `
			SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'listen "signoff_deployment"'`); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "the listener's connection to end", func() bool { return listeners() == 0 })
		e.resolve(d, owner) // it reconnects a second later
		if listeners() == 0 {
			break // every change was committed while nobody listened
		}
		if attempt == 3 {
			t.Fatal("the listener kept reconnecting before the changes committed")
		}
	}
	e.drain()
	e.checkToldOnce(d, rc, dana)
}

// Two instances hear every NOTIFY and both try to sync: each notification
// is still decided once.
func TestTwoInstancesDecideOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	e.hook(rc, signoff.WebhookJSON)
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	a, b := e.notifier(e.open(), e.options()), e.notifier(e.open(), e.options())
	e.run(a)
	e.run(b)

	var ds []*signoff.Deployment
	for range 3 {
		d := e.deployment(owner)
		ds = append(ds, d)
		for i := range 20 {
			state := signoff.ItemDone
			if i%2 == 1 {
				state = signoff.ItemOpen
			}
			e.set(d, leaves[0], state, owner)
		}
	}
	for _, d := range ds {
		e.resolve(d, owner)
	}
	e.drain()

	ra, rb := notify.SyncRuns(a), notify.SyncRuns(b)
	t.Logf("syncs: instance A %d, instance B %d", ra, rb)
	if ra == 0 || rb == 0 {
		t.Errorf("syncs: A %d, B %d; want both instances to have tried", ra, rb)
	}
	want := map[string]int{}
	for _, ev := range wantReady {
		want[ev] += len(ds)
	}
	got := map[string]int{}
	for _, ev := range rc.events() {
		got[ev]++
	}
	if len(got) != len(want) {
		t.Errorf("webhook events = %v; want %v", got, want)
	}
	for ev, n := range want {
		if got[ev] != n {
			t.Errorf("%s received %d times; want %d", ev, got[ev], n)
		}
	}
	if log := e.deliveries(); len(log) != len(wantReady)*len(ds) || len(rc.effects()) != len(log) {
		t.Errorf("%d deliveries logged, %d applied; want %d", len(log), len(rc.effects()), len(wantReady)*len(ds))
	}
	for _, d := range ds {
		if mails := e.emails(d); len(mails) != 1 || mails[0].Address != dana.Email {
			t.Errorf("deployment %d: mail log = %s; want one mail to Dana", d.ID, dump(mails))
		}
	}
	if n := len(e.mail.to(dana.Email)); n != len(ds) {
		t.Errorf("Dana got %d mails; want %d", n, len(ds))
	}
}
