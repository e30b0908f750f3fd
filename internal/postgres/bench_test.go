package postgres_test

import (
	"context"
	"testing"

	"github.com/signoff/signoff/internal/pgtest"
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
func BenchmarkTick(b *testing.B) {
	for _, mode := range []string{"change+answer", "answer"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			db := openDB(b)
			alice := addUser(b, db, "Alice Chen")
			d := newDeployment(b, db, alice)
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
				case "change+answer":
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
			b.ReportMetric(float64(cpu()-cpu0)/float64(b.N), "cpu-µs/op")
		})
	}
}
