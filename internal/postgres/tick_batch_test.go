package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

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
	changes, parentChanges := 0, 0
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
				ev, ic, err := db.SetItemStateAndRead(ctx, d.ID, signoff.ItemChange{Path: path, State: state}, who)
				if err != nil {
					t.Errorf("%s tick %s: %v", who.Name, path, err)
					return
				}
				var got *signoff.Item
				for k := range ic.Items {
					if ic.Items[k].Path == path {
						got = &ic.Items[k]
					}
				}
				if got == nil || got.State != state {
					t.Errorf("%s ticked %s %s; the answer shows %+v", who.Name, path, state, got)
					return
				}
				if ic.Deployment == nil || ic.Deployment.ID != d.ID || len(ic.Slots) == 0 || len(ic.Counts) == 0 {
					t.Errorf("answer lacks the deployment, slots or counts: %+v", ic)
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
			if _, _, err := db.SetItemStateAndRead(ctx, d.ID, signoff.ItemChange{Path: "9.9.9", State: signoff.ItemDone}, as(eng)); err == nil {
				t.Error("an unknown item was ticked")
			}
			_, _, err := db.SetItemStateAndRead(ctx, d.ID, signoff.ItemChange{Path: "1.1.1", State: signoff.ItemDone}, as(eng))
			wantCode(t, err, signoff.EINVALID)
		}
		// A parent marked N/A closes its open sub-items, in one change.
		ev, ic, err := db.SetItemStateAndRead(ctx, d.ID, signoff.ItemChange{Path: "2.3.1", State: signoff.ItemNA, NAReason: "not this time"}, as(eng))
		if err != nil || ev.Seq == 0 {
			t.Errorf("parent N/A: event %d, %v", ev.Seq, err)
			return
		}
		for _, it := range ic.Items {
			if !it.HasChildren && it.State != signoff.ItemNA {
				t.Errorf("after its parent's N/A, %s is %s", it.Path, it.State)
			}
		}
		mu.Lock()
		changes++ // written alone, not in a batch
		parentChanges++
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
	ev, ic, err := db.SetItemStateAndRead(ctx, d.ID, signoff.ItemChange{Path: "1.1.1.1", State: it.State}, as(eng))
	if err != nil || ev.Seq != 0 || ic == nil {
		t.Fatalf("repeated state: event %d, %v", ev.Seq, err)
	}
	ticks, txs := db.TickBatching()
	t.Logf("%d ticks written in %d transactions", ticks, txs)
	if ticks < int64(changes-parentChanges) || txs >= ticks {
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
	if _, _, err := db.SetItemStateAndRead(ctx, d.ID, signoff.ItemChange{Path: "1.1.1.1", State: signoff.ItemDone}, as(eng)); err == nil {
		t.Fatal("a tick with a cancelled context succeeded")
	}
	if it := item(t, db, d, "1.1.1.1"); it.State != signoff.ItemOpen {
		t.Fatalf("the item is %s; a tick nobody waits for must not be written", it.State)
	}
}

// A tick waiting in line behind a busy deployment is dropped when its
// asker leaves (a failed request changes nothing), while a tick already
// taken into a transaction is answered with what that transaction did,
// even if its asker left meanwhile: it never reports a failure for a
// change that was made.
func TestTickAskerGoneWhileInLineIsNotWritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	eng := addUser(t, db, "Erin Engineer", "Deployment Engineer")
	d := newDeployment(t, db, eng)

	// Someone else holds the deployment: the first tick is taken into a
	// transaction and waits for the lock; the second waits in line.
	hold, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx)
	if _, err := hold.Exec(ctx, `SELECT 1 FROM deployments WHERE id = $1 FOR UPDATE`, d.ID); err != nil {
		t.Fatal(err)
	}
	firstCtx, firstLeaves := context.WithCancel(ctx)
	type answer struct {
		ev  signoff.Event
		err error
	}
	first := make(chan answer, 1)
	go func() {
		ev, _, err := db.SetItemStateAndRead(firstCtx, d.ID, signoff.ItemChange{Path: "1.1.1.1", State: signoff.ItemDone}, as(eng))
		first <- answer{ev, err}
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("the first tick waiting for the lock", func() bool {
		return sqlInt(t, db, `SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'`) > 0
	})
	leaving, leave := context.WithCancel(ctx)
	second := make(chan error, 1)
	go func() {
		_, _, err := db.SetItemStateAndRead(leaving, d.ID, signoff.ItemChange{Path: "1.1.1.2", State: signoff.ItemDone}, as(eng))
		second <- err
	}()
	time.Sleep(50 * time.Millisecond) // in line behind the first
	leave()
	if err := <-second; err == nil {
		t.Fatal("a tick whose asker left succeeded")
	}
	firstLeaves() // while its transaction waits for the lock
	time.Sleep(50 * time.Millisecond)
	hold.Rollback(ctx)
	if a := <-first; a.err != nil || a.ev.Seq == 0 {
		t.Fatalf("the tick being written: event %d, %v; want its change reported", a.ev.Seq, a.err)
	}
	if it := item(t, db, d, "1.1.1.1"); it.State != signoff.ItemDone {
		t.Fatalf("the first tick left 1.1.1.1 %s", it.State)
	}
	time.Sleep(100 * time.Millisecond) // the line runs again, if it would
	if it := item(t, db, d, "1.1.1.2"); it.State != signoff.ItemOpen {
		t.Fatalf("1.1.1.2 is %s; a tick whose asker left while in line must not be written", it.State)
	}
}
