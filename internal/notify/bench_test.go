package notify_test

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/riverqueue/river"

	"github.com/signoff/signoff/internal/notify"
	"github.com/signoff/signoff/internal/signoff"
)

// BenchmarkTickWithNotifier measures a store tick on the seed checklist
// (222 items) without a notifier and with one running, on one deployment
// and on 8 deployments ticked in parallel. A tick should cost about the
// same either way: nothing is added to the change's transaction, and the
// syncs that follow are coalesced.
//
//	go test -run '^$' -bench TickWithNotifier -benchtime 3000x ./internal/notify
func BenchmarkTickWithNotifier(b *testing.B) {
	for _, notifier := range []bool{false, true} {
		name := "none"
		if notifier {
			name = "notifier"
		}
		b.Run(name, func(b *testing.B) { benchTick(b, notifier, 1) })
		b.Run(name+"/parallel", func(b *testing.B) { benchTick(b, notifier, 8) })
	}
}

func benchTick(b *testing.B, notifier bool, deployments int) {
	e := newEnv(b, envOptions{noSMTP: true})
	alice := e.user("Alice Chen", "Deployment Engineer")
	var n *notify.Notifier
	if notifier {
		opt := e.options()
		opt.SyncDelay = notify.DefaultSyncDelay                                        // production's coalescing, not the tests' quicker one
		opt.River = func(c *river.Config) { c.Logger = slog.New(slog.DiscardHandler) } // production's timings
		n = e.notifier(e.db, opt)
		e.run(n)
	}
	ids := make([]int64, deployments)
	for i := range ids {
		d, err := e.db.CreateDeployment(e.ctx, signoff.NewDeployment{TemplateSlug: "voxflow-production-deployment-checklist",
			Service: fmt.Sprintf("svc-%d", i), Environment: "production", Version: "v1"}, as(alice))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = d.ID
	}
	if notifier {
		e.drain()
	}
	states := [2]signoff.ItemState{signoff.ItemDone, signoff.ItemOpen}
	tick := func(id int64, i int) {
		if _, err := e.db.SetItemState(e.ctx, id, signoff.ItemChange{Path: "1.1.1.1", State: states[i%2]}, as(alice)); err != nil {
			b.Error(err)
		}
	}
	var runs int64
	if notifier {
		runs = notify.SyncRuns(n)
	}
	b.ResetTimer()
	if deployments == 1 {
		i := 0
		for b.Loop() {
			tick(ids[0], i)
			i++
		}
	} else {
		var next atomic.Int64
		b.SetParallelism(max(1, deployments/runtime.GOMAXPROCS(0))) // one goroutine per deployment
		b.RunParallel(func(pb *testing.PB) {
			id := ids[int(next.Add(1)-1)%len(ids)]
			i := 0
			for pb.Next() {
				tick(id, i)
				i++
			}
		})
	}
	b.StopTimer()
	if notifier {
		e.drain()
		b.ReportMetric(float64(notify.SyncRuns(n)-runs)/float64(b.N), "syncs/op")
	}
}
