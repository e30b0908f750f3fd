package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// Ticks on one deployment are written one transaction at a time: each
// locks the deployment's row, so that its audit chain stays a chain. On
// release morning, when a whole team ticks one deployment at once, most
// of a tick's cost would be the transaction around it: the lock, the
// commit's flush, the reads that answer it. So every change to an item's
// state waits in its deployment's line, and the line's writer takes
// whatever waits into its next transaction (group commit): one lock, one
// statement that changes every item, one that appends every event (each
// its own, chained in arrival order, as if written one by one), one
// commit, one NOTIFY, and one set of reads that answers them all. A tick
// that finds its deployment idle is a batch of one, written at once. Each
// tick stays one change with one audit event, all or nothing: the
// transaction commits every tick it writes or none. Every tick is durable
// before its answer; a tick the checklist refuses (an unknown item, a
// ticked parent) fails alone, and a tick whose asker left while it waited
// in line is not written.

// maxTickBatch bounds one transaction's ticks, and so how long it holds
// the deployment.
const maxTickBatch = 64

// tickLines queues ticks by deployment, on this instance.
type tickLines struct {
	mu    sync.Mutex
	lines map[int64]*tickLine

	written, transactions atomic.Int64 // ticks written, and the transactions that wrote them
}

// TickBatching counts the ticks written since the store opened, and the
// transactions that wrote them: how much waiting ticks shared.
func (db *DB) TickBatching() (ticks, transactions int64) {
	return db.ticks.written.Load(), db.ticks.transactions.Load()
}

// tickLine is one deployment's ticks in arrival order, and whether a
// goroutine is writing them.
type tickLine struct {
	waiting []*tickRequest
	writing bool
}

type tickRequest struct {
	ctx context.Context
	itemChange
	done chan itemResult // buffered: the writer never waits for the asker
}

// tick queues one change and waits for its answer. The first tick on an
// idle deployment starts the goroutine that writes its line until it is
// empty.
func (t *tickLines) tick(ctx context.Context, db *DB, deploymentID int64, c itemChange) (*signoff.ItemUpdate, error) {
	req := &tickRequest{ctx: ctx, itemChange: c, done: make(chan itemResult, 1)}
	t.mu.Lock()
	line := t.lines[deploymentID]
	if line == nil {
		line = &tickLine{}
		t.lines[deploymentID] = line
	}
	line.waiting = append(line.waiting, req)
	if !line.writing {
		line.writing = true
		go db.writeTicks(deploymentID, line)
	}
	t.mu.Unlock()
	select {
	case r := <-req.done:
		return r.update, r.err
	case <-ctx.Done():
	}
	// The asker left. A tick still in line is dropped: a failed request
	// changes nothing. One already taken into a transaction is answered
	// with what that transaction did.
	t.mu.Lock()
	if i := slices.Index(line.waiting, req); i >= 0 {
		line.waiting = slices.Delete(line.waiting, i, i+1)
		t.mu.Unlock()
		return nil, ctx.Err()
	}
	t.mu.Unlock()
	r := <-req.done
	if r.err != nil {
		return nil, errors.Join(ctx.Err(), r.err)
	}
	return r.update, nil
}

// writeTicks writes a deployment's line, a batch at a time, until it is
// empty. It takes a connection first and the line after: ticks that
// arrive while it waits for one (the pool is shared by every deployment)
// join the batch.
func (db *DB) writeTicks(deploymentID int64, line *tickLine) {
	t := &db.ticks
	for {
		t.mu.Lock()
		if len(line.waiting) == 0 {
			line.writing = false
			delete(t.lines, deploymentID)
			t.mu.Unlock()
			return
		}
		first := line.waiting[0].ctx
		t.mu.Unlock()

		// The transaction serves several askers: none of them may cancel it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(first), 30*time.Second)
		tx, err := db.acquirePipelined(ctx)
		t.mu.Lock()
		batch := takeBatch(line)
		t.mu.Unlock()
		switch {
		case err != nil:
			for _, r := range batch {
				r.done <- itemResult{err: fmt.Errorf("set item state: %w", err)}
			}
		case len(batch) == 0: // every asker left while it waited
			tx.close(ctx)
		default:
			db.writeBatch(ctx, tx, deploymentID, batch)
		}
		cancel()
	}
}

// takeBatch takes the waiting ticks to write together: in arrival order,
// none touching an item another touches (a second tick of the same item,
// or of an item below a parent marked N/A, waits for the next
// transaction, so each is written as its own change on the state the one
// before left), and none whose asker has gone.
func takeBatch(line *tickLine) []*tickRequest {
	var batch, rest []*tickRequest
	for _, r := range line.waiting {
		switch {
		case r.ctx.Err() != nil:
			r.done <- itemResult{err: r.ctx.Err()}
		case len(batch) < maxTickBatch && !overlapsAny(batch, r.change.Path):
			batch = append(batch, r)
		default:
			rest = append(rest, r)
		}
	}
	line.waiting = rest
	return batch
}

// overlapsAny reports whether a change to path may touch an item that a
// change in batch touches: the same item, or one above or below it.
func overlapsAny(batch []*tickRequest, path string) bool {
	for _, r := range batch {
		p := r.change.Path
		if p == path || strings.HasPrefix(path, p+".") || strings.HasPrefix(p, path+".") {
			return true
		}
	}
	return false
}

// untilAllLeave is ctx, cancelled once every asker of batch has left:
// a batch nobody waits for any more stops waiting for its deployment's
// lock, and writes nothing.
func untilAllLeave(ctx context.Context, batch []*tickRequest) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	var staying atomic.Int64
	staying.Store(int64(len(batch)))
	stops := make([]func() bool, len(batch))
	for i, r := range batch {
		stops[i] = context.AfterFunc(r.ctx, func() {
			if staying.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// errBatchPanicked answers the ticks of a batch whose writer panicked.
var errBatchPanicked = errors.New("set item state: internal error")

// writeBatch writes one batch in tx and answers each of its ticks.
func (db *DB) writeBatch(ctx context.Context, tx *pipelinedTx, deploymentID int64, batch []*tickRequest) {
	answered := 0
	defer func() {
		// No request's handler is on this goroutine to recover a panic:
		// answer the rest of the batch and keep the line moving.
		if p := recover(); p != nil {
			db.logger.Error("tick batch panicked", "deployment", deploymentID, "panic", p)
			for _, r := range batch[answered:] {
				r.done <- itemResult{err: errBatchPanicked}
			}
		}
	}()
	changes := make([]itemChange, len(batch))
	for i, r := range batch {
		changes[i] = r.itemChange
	}
	waiting, stop := untilAllLeave(ctx, batch)
	defer stop()
	results, err := db.writeItemStates(ctx, waiting, tx, deploymentID, changes)
	for i, r := range batch {
		if err != nil {
			r.done <- itemResult{err: err}
		} else {
			r.done <- results[i]
		}
		answered = i + 1
	}
}
