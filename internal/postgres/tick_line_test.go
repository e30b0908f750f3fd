package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// Many people ticking one deployment at once: ticks that wait for the
// deployment are written together, and each is still its own change. Every
// tick is answered with its item as it left it; every acknowledged change
// is one event in a chain that verifies; the last tick of each item wins;
// and a tick that cannot be written (an unknown item, a parent ticked, a
// state the item has) is answered as it would be alone, without failing
// the ticks beside it.
func TestConcurrentTicksShareTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	eng := addUser(t, db, "Erin Engineer", "Deployment Engineer")
	d := newDeployment(t, db, eng)
	before := len(events(t, db, d.ID))
	leaves := []string{"1.1.1.1", "1.1.1.2", "1.1.2.1", "2.1.1.1", "2.2.1.1", "3.1.1.1"}

	const people, rounds = 12, 20
	var mu sync.Mutex
	changes := 0
	last := map[string]signoff.ItemState{} // by the order the answers say
	lastSeq := map[string]int64{}
	var wg sync.WaitGroup
	for p := range people {
		wg.Go(func() {
			who := signoff.EventActor{ID: eng.ID, Name: fmt.Sprintf("Person %d", p), Via: "web"}
			for i := range rounds {
				path := leaves[(p+i)%len(leaves)]
				state := signoff.ItemDone
				if (p+i/len(leaves))%2 == 0 {
					state = signoff.ItemOpen
				}
				u, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: path, State: state}, who)
				if err != nil {
					t.Errorf("%s tick %s: %v", who.Name, path, err)
					return
				}
				ev := u.Event
				var got *signoff.Item
				for k := range u.Block {
					if u.Block[k].Path == path {
						got = &u.Block[k]
					}
				}
				if got == nil || got.State != state {
					t.Errorf("%s ticked %s %s; the answer shows %+v", who.Name, path, state, got)
					return
				}
				if u.Deployment == nil || u.Deployment.ID != d.ID || len(u.Slots) == 0 || len(u.Progress) == 0 {
					t.Errorf("answer lacks the deployment, slots or counts: %+v", u)
					return
				}
				mu.Lock()
				if ev.Seq > 0 {
					changes++
					if ev.Seq > lastSeq[path] {
						lastSeq[path], last[path] = ev.Seq, state
					}
				}
				mu.Unlock()
			}
		})
	}
	// Ticks that cannot be written, among the others.
	wg.Go(func() {
		for range 5 {
			if _, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "9.9.9", State: signoff.ItemDone}, as(eng)); err == nil {
				t.Error("an unknown item was ticked")
			}
			_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1", State: signoff.ItemDone}, as(eng))
			wantCode(t, err, signoff.EINVALID)
		}
		// A parent marked N/A closes its open sub-items, in one change.
		u, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "2.3.1", State: signoff.ItemNA, NAReason: "not this time"}, as(eng))
		if err != nil || !u.Changed() {
			t.Errorf("parent N/A: %+v, %v", u, err)
			return
		}
		for _, it := range u.Block {
			if !it.HasChildren && it.State != signoff.ItemNA {
				t.Errorf("after its parent's N/A, %s is %s", it.Path, it.State)
			}
		}
		mu.Lock()
		changes++
		mu.Unlock()
	})
	wg.Wait()
	if t.Failed() {
		return
	}

	evs := checkChain(t, db, d.ID)
	if got := len(evs) - before; got != changes {
		t.Fatalf("%d events for %d acknowledged changes", got, changes)
	}
	for path, state := range last {
		if it := item(t, db, d, path); it.State != state {
			t.Errorf("%s is %s; its last acknowledged tick set %s", path, it.State, state)
		}
	}
	wantCounts(t, db, d, "after concurrent ticks")
	// A repeated state changes nothing and records nothing.
	it := item(t, db, d, "1.1.1.1")
	u, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1.1", State: it.State}, as(eng))
	if err != nil || u == nil || u.Changed() {
		t.Fatalf("repeated state: %+v, %v", u, err)
	}
	ticks, txs := db.TickBatching()
	t.Logf("%d ticks written in %d transactions", ticks, txs)
	if ticks != int64(changes) || txs >= ticks {
		t.Fatalf("%d ticks written in %d transactions; ticks waiting for one deployment should share them", ticks, txs)
	}
}

// A tick whose asker has gone before it was written is not written.
func TestTickAskerGoneIsNotWritten(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	eng := addUser(t, db, "Erin Engineer", "Deployment Engineer")
	d := newDeployment(t, db, eng)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1.1", State: signoff.ItemDone}, as(eng)); err == nil {
		t.Fatal("a tick with a cancelled context succeeded")
	}
	if it := item(t, db, d, "1.1.1.1"); it.State != signoff.ItemOpen {
		t.Fatalf("the item is %s; a tick nobody waits for must not be written", it.State)
	}
}

// A tick waiting in line behind a busy deployment is dropped when its
// asker leaves, and so is one whose transaction waits for the
// deployment's lock with nobody left to answer: a failed request changes
// nothing.
func TestTickAskerGoneWhileInLineIsNotWritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	eng := addUser(t, db, "Erin Engineer", "Deployment Engineer")
	d := newDeployment(t, db, eng)

	// Someone else holds the deployment: the first tick is taken into a
	// transaction and waits for the lock; the second waits in line.
	hold := holdDeployment(t, db, d)
	firstCtx, firstLeaves := context.WithCancel(ctx)
	first := goTick(db, firstCtx, d, "1.1.1.1", eng)
	waitFor(t, "the first tick waiting for the lock", func() bool { return lockWaiters(t, db) > 0 })
	leaving, leave := context.WithCancel(ctx)
	second := goTick(db, leaving, d, "1.1.1.2", eng)
	waitFor(t, "the second tick in line", func() bool { return db.TicksWaiting(d.ID) == 1 })
	leave()
	if a := <-second; a.err == nil {
		t.Fatal("a tick whose asker left while in line succeeded")
	}
	firstLeaves() // while its transaction waits for the lock
	if a := <-first; a.err == nil || !errors.Is(a.err, context.Canceled) {
		t.Fatalf("the tick whose asker left while it waited for the lock: %+v; want it given up", a)
	}
	hold.Rollback(ctx)
	time.Sleep(100 * time.Millisecond) // the line runs again, if it would
	for _, path := range []string{"1.1.1.1", "1.1.1.2"} {
		if it := item(t, db, d, path); it.State != signoff.ItemOpen {
			t.Fatalf("%s is %s; a tick whose asker left before it was written must not be written", path, it.State)
		}
	}
	if got := reload(t, db, d); got.AuditSeq != 1 {
		t.Fatalf("ticks nobody waited for recorded events: seq %d", got.AuditSeq)
	}
}

// Ticks written together stay written together: when one asker of a
// batch leaves while it waits for the lock and another stays, both
// changes are made, and the one who left is answered with its change,
// never with a failure for a change that was made.
func TestTickAskerGoneFromASharedBatchIsWrittenAndReported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 3})
	eng := addUser(t, db, "Erin Engineer", "Deployment Engineer")
	d := newDeployment(t, db, eng)

	// One connection holds the deployment's lock, one watches, the third
	// is busy: the line's writer waits for a connection while both ticks
	// queue, then takes them into one transaction, which waits for the
	// lock.
	hold := holdDeployment(t, db, d)
	watch, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Release()
	busy, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leaving, leave := context.WithCancel(ctx)
	first := goTick(db, leaving, d, "1.1.1.1", eng)
	second := goTick(db, ctx, d, "1.1.1.2", eng)
	waitFor(t, "both ticks in line", func() bool { return db.TicksWaiting(d.ID) == 2 })
	busy.Release()
	waitFor(t, "the batch waiting for the lock", func() bool {
		var n int64
		if err := watch.QueryRow(ctx, lockWaitersSQL).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
	leave()
	time.Sleep(50 * time.Millisecond)
	hold.Rollback(ctx)
	for name, ch := range map[string]chan tickAnswer{"the asker who left": first, "the asker who stayed": second} {
		if a := <-ch; a.err != nil || a.ev.Seq == 0 {
			t.Errorf("%s: event %d, %v; want its change reported", name, a.ev.Seq, a.err)
		}
	}
	for _, path := range []string{"1.1.1.1", "1.1.1.2"} {
		if it := item(t, db, d, path); it.State != signoff.ItemDone {
			t.Errorf("%s is %s; want done", path, it.State)
		}
	}
	if ticks, txs := db.TickBatching(); ticks != 2 || txs != 1 {
		t.Errorf("%d ticks in %d transactions; want 2 in 1", ticks, txs)
	}
	checkChain(t, db, d.ID)
}

// A parent marked N/A and a tick of one of its sub-items, waiting in the
// same line, are written in separate transactions, each on the state the
// one before left: the N/A closes only the sub-items still open. Changes
// to other items share the first.
func TestTicksTouchingOneBlockAreNotBatchedTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 2})
	eng := addUser(t, db, "Erin Engineer", "Deployment Engineer")
	d := newDeployment(t, db, eng)
	// One connection holds the deployment's lock, the other is busy: the
	// three changes line up while the line's writer waits for a connection.
	hold := holdDeployment(t, db, d)
	busy, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sub := goTick(db, ctx, d, "1.1.1.1", eng)
	waitFor(t, "the sub-item's tick in line", func() bool { return db.TicksWaiting(d.ID) == 1 })
	parent := make(chan tickAnswer, 1)
	go func() {
		ev, err := eventOf(db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1", State: signoff.ItemNA, NAReason: "no build"}, as(eng)))
		parent <- tickAnswer{ev, err}
	}()
	waitFor(t, "the parent's N/A in line", func() bool { return db.TicksWaiting(d.ID) == 2 })
	other := goTick(db, ctx, d, "2.1.1.1", eng)
	waitFor(t, "the third change in line", func() bool { return db.TicksWaiting(d.ID) == 3 })
	busy.Release()
	waitFor(t, "the first batch taken", func() bool { return db.TicksWaiting(d.ID) == 1 })
	hold.Rollback(ctx)
	var evs [3]signoff.Event
	for i, ch := range []chan tickAnswer{sub, parent, other} {
		a := <-ch
		if a.err != nil || a.ev.Seq == 0 {
			t.Fatalf("change %d: event %d, %v", i, a.ev.Seq, a.err)
		}
		evs[i] = a.ev
	}
	if ticks, txs := db.TickBatching(); ticks != 3 || txs != 2 {
		t.Errorf("%d ticks in %d transactions; want 3 in 2 (the parent's N/A alone)", ticks, txs)
	}
	if evs[1].Seq != 4 {
		t.Errorf("the parent's N/A is event %d; want 4, after the ticks written before it", evs[1].Seq)
	}
	var p struct {
		After signoff.ItemStateAfter `json:"after"`
	}
	if err := json.Unmarshal([]byte(evs[1].Payload), &p); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(p.After.Items, "1.1.1.1") || len(p.After.Items) == 0 {
		t.Errorf("the parent's N/A closed %v; want its open sub-items, not the one ticked before it", p.After.Items)
	}
	if it := item(t, db, d, "1.1.1.1"); it.State != signoff.ItemDone {
		t.Errorf("1.1.1.1 is %s after its parent's N/A; want done", it.State)
	}
	checkChain(t, db, d.ID)
	wantCounts(t, db, d, "after a parent's N/A beside its sub-item's tick")
}

type tickAnswer struct {
	ev  signoff.Event
	err error
}

// goTick ticks path done in the background and sends its answer.
func goTick(db *postgres.DB, ctx context.Context, d *signoff.Deployment, path string, by *signoff.User) chan tickAnswer {
	out := make(chan tickAnswer, 1)
	go func() {
		ev, err := eventOf(db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: path, State: signoff.ItemDone}, as(by)))
		out <- tickAnswer{ev, err}
	}()
	return out
}

// holdDeployment locks the deployment's row in a transaction of its own,
// as a long write would; the caller rolls it back.
func holdDeployment(t *testing.T, db *postgres.DB, d *signoff.Deployment) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	hold, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hold.Rollback(ctx) })
	if _, err := hold.Exec(ctx, `SELECT 1 FROM deployments WHERE id = $1 FOR UPDATE`, d.ID); err != nil {
		t.Fatal(err)
	}
	return hold
}

// lockWaiters counts the transactions waiting for another's row lock.
func lockWaiters(t *testing.T, db *postgres.DB) int64 {
	return sqlInt(t, db, lockWaitersSQL)
}

const lockWaitersSQL = `SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'`

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
