package postgres_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// BenchmarkTick measures one tick against the store, on the seed checklist:
// the change (a transaction that locks the deployment, changes one item and
// appends one audit event) with the reads its answer needs, and those
// reads alone. Besides
// the wall clock of one client it reports the CPU time per tick of this
// process and of the database's backends (cpu-µs/op): on a busy server,
// CPU time is what bounds how many ticks a second it answers.
//
//	go test -run '^$' -bench 'Tick$' -benchtime 2000x ./internal/postgres
//
// change+answer runs the transparency log as a server does (every event
// queued by a trigger, the integrator every second and once at the end, so
// every tick is in a signed checkpoint when the CPU is read);
// change+answer-without-log disables the trigger and runs no integrator:
// the difference is the log's cost per tick. change+answer-queue-only
// keeps the trigger and runs no integrator: the part of that cost a tick
// pays itself, in its transaction.
func BenchmarkTick(b *testing.B) {
	for _, mode := range []string{"change+answer", "change+answer-queue-only", "change+answer-without-log", "answer"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			db := openDB(b)
			alice := addUser(b, db, "Alice Chen")
			d := newDeployment(b, db, alice)
			// Statistics, as autovacuum gives any live database: without
			// them a fresh database plans the block's joins badly (the
			// answer took 7 ms instead of 0.3).
			if _, err := db.Pool().Exec(ctx, "ANALYZE"); err != nil {
				b.Fatal(err)
			}
			integrate := withLog(b, db, mode)
			states := [2]signoff.ItemState{signoff.ItemDone, signoff.ItemOpen}
			cpu := func() int64 {
				t, err := pgtest.CPUTime(ctx, db.Pool())
				if err != nil {
					b.Fatal(err)
				}
				return t.Microseconds()
			}
			i := 0
			cpu0 := cpu()
			for b.Loop() {
				c := signoff.ItemChange{Path: "1.1.1.1", State: states[i%2]}
				var ev signoff.Event
				var err error
				switch mode {
				case "change+answer", "change+answer-queue-only", "change+answer-without-log":
					ev, err = eventOf(db.SetItemState(ctx, d.ID, c, as(alice)))
				case "answer":
					_, err = db.ItemBlock(ctx, d.ID, "1.1.1")
					ev.Seq = 1
				}
				if err != nil {
					b.Fatal(err)
				}
				if ev.Seq == 0 {
					b.Fatal("a tick recorded nothing")
				}
				i++
			}
			integrate()
			b.ReportMetric(float64(cpu()-cpu0)/float64(b.N), "cpu-µs/op")
		})
	}
}

// withLog runs the transparency log's integrator every second, as a server
// does, and returns a function that stops it after a last integration; or,
// without the log, disables the trigger that queues events for it; or,
// queue only, neither.
func withLog(b *testing.B, db *postgres.DB, mode string) func() {
	b.Helper()
	ctx := context.Background()
	if mode == "change+answer-queue-only" || mode == "answer" {
		return func() {}
	}
	if mode == "change+answer-without-log" {
		if _, err := db.Pool().Exec(ctx, `ALTER TABLE audit_events DISABLE TRIGGER audit_events_enqueue`); err != nil {
			b.Fatal(err)
		}
		return func() {}
	}
	if _, err := db.SetLogKey(ctx, ed25519.NewKeyFromSeed(make([]byte, 32)), "bench.test/audit-log", nil); err != nil {
		b.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if _, err := db.IntegrateLog(ctx); err != nil {
					b.Error(err)
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		if _, err := db.IntegrateLog(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIntegrate measures the transparency log's integrator alone: the
// CPU per event it appends (sequencing, checking the chain, storing the
// leaf and the tree's hashes, the chain heads and a signed checkpoint),
// over b.N ticks written beforehand with the integrator stopped.
//
//	go test -run '^$' -bench 'Integrate$' -benchtime 2000x ./internal/postgres
func BenchmarkIntegrate(b *testing.B) {
	ctx := context.Background()
	db := openDB(b)
	alice := addUser(b, db, "Alice Chen")
	d := newDeployment(b, db, alice)
	if _, err := db.SetLogKey(ctx, ed25519.NewKeyFromSeed(make([]byte, 32)), "bench.test/audit-log", nil); err != nil {
		b.Fatal(err)
	}
	states := [2]signoff.ItemState{signoff.ItemDone, signoff.ItemOpen}
	for i := range b.N {
		if _, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1.1", State: states[i%2]}, as(alice)); err != nil {
			b.Fatal(err)
		}
	}
	before, err := pgtest.CPUTime(ctx, db.Pool())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	n, err := db.IntegrateLog(ctx)
	if err != nil || n < b.N {
		b.Fatalf("integrated %d of %d: %v", n, b.N, err)
	}
	b.StopTimer()
	after, err := pgtest.CPUTime(ctx, db.Pool())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((after-before).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkTickBatch is the load generator's spread phase in the store:
// five people tick at once on one deployment, each an item of a block of
// its own, so their ticks share a transaction (tick_line.go). One op is
// the five ticks; cpu-µs/tick is this process's and the backends' CPU per
// tick and answer, ticks/tx how many shared a transaction.
//
//	go test -run '^$' -bench 'TickBatch' -benchtime 1000x ./internal/postgres
func BenchmarkTickBatch(b *testing.B) {
	ctx := context.Background()
	db := openDB(b)
	d := newDeployment(b, db, addUser(b, db, "Alice Chen"))
	paths := []string{"1.1.1.1", "2.1.1.1", "3.1.1.1", "4.1.1.1", "5.1.1.1"}
	people := make([]*signoff.User, len(paths))
	for k := range people {
		people[k] = addUser(b, db, "Person "+paths[k])
	}
	if _, err := db.Pool().Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	cpu := func() int64 {
		t, err := pgtest.CPUTime(ctx, db.Pool())
		if err != nil {
			b.Fatal(err)
		}
		return t.Microseconds()
	}
	states := [2]signoff.ItemState{signoff.ItemDone, signoff.ItemOpen}
	ticks0, txs0 := db.TickBatching()
	cpu0 := cpu()
	i := 0
	for b.Loop() {
		errs := make(chan error, len(paths))
		for k, p := range paths {
			go func() {
				ev, err := eventOf(db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: p, State: states[i%2]}, as(people[k])))
				if err == nil && ev.Seq == 0 {
					err = errors.New("a tick recorded nothing")
				}
				errs <- err
			}()
		}
		for range paths {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		i++
	}
	ticks, txs := db.TickBatching()
	b.ReportMetric(float64(cpu()-cpu0)/float64(ticks-ticks0), "cpu-µs/tick")
	b.ReportMetric(float64(ticks-ticks0)/float64(txs-txs0), "ticks/tx")
}
