package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// Ticks on one deployment are written one transaction at a time: each
// locks the deployment's row, so that its audit chain stays a chain. On
// release morning, when a whole team ticks one deployment at once, most
// of a tick's cost would be the transaction around it: the lock, the
// commit's flush, the reads that answer it. So ticks that arrive while
// their deployment is busy wait in line, and the next transaction takes
// the whole line at once (group commit): one lock, one statement that
// changes every item, one that appends every event (each its own, chained
// in arrival order, as if written one by one), one commit, one NOTIFY, and
// one set of reads that answers them all. A tick alone is written at once,
// as before. Each tick stays one change with one audit event, all or
// nothing: the transaction commits every tick it writes or none. Every
// tick is durable before its answer; a tick the checklist refuses (an
// unknown item, a ticked parent) fails alone, and a tick whose asker left
// while it waited in line is not written.

// maxTickBatch bounds one transaction's ticks, and so how long it holds
// the deployment.
const maxTickBatch = 64

// tickLines queues ticks by deployment, on this instance.
type tickLines struct {
	mu    sync.Mutex
	lines map[int64]*tickLine

	written, transactions atomic.Int64 // ticks written in batches, and their transactions
}

// TickBatching counts the ticks written together since the store opened,
// and the transactions that wrote them: how much waiting ticks shared.
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
	ctx    context.Context
	change signoff.ItemChange
	actor  signoff.EventActor
	done   chan tickResult // buffered: the writer never waits for the asker
}

type tickResult struct {
	ev  signoff.Event
	ic  *ItemContext
	err error
}

// tick queues one change and waits for its answer. The first tick on an
// idle deployment starts the goroutine that writes its line until it is
// empty.
func (db *DB) tick(ctx context.Context, deploymentID int64, c signoff.ItemChange, actor signoff.EventActor) (signoff.Event, *ItemContext, error) {
	req := &tickRequest{ctx: ctx, change: c, actor: actor, done: make(chan tickResult, 1)}
	db.ticks.mu.Lock()
	line := db.ticks.lines[deploymentID]
	if line == nil {
		line = &tickLine{}
		db.ticks.lines[deploymentID] = line
	}
	line.waiting = append(line.waiting, req)
	if !line.writing {
		line.writing = true
		go db.writeTicks(deploymentID, line)
	}
	db.ticks.mu.Unlock()
	select {
	case r := <-req.done:
		return r.ev, r.ic, r.err
	case <-ctx.Done():
	}
	// The asker left. A tick still in line is dropped: a failed request
	// changes nothing. One already taken into a transaction is answered
	// with what that transaction did.
	db.ticks.mu.Lock()
	if i := slices.Index(line.waiting, req); i >= 0 {
		line.waiting = slices.Delete(line.waiting, i, i+1)
		db.ticks.mu.Unlock()
		return signoff.Event{}, nil, ctx.Err()
	}
	db.ticks.mu.Unlock()
	r := <-req.done
	return r.ev, r.ic, r.err
}

// writeTicks writes a deployment's line, a batch at a time, until it is
// empty. It takes a connection first and the line after: ticks that
// arrive while it waits for one (the pool is shared by every deployment)
// join the batch.
func (db *DB) writeTicks(deploymentID int64, line *tickLine) {
	for {
		db.ticks.mu.Lock()
		if len(line.waiting) == 0 {
			line.writing = false
			delete(db.ticks.lines, deploymentID)
			db.ticks.mu.Unlock()
			return
		}
		first := line.waiting[0].ctx
		db.ticks.mu.Unlock()

		// The transaction serves several askers: none of them may cancel it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(first), 30*time.Second)
		tx, err := db.acquirePipelined(ctx)
		db.ticks.mu.Lock()
		batch := takeBatch(line)
		db.ticks.mu.Unlock()
		switch {
		case err != nil:
			for _, r := range batch {
				r.done <- tickResult{err: fmt.Errorf("set item state: %w", err)}
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
// at most one per item (a second tick of the same item waits for the next
// transaction, so each is written as its own change), and none whose
// asker has gone.
func takeBatch(line *tickLine) []*tickRequest {
	var batch, rest []*tickRequest
	paths := map[string]bool{}
	for _, r := range line.waiting {
		switch {
		case r.ctx.Err() != nil:
			r.done <- tickResult{err: r.ctx.Err()}
		case len(batch) < maxTickBatch && !paths[r.change.Path]:
			paths[r.change.Path] = true
			batch = append(batch, r)
		default:
			rest = append(rest, r)
		}
	}
	line.waiting = rest
	return batch
}

// writeBatch writes one batch in tx and answers each of its ticks. A
// parent marked N/A, which the batch does not write, is then written
// alone.
func (db *DB) writeBatch(ctx context.Context, tx *pipelinedTx, deploymentID int64, batch []*tickRequest) {
	answered := 0
	defer func() {
		// No request's handler is on this goroutine to recover a panic:
		// answer the rest of the batch and keep the line moving.
		if p := recover(); p != nil {
			db.logger.Error("tick batch panicked", "deployment", deploymentID, "panic", p)
			for _, r := range batch[answered:] {
				r.done <- tickResult{err: fmt.Errorf("set item state: internal error")}
			}
		}
	}()
	results, err := db.setItemStates(ctx, tx, deploymentID, batch)
	for i, r := range batch {
		answered = i
		switch {
		case err != nil:
			r.done <- tickResult{err: err}
		case results[i].ic == nil && results[i].err == nil:
			ev, ic, err := db.setItemState(r.ctx, deploymentID, r.change, r.actor, true)
			r.done <- tickResult{ev: ev, ic: ic, err: err}
		default:
			r.done <- results[i]
		}
		answered = i + 1
	}
}

// setItemStates changes several leaves of one deployment in one
// transaction on tx (which it closes), two round trips as for one: BEGIN, the deployment's lock
// and every item's update; then the events, COMMIT and the reads that
// answer them. A result with neither an ItemContext nor an error is a
// tick to write alone.
func (db *DB) setItemStates(ctx context.Context, tx *pipelinedTx, deploymentID int64, batch []*tickRequest) ([]tickResult, error) {
	defer tx.close(ctx)
	n := len(batch)
	paths, states, reasons, actors := make([]string, n), make([]string, n), make([]string, n), make([]*int64, n)
	for i, r := range batch {
		paths[i], states[i], reasons[i], actors[i] = r.change.Path, string(r.change.State), r.change.NAReason, nullID(r.actor.ID)
	}
	// Each item's time is its event's: under the lock, never behind the
	// previous event, one microsecond apart in arrival order.
	//
	// The statements take arrays, whose length a generic plan cannot know,
	// so PostgreSQL would plan them afresh every time (an eighth of its CPU
	// under load): their generic plans are the right ones at any length.
	first := &pgx.Batch{}
	first.Queue(`SET LOCAL plan_cache_mode = force_generic_plan`)
	first.Queue(lockDeploymentSQL, deploymentID)
	first.Queue(`
		UPDATE deployment_items i
		SET state = c.state, na_reason = c.na_reason, state_by = c.actor,
		    state_at = (SELECT greatest(clock_timestamp(), audit_at + interval '1 microsecond')
		                FROM deployments WHERE id = $1)
		               + (c.n - 1) * interval '1 microsecond'
		FROM unnest($2::text[], $3::item_state[], $4::text[], $5::bigint[])
		         WITH ORDINALITY AS c (path, state, na_reason, actor, n),
		     deployment_items old
		WHERE i.deployment_id = $1 AND i.path = c.path AND NOT i.has_children
		  AND (i.state, i.na_reason) IS DISTINCT FROM (c.state, c.na_reason)
		  AND old.id = i.id
		RETURNING c.n, old.state, old.na_reason, i.state_at`,
		deploymentID, paths, states, reasons, actors)
	br, err := tx.begin(ctx, first)
	if err != nil {
		return nil, fmt.Errorf("set item states: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, fmt.Errorf("set item states: %w", err)
	}
	l, err := scanLocked(br.QueryRow(), deploymentID)
	if err != nil {
		br.Close()
		return nil, err
	}
	type written struct {
		before ItemStateAfter
		at     time.Time
	}
	changed := map[int]written{} // by index in batch
	rows, err := br.Query()
	if err == nil {
		for rows.Next() {
			var k int
			var w written
			if err = rows.Scan(&k, &w.before.State, &w.before.NAReason, &w.at); err != nil {
				break
			}
			changed[k-1] = w
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil {
		br.Close()
		return nil, fmt.Errorf("set item states: %w", err)
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("set item states: %w", err)
	}
	if err := l.writable(); err != nil {
		return nil, err
	}
	// Every item changed is a leaf that exists. The others, rare, are
	// looked up: an item already in its state, an unknown one, a parent.
	parents := map[string]bool{} // by path: whether the item has sub-items
	for i := range changed {
		parents[batch[i].change.Path] = false
	}
	if len(changed) < n {
		rows, err := tx.conn.Query(ctx, `
			SELECT path, has_children FROM deployment_items
			WHERE deployment_id = $1 AND path = ANY($2)`, deploymentID, paths)
		if err != nil {
			return nil, fmt.Errorf("set item states: %w", err)
		}
		for rows.Next() {
			var path string
			var hasChildren bool
			if err := rows.Scan(&path, &hasChildren); err != nil {
				rows.Close()
				return nil, fmt.Errorf("set item states: %w", err)
			}
			parents[path] = hasChildren
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("set item states: %w", err)
		}
	}

	// The events, in arrival order, each at its item's time. A leaf that
	// already had its state is answered with the others; an unknown item
	// or a ticked parent gets the error it would get alone; a parent
	// marked N/A (which closes its sub-items) is written alone after.
	results := make([]tickResult, n)
	var chs []signoff.Change
	var ats []time.Time
	var idx, answered []int // ticks written; ticks answered by this batch's reads
	for i, r := range batch {
		hasChildren, known := parents[r.change.Path]
		w, ok := changed[i]
		switch {
		case !known:
			results[i].err = errNoItem(deploymentID, r.change.Path)
			continue
		case hasChildren && r.change.State != signoff.ItemNA:
			results[i].err = errTickedParent(r.change.Path)
			continue
		case hasChildren:
			continue // written alone
		case !ok:
			answered = append(answered, i) // nothing to record
			continue
		}
		answered = append(answered, i)
		ats = append(ats, w.at.UTC())
		chs = append(chs, signoff.Change{
			Actor: r.actor, Action: signoff.ActItemState, Target: "item/" + r.change.Path,
			Before: w.before, After: ItemStateAfter{State: r.change.State, NAReason: r.change.NAReason},
		})
		idx = append(idx, i)
	}
	last := &pgx.Batch{}
	var evs []signoff.Event
	if len(chs) > 0 {
		w := deploymentWrite{checklistChanged: true}
		if l.Status == signoff.StatusDraft {
			s := signoff.StatusInProgress
			w.status = &s // the first change starts the deployment
		}
		if evs, err = queueDeploymentEvents(last, l, chs, ats, w); err != nil {
			return nil, err
		}
	}
	// The answers' reads go after COMMIT, in the same round trip, one
	// block per top-level item changed.
	tops := map[string]int{} // top path -> its block's place among the reads
	var order []string
	for _, i := range answered {
		top := signoff.TopPath(batch[i].change.Path)
		if _, ok := tops[top]; !ok {
			tops[top] = len(order)
			order = append(order, top)
		}
	}
	then := &pgx.Batch{}
	if len(order) > 0 {
		queueItemContext(then, deploymentID, order[0])
		for _, top := range order[1:] {
			then.Queue(blockItemsSQL, deploymentID, top)
		}
	}
	var ic *ItemContext
	blocks := make([][]signoff.Item, len(order))
	committed, err := tx.commit(ctx, last, func(br pgx.BatchResults) error {
		if len(chs) > 0 {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("append audit events %s: %w", signoff.ActItemState, err)
			}
		}
		return nil
	}, then, func(br pgx.BatchResults) error {
		if len(order) == 0 {
			return nil
		}
		var err error
		if ic, err = readItemContext(br, deploymentID); err != nil {
			return err
		}
		blocks[0] = ic.Items
		for k := 1; k < len(order); k++ {
			rows, err := br.Query()
			if blocks[k], err = scanItems(rows, err, deploymentID); err != nil {
				return err
			}
		}
		return nil
	})
	if committed && err != nil {
		// The changes stand; only the answers' reads failed: try them alone.
		if ic, err = db.ItemContext(ctx, deploymentID, order[0]); err == nil {
			blocks[0] = ic.Items
			for k := 1; k < len(order) && err == nil; k++ {
				blocks[k], err = db.Items(ctx, deploymentID, order[k])
			}
		}
	}
	if err != nil {
		if committed {
			return nil, err
		}
		return nil, fmt.Errorf("set item states: %w", err)
	}
	if len(idx) > 0 {
		db.ticks.written.Add(int64(len(idx)))
		db.ticks.transactions.Add(1)
	}
	for k, i := range idx {
		results[i].ev = evs[k]
	}
	for _, i := range answered {
		own := *ic
		own.Items = blocks[tops[signoff.TopPath(batch[i].change.Path)]]
		results[i].ic = &own
	}
	return results, nil
}
