package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// together runs fns at the same instant (behind a barrier) and returns
// their errors.
func together(fns ...func() error) []error {
	errs := make([]error, len(fns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() {
			<-start
			errs[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func TestConcurrentTicksOnOneDeploymentAllLandInOneIntactChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 24})
	alice := addUser(t, db, "Alice Chen")
	d := newDeployment(t, db, alice)
	cl, err := db.Checklist(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	var leaves []string
	for _, it := range cl.Items {
		if !it.HasChildren && len(leaves) < 20 {
			leaves = append(leaves, it.Path)
		}
	}
	// Warm the pool so the goroutines meet at the row lock, not at connect.
	warm := make([]func() error, 20)
	for i := range warm {
		warm[i] = func() error { return db.Ping(ctx) }
	}
	together(warm...)

	fns := make([]func() error, len(leaves))
	for i, path := range leaves {
		fns[i] = func() error {
			ev, err := eventOf(db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: path, State: signoff.ItemDone}, as(alice)))
			if err == nil && ev.Seq == 0 {
				err = fmt.Errorf("tick %s recorded no event", path)
			}
			return err
		}
	}
	for i, err := range together(fns...) {
		if err != nil {
			t.Errorf("tick %s: %v", leaves[i], err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	got := reload(t, db, d)
	if got.AuditSeq != 1+20 || got.ChecklistRev != 20 || got.Status != signoff.StatusInProgress {
		t.Fatalf("after 20 ticks: seq %d rev %d status %s", got.AuditSeq, got.ChecklistRev, got.Status)
	}
	for _, path := range leaves {
		if it := item(t, db, d, path); it.State != signoff.ItemDone || it.StateBy == nil {
			t.Fatalf("tick of %s lost: %+v", path, it)
		}
	}
	evs := checkChain(t, db, d.ID)
	seen := map[string]bool{}
	for _, ev := range evs[1:] {
		seen[ev.Target] = true
	}
	if len(seen) != 20 {
		t.Fatalf("events name %d distinct items; want 20", len(seen))
	}
}

func TestConcurrentTicksOnTheSameItemAreBothRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 8})
	alice := addUser(t, db, "Alice Chen")
	bob := addUser(t, db, "Bob Ortiz")
	d := newSmallDeployment(t, db, alice, "voxflow-api")

	for round, path := range smallLeaves {
		seq := reload(t, db, d).AuditSeq
		errs := together(
			func() error {
				_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: path, State: signoff.ItemDone}, as(alice))
				return err
			},
			func() error {
				_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: path, State: signoff.ItemNA, NAReason: "bob says n/a"}, as(bob))
				return err
			},
		)
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		evs := events(t, db, d.ID)
		if int64(len(evs)) != seq+2 {
			t.Fatalf("round %d: %d events; want %d", round, len(evs), seq+2)
		}
		first, second := evs[seq], evs[seq+1]
		_, a1 := itemChange(t, first)
		b2, a2 := itemChange(t, second)
		if first.Target != "item/"+path || second.Target != "item/"+path || a1.State == a2.State {
			t.Fatalf("round %d: events %s→%s and %s→%s", round, first.Target, a1.State, second.Target, a2.State)
		}
		// The later event saw the earlier one's result.
		if b2.State != a1.State {
			t.Fatalf("round %d: second event's before %s; the first left %s", round, b2.State, a1.State)
		}
		it := item(t, db, d, path)
		if it.State != a2.State || it.NAReason != a2.NAReason || it.StateBy == nil || it.StateBy.ID != second.Actor.ID {
			t.Fatalf("round %d: item %+v; the later event says %+v by %d", round, it, a2, second.Actor.ID)
		}
	}
	checkChain(t, db, d.ID)
}

func TestConcurrentWritesToDifferentDeploymentsDoNotBlockEachOther(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 8})
	alice := addUser(t, db, "Alice Chen")
	a := newSmallDeployment(t, db, alice, "service-a")
	b := newSmallDeployment(t, db, alice, "service-b")

	// Another connection holds deployment A's row lock, as a long write
	// to A would.
	holder, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			if err := holder.Rollback(ctx); err != nil {
				t.Error(err)
			}
		}
	}
	defer release()
	var holderPID int32
	if err := holder.QueryRow(ctx, `SELECT pg_backend_pid() FROM deployments WHERE id = $1 FOR UPDATE`, a.ID).Scan(&holderPID); err != nil {
		t.Fatal(err)
	}

	// B goes ahead while A is held.
	bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := db.SetItemState(bctx, b.ID, signoff.ItemChange{Path: "1.2.1", State: signoff.ItemDone}, as(alice)); err != nil {
		t.Fatalf("tick on B while A is locked: %v", err)
	}

	// A waits: with a short deadline it gives up, having written nothing.
	short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	_, err = db.SetItemState(short, a.ID, signoff.ItemChange{Path: "1.2.1", State: signoff.ItemDone}, as(alice))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) && !postgres.IsUnavailable(err) {
		t.Fatalf("tick on A while it is locked: %v; want it to wait until the deadline", err)
	}
	if got := reload(t, db, a); got.AuditSeq != 1 {
		t.Fatalf("timed-out tick on A wrote: seq %d", got.AuditSeq)
	}

	// A tick on A started now is blocked on the lock held by holder...
	done := make(chan error, 1)
	go func() {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := db.SetItemState(actx, a.ID, signoff.ItemChange{Path: "1.2.2", State: signoff.ItemDone}, as(alice))
		done <- err
	}()
	waitCtx, cancel3 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel3()
	for {
		var waiting bool
		err := db.Pool().QueryRow(waitCtx, `
			SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			               WHERE $1 = ANY (pg_blocking_pids(pid)))`, holderPID).Scan(&waiting)
		if err != nil {
			t.Fatalf("the tick on A never queued behind the lock: %v", err)
		}
		if waiting {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("tick on A finished while A was locked: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// ...and B is still free meanwhile.
	if _, err := db.SetItemState(bctx, b.ID, signoff.ItemChange{Path: "1.2.2", State: signoff.ItemDone}, as(alice)); err != nil {
		t.Fatalf("second tick on B while A is locked: %v", err)
	}
	// Releasing A lets its tick through.
	release()
	if err := <-done; err != nil {
		t.Fatalf("tick on A after release: %v", err)
	}
	if got := reload(t, db, a); got.AuditSeq != 2 {
		t.Fatalf("A after release: seq %d; want 2", got.AuditSeq)
	}
	if got := reload(t, db, b); got.AuditSeq != 3 {
		t.Fatalf("B: seq %d; want 3", got.AuditSeq)
	}
	checkChain(t, db, a.ID)
	checkChain(t, db, b.ID)
}

func TestRaceLastTwoSlotsSignedAtOnceThenFinalApproval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 8})
	roles := []string{"Deployment Engineer", "Database Administrator", "Security Engineer", "DevOps Lead",
		"Product Manager", "Engineering Manager", "Operations Manager", "CTO/Technical Director"}
	var people []*signoff.User
	for i, r := range roles {
		people = append(people, addUser(t, db, fmt.Sprintf("Signer %d", i+1), r))
	}
	d := newDeployment(t, db, people[0])
	resolveAll(t, db, d, people[0])
	for slot := 1; slot <= 5; slot++ {
		mustSign(t, db, d, slot, people[slot-1])
	}
	var sigs [2]*signoff.Signature
	errs := together(
		func() (err error) { sigs[0], err = signAs(db, d, 6, people[5]); return err },
		func() (err error) { sigs[1], err = signAs(db, d, 7, people[6]); return err },
	)
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("signing the last two slots at once: %v", err)
	}
	if sigs[0].AuditSeq == sigs[1].AuditSeq || !bytes.Equal(sigs[0].ChecklistHash, sigs[1].ChecklistHash) {
		t.Fatalf("simultaneous signatures: seq %d and %d, hashes %x and %x",
			sigs[0].AuditSeq, sigs[1].AuditSeq, sigs[0].ChecklistHash, sigs[1].ChecklistHash)
	}
	mustSign(t, db, d, 8, people[7])

	got := reload(t, db, d)
	if got.Status != signoff.StatusCompleted || !got.Locked() {
		t.Fatalf("after final approval: %s locked %v", got.Status, got.Locked())
	}
	all, err := db.Signatures(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	perSlot := map[int]int{}
	for _, s := range all {
		if s.EndedAt != nil {
			t.Fatalf("signature on slot %d ended: %+v", s.Slot, s)
		}
		perSlot[s.Slot]++
	}
	for slot := 1; slot <= 8; slot++ {
		if perSlot[slot] != 1 {
			t.Fatalf("slot %d has %d signatures", slot, perSlot[slot])
		}
	}
	evs := checkChain(t, db, d.ID)
	if last := evs[len(evs)-1]; last.Action != signoff.ActSignoffSign || last.Target != "slot/8" {
		t.Fatalf("last event %s %s", last.Action, last.Target)
	}
}

// Two sign-offs racing a tick (issue 3): two people sign their slots at
// the same moment as a third person changes the checklist, round after
// round. Whatever order the database puts them in, no signature attests to
// a checklist other than the one the audit log says it saw.
//
// A free race mostly lets the tick win (a signature checks a password
// first), so most rounds line the three up behind a held lock on the
// deployment, arriving in a chosen order, and then let them all go at
// once: every order of tick and signatures is exercised.
func TestRaceTwoSignaturesAgainstTickAlwaysAttestToTheirHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 12})
	team := newSignTeam(t, db)
	bob := team.other
	signers := []struct {
		slot int
		who  *signoff.User
	}{{1, team.eng}, {2, team.dba}}
	// Arrival orders at the lock (0, 1: the signatures; 2: the tick);
	// nil is a free race.
	arrivals := [][]int{nil, {2, 0, 1}, {0, 2, 1}, {1, 0, 2}}
	orders := map[string]int{}
	signedBeforeTick, signedAfterTick := 0, 0
	for round := range 16 {
		d := newSmallDeployment(t, db, team.eng, fmt.Sprintf("svc-%d", round))
		resolveSmall(t, db, d, team.eng)
		seq := reload(t, db, d).AuditSeq
		// Half the rounds keep the checklist resolved (done → N/A); the
		// others reopen an item, so a signature after it must be refused.
		reopen := round/len(arrivals)%2 == 1
		change := signoff.ItemChange{Path: "1.2.1", State: signoff.ItemNA, NAReason: "covered elsewhere"}
		if reopen {
			change = signoff.ItemChange{Path: "1.2.1", State: signoff.ItemOpen}
		}
		var sigs [2]*signoff.Signature
		var signErrs [2]error
		var tickEv signoff.Event
		fns := []func() error{
			func() error { sigs[0], signErrs[0] = signAs(db, d, signers[0].slot, signers[0].who); return nil },
			func() error { sigs[1], signErrs[1] = signAs(db, d, signers[1].slot, signers[1].who); return nil },
			func() (err error) { tickEv, err = eventOf(db.SetItemState(ctx, d.ID, change, as(bob))); return err },
		}
		var errs []error
		if arrival := arrivals[round%len(arrivals)]; arrival == nil {
			errs = together(fns...)
		} else {
			errs = queuedBehindLock(t, db, d, arrival, fns)
		}
		if errs[2] != nil {
			t.Fatalf("round %d: tick: %v", round, errs[2])
		}

		// The log holds the tick and exactly the signatures that succeeded.
		signed := 0
		order := []string{"", "", ""}
		order[tickEv.Seq-seq-1] = "tick"
		for i, sig := range sigs {
			slot := signers[i].slot
			if err := signErrs[i]; err != nil {
				// Only legitimate when the tick came first and reopened an item.
				if !reopen || signoff.ErrorCode(err) != signoff.ECONFLICT {
					t.Fatalf("round %d: slot %d: %v", round, slot, err)
				}
				if n := sqlInt(t, db, `SELECT count(*) FROM signoffs WHERE deployment_id = $1 AND slot = $2`, d.ID, slot); n != 0 {
					t.Fatalf("round %d: refused signature on slot %d stored", round, slot)
				}
				continue
			}
			signed++
			order[sig.AuditSeq-seq-1] = fmt.Sprintf("sign %d", slot)
			// Whatever the order, the hash is the state as of the
			// signature's place in the log.
			replayed := stateHashAsOf(t, db, d, sig.AuditSeq)
			if !bytes.Equal(sig.ChecklistHash, replayed[:]) {
				t.Fatalf("round %d: slot %d signed at seq %d attests to %x; the log says the state was %x",
					round, slot, sig.AuditSeq, sig.ChecklistHash, replayed)
			}
			current := currentStateHash(t, db, d)
			state := slotState(t, db, d, slot)
			if tickEv.Seq < sig.AuditSeq {
				signedAfterTick++
				if !bytes.Equal(sig.ChecklistHash, current[:]) || state != signoff.SlotSigned {
					t.Fatalf("round %d: slot %d signed after the tick but hash current=%v, slot %s",
						round, slot, bytes.Equal(sig.ChecklistHash, current[:]), state)
				}
			} else {
				signedBeforeTick++
				if bytes.Equal(sig.ChecklistHash, current[:]) || state != signoff.SlotStale {
					t.Fatalf("round %d: the tick followed slot %d's signature but hash current=%v, slot %s",
						round, slot, bytes.Equal(sig.ChecklistHash, current[:]), state)
				}
			}
		}
		if got := reload(t, db, d).AuditSeq; got != seq+1+int64(signed) {
			t.Fatalf("round %d: %d events for a tick and %d signatures", round, got-seq, signed)
		}
		// Two signatures on the same side of the tick attest to the same
		// checklist; on opposite sides, to different ones.
		if signed == 2 {
			same := bytes.Equal(sigs[0].ChecklistHash, sigs[1].ChecklistHash)
			sameSide := (tickEv.Seq < sigs[0].AuditSeq) == (tickEv.Seq < sigs[1].AuditSeq)
			if same != sameSide {
				t.Fatalf("round %d: order %v but the two hashes equal=%v", round, order, same)
			}
		}
		for i := 1 + signed; i < 3; i++ {
			order[i] = "refused"
		}
		orders[strings.Join(order, ", ")]++
		checkChain(t, db, d.ID)
	}
	t.Logf("orders seen: %v", orders)
	if signedBeforeTick == 0 || signedAfterTick == 0 {
		t.Fatalf("%d signatures landed before the tick and %d after; the race needs both", signedBeforeTick, signedAfterTick)
	}
}

// queuedBehindLock holds deployment d's row lock, starts fns in the given
// order, each only once the previous one waits on that lock, then releases
// the lock so they proceed in the database's order, and returns their
// errors.
func queuedBehindLock(t *testing.T, db *postgres.DB, d *signoff.Deployment, order []int, fns []func() error) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	holder, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(context.Background())
	if _, err := holder.Exec(ctx, `SELECT 1 FROM deployments WHERE id = $1 FOR UPDATE`, d.ID); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for n, i := range order {
		wg.Go(func() { errs[i] = fns[i]() })
		for {
			var waiting int
			if err := db.Pool().QueryRow(ctx, `
				SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'
				  AND wait_event IN ('transactionid', 'tuple')`).Scan(&waiting); err != nil {
				t.Fatalf("waiting for %d writers to queue: %v", n+1, err)
			}
			if waiting == n+1 {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	if err := holder.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	return errs
}

// System changes made at once (people given roles while roles are being
// created and a template imported, as when the server starts while a load
// generator signs its people up) take turns on the system chain: none
// fails, none deadlocks, and the chain stays whole.
func TestSystemChangesAtOnceTakeTurns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 12})
	for round := range 3 {
		var fns []func() error
		for i := range 4 {
			roles := []string{fmt.Sprintf("Role %d-%d", round, i), fmt.Sprintf("Role %d-%d", round, (i+1)%4)}
			fns = append(fns,
				func() error {
					_, err := db.CreateRoles(ctx, roles, importer)
					return err
				},
				func() error {
					_, err := db.CreateUser(ctx, signoff.NewUser{Email: fmt.Sprintf("p%d-%d@example.com", round, i),
						Name: fmt.Sprintf("Person %d-%d", round, i), Password: testPassword, Roles: roles}, importer)
					if signoff.ErrorCode(err) == signoff.EINVALID { // its role not made yet: a person's mistake, not a fault
						return nil
					}
					return err
				})
		}
		fns = append(fns, func() error {
			_, _, err := db.ImportTemplate(ctx, []byte(smallTemplate), "", importer)
			return err
		})
		for _, err := range together(fns...) {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	checkChain(t, db, 0)
}
