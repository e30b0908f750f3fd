package notify

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff/signoff/internal/postgres"
)

// syncQueue is an instance's list of deployments to sync soon, and the few
// workers that sync them. It lives in memory only: what it forgets (a
// crash, a stop) is found again by the catch-up sweep, because a
// deployment that needs syncing is one whose audit_seq is ahead of its
// notification cursor, in the database.
//
// It coalesces: a deployment asked for while it waits is not added twice,
// and one asked for while it is being synced is synced once more after
// it, no sooner than the coalescing delay. So a deployment ticked 50 times
// a second is synced about 1/delay times a second, and the cost of syncing
// is bounded by the workers, whatever the rate of changes.
type syncQueue struct {
	n        *Notifier
	workers  int
	retryCap time.Duration // a failed sync is tried again within this

	mu       sync.Mutex
	due      map[int64]time.Time // waiting, and when it may run
	running  map[int64]bool
	again    map[int64]time.Time // asked for while running: when to run once more
	failures map[int64]int       // consecutive failed syncs
	stopping bool
	wake     chan struct{} // capacity 1

	runs atomic.Int64 // syncs started, for tests
}

func newSyncQueue(n *Notifier, workers int, retryCap time.Duration) *syncQueue {
	return &syncQueue{n: n, workers: workers, retryCap: retryCap,
		due: map[int64]time.Time{}, running: map[int64]bool{}, again: map[int64]time.Time{},
		failures: map[int64]int{}, wake: make(chan struct{}, 1)}
}

// request asks for a deployment to be synced at or after at (the earliest
// time asked for wins).
func (q *syncQueue) request(id int64, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopping {
		return
	}
	pending := q.due
	if q.running[id] {
		pending = q.again
	}
	if t, ok := pending[id]; !ok || at.Before(t) {
		pending[id] = at
	}
	q.poke()
}

func (q *syncQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run starts due syncs on free workers until stop is closed, then runs
// every sync still waiting at once (without retrying any) and returns
// when none is left or ctx ends.
func (q *syncQueue) run(ctx context.Context, stop <-chan struct{}) {
	q.mu.Lock()
	q.stopping = false // a Notifier started again
	q.mu.Unlock()
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q.mu.Lock()
		now := time.Now()
		var next time.Time
		for id, at := range q.due {
			if len(q.running) >= q.workers {
				break
			}
			if at.After(now) && !q.stopping {
				if next.IsZero() || at.Before(next) {
					next = at
				}
				continue
			}
			delete(q.due, id)
			q.running[id] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				q.sync(ctx, id)
			}()
		}
		idle := q.stopping && len(q.due) == 0 && len(q.running) == 0
		q.mu.Unlock()
		if idle {
			return
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = time.Until(next)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-stop:
			stop = nil // heard once
			q.mu.Lock()
			q.stopping = true
			for id := range q.again {
				q.due[id] = time.Now()
			}
			clear(q.again)
			q.mu.Unlock()
		case <-q.wake:
		case <-timer.C:
		}
	}
}

// sync syncs one deployment and decides when, if ever, to sync it again.
func (q *syncQueue) sync(ctx context.Context, id int64) {
	q.runs.Add(1)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	err := q.n.sync(sctx, id, false)
	cancel()

	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.poke() // a worker is free
	delete(q.running, id)
	again, asked := q.again[id]
	delete(q.again, id)
	if q.stopping || ctx.Err() != nil {
		if asked {
			q.due[id] = time.Now()
		}
		return
	}
	now := time.Now()
	switch {
	case err == nil:
		delete(q.failures, id)
	case errors.Is(err, postgres.ErrNotifyBusy):
		// Another sync holds it (a forced one, or another instance's),
		// maybe since before the change that woke this one: look again
		// once it is done. That look is cheap when nothing is left.
		again, asked = now.Add(q.n.syncDelay), true
	default:
		q.failures[id]++
		wait := min(RetryDelay(q.failures[id]), q.retryCap)
		q.n.logger.Warn("notifications: sync failed", "deployment", id, "failures", q.failures[id],
			"retry_in", wait.String(), "err", err)
		again, asked = now.Add(wait), true
	}
	if asked {
		if t, ok := q.due[id]; !ok || again.Before(t) {
			q.due[id] = again
		}
	}
}
