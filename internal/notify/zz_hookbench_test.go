package notify_test

import (
	"sync/atomic"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

// Temporary: a tick with and without the old per-event hook.
func benchTick(b *testing.B, hook, parallel bool) {
	e := newEnv(b, envOptions{noSMTP: true})
	owner := e.user("Olivia Owner")
	n := e.notifier(e.db, e.options()) // installs the hook (not started: inserts only)
	if !hook {
		e.db.OnEvent(nil)
	}
	_ = n
	d := e.deployment(owner)
	states := [2]signoff.ItemState{signoff.ItemDone, signoff.ItemOpen}
	if !parallel {
		i := 0
		for b.Loop() {
			if _, err := e.db.SetItemState(e.ctx, d.ID, signoff.ItemChange{Path: leaves[0], State: states[i%2]}, as(owner)); err != nil {
				b.Fatal(err)
			}
			i++
		}
		return
	}
	var g atomic.Int64
	b.SetParallelism(2) // 4 goroutines on 2 CPUs, each on its own item of one deployment
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		leaf := leaves[g.Add(1)-1]
		i := 0
		for pb.Next() {
			if _, err := e.db.SetItemState(e.ctx, d.ID, signoff.ItemChange{Path: leaf, State: states[i%2]}, as(owner)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkTickHook(b *testing.B)           { benchTick(b, true, false) }
func BenchmarkTickNoHook(b *testing.B)         { benchTick(b, false, false) }
func BenchmarkTickHotHook(b *testing.B)        { benchTick(b, true, true) }
func BenchmarkTickHotNoHook(b *testing.B)      { benchTick(b, false, true) }
