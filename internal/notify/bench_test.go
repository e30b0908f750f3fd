//go:build unix

package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/signoff/signoff/internal/live"
	"github.com/signoff/signoff/internal/notify"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// BenchmarkTickWithNotifier measures a store tick on the seed checklist
// (222 items), on one deployment and on 8 deployments ticked in parallel:
// with nothing listening (none), with the live-update hub listening
// (hub), with the hub and a notifier on the one listener they share in the
// app (notifier), and with each on a listening connection of its own
// (separate), as before they shared one. Nothing is added to the change's
// transaction and the syncs that follow are coalesced, so what a notifier
// adds is mostly a listener's wake-up per change (docs/notifications.md).
// Besides the wall clock it reports the CPU time per tick of this process
// and of the database's backends (cpu-µs/op, the syncs that follow a run
// included), which other work on the machine disturbs less, and with a
// notifier the syncs per tick.
//
//	go test -run '^$' -bench TickWithNotifier -benchtime 3000x ./internal/notify
func BenchmarkTickWithNotifier(b *testing.B) {
	for _, setup := range []string{"none", "hub", "notifier", "separate"} {
		b.Run(setup, func(b *testing.B) { benchTick(b, setup, 1) })
		b.Run(setup+"/parallel", func(b *testing.B) { benchTick(b, setup, 8) })
	}
}

func benchTick(b *testing.B, setup string, deployments int) {
	e := newEnv(b, envOptions{noSMTP: true})
	alice := e.user("Alice Chen", "Deployment Engineer")
	notifier := setup == "notifier" || setup == "separate"
	var n *notify.Notifier
	if notifier {
		opt := e.options()
		opt.SyncDelay = notify.DefaultSyncDelay                                        // production's coalescing, not the tests' quicker one
		opt.River = func(c *river.Config) { c.Logger = slog.New(slog.DiscardHandler) } // production's timings
		n = e.notifier(e.db, opt)
	}
	if setup != "none" {
		logger := slog.New(slog.DiscardHandler)
		hub := live.NewHub(e.db, logger)
		ctx, cancel := context.WithCancel(e.ctx)
		var wg sync.WaitGroup
		if setup == "notifier" { // as the app runs them
			shared := postgres.NewListener(e.db.Pool(), logger)
			hub.ListenOn(shared)
			n.ListenOn(shared)
			wg.Go(func() { shared.Listen(ctx) })
		}
		wg.Go(func() { hub.Run(ctx) })
		b.Cleanup(func() { cancel(); wg.Wait() })
	}
	if notifier {
		e.run(n)
	}
	if setup != "none" {
		time.Sleep(500 * time.Millisecond) // to be listening
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
	cpu0 := e.cpuTime()
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
		time.Sleep(2 * notify.DefaultSyncDelay) // the last syncs are the ticks' cost too
	}
	if cpu1 := e.cpuTime(); cpu0 > 0 && cpu1 > cpu0 {
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	}
	if notifier {
		e.drain()
		b.ReportMetric(float64(notify.SyncRuns(n)-runs)/float64(b.N), "syncs/op")
	}
}

// cpuTime is pgtest.CPUTime for the test's database.
func (e *env) cpuTime() time.Duration {
	d, err := pgtest.CPUTime(e.ctx, e.db.Pool())
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}
