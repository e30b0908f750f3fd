package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// SetItemState ticks, unticks or marks N/A one item, and reads, in the
// round trip that commits, what showing the change needs (the item's
// top-level block, progress by section and the slots, as the change left
// them). Marking a parent N/A marks every open item below it N/A with the
// same reason, in one event; ticking a parent is refused, since its state
// follows its sub-items'. Asking for the state an item already has
// records nothing: the update's Event is then zero.
//
// Every change to an item's state, from a page, a form or the API, takes
// this one path: it waits in its deployment's line and is written by
// writeItemStates, alone or with the ticks that arrived beside it
// (tick_line.go).
//
// Once the change commits it is answered as made, whatever happens next:
// if the reads fail, the update carries its Event and why they failed
// (Unread). Under an idempotency key that an earlier request's change
// holds, nothing is written and the update is read afresh, its Event zero.
func (db *DB) SetItemState(ctx context.Context, deploymentID int64, c signoff.ItemChange, actor signoff.EventActor) (*signoff.ItemUpdate, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	key := idempotencyKeyOf(ctx)
	if key != nil {
		if _, err := db.IdempotentAnswer(ctx, key); err != nil {
			return nil, err
		}
		if key.Replayed() {
			return db.ItemBlock(ctx, deploymentID, signoff.TopPath(c.Path))
		}
	}
	return db.ticks.tick(ctx, db, deploymentID, itemChange{change: c, actor: actor, key: key})
}

// itemChange is one change waiting to be written, who asked for it, and
// the idempotency key it claims, if any.
type itemChange struct {
	change signoff.ItemChange
	actor  signoff.EventActor
	key    *IdempotencyKey
}

// itemResult is one change's answer: its update or why it was refused.
type itemResult struct {
	update *signoff.ItemUpdate
	err    error
}

// setItemStatesSQL changes the items of several changes to one deployment
// ($1) in one statement, given as arrays in arrival order: each change's
// item, or, for a parent marked N/A, the open leaves of its block (the
// items after it up to the next one at its level or above, a short range
// of the position index). It answers one row per change and leaf changed,
// in arrival order: whether the deployment has the item (has_children is
// NULL if not), and each leaf changed with the state it had. Leaves
// already in the state asked are left alone, and a ticked parent changes
// nothing: the caller answers those.
//
// Its plan is generic (writeItemStates), made without knowing how many
// changes come, so its shape must not depend on the table's statistics:
// each change finds its item by one probe of the (deployment, path)
// index, a parent's open leaves by one range of the position index (the
// OFFSETs keep the planner from joining the changes to every item of the
// deployment instead), and the UPDATE finds its rows by their ids (the
// ANY: with statistics, the planner otherwise scanned the whole table,
// every deployment's items, and hashed it against the few leaves: 0.5 ms
// a batch with 11 deployments, growing with every one added).
//
// Each leaf's time is its change's event's: read under the deployment's
// lock, never behind the previous event, one microsecond apart in arrival
// order.
const setItemStatesSQL = `
	WITH change AS (
	    SELECT * FROM unnest($2::text[], $3::item_state[], $4::text[], $5::bigint[])
	             WITH ORDINALITY AS c (path, state, na_reason, actor, n)
	), item AS (
	    SELECT c.n, c.state, c.na_reason, c.actor, i.id, i.position, i.has_children,
	           CASE WHEN i.has_children AND c.state = 'na' THEN
	               coalesce((SELECT min(e.position) FROM deployment_items e
	                         WHERE e.deployment_id = $1 AND e.position > i.position
	                           AND e.level <= i.level), 2147483647)
	           END AS block_end
	    FROM change c
	    CROSS JOIN LATERAL (
	        SELECT i.id, i.position, i.has_children, i.level FROM deployment_items i
	        WHERE i.deployment_id = $1 AND i.path = c.path
	        OFFSET 0
	    ) i
	), leaf AS (
	    SELECT n, state, na_reason, actor, id FROM item WHERE NOT has_children
	    UNION ALL
	    SELECT p.n, p.state, p.na_reason, p.actor, k.id
	    FROM item p
	    CROSS JOIN LATERAL (
	        SELECT k.id FROM deployment_items k
	        WHERE k.deployment_id = $1
	          AND k.position > p.position AND k.position < p.block_end
	          AND NOT k.has_children AND k.state = 'open'
	        OFFSET 0
	    ) k
	    WHERE p.block_end IS NOT NULL
	), base AS (
	    SELECT greatest(clock_timestamp(), audit_at + interval '1 microsecond') AS at
	    FROM deployments WHERE id = $1
	), changed AS (
	    UPDATE deployment_items i
	    SET state = l.state, na_reason = l.na_reason, state_by = l.actor,
	        state_at = base.at + (l.n - 1) * interval '1 microsecond'
	    FROM leaf l, base, deployment_items old
	    WHERE i.id = ANY (ARRAY(SELECT id FROM leaf)) AND i.id = l.id AND old.id = i.id
	      AND (i.state, i.na_reason) IS DISTINCT FROM (l.state, l.na_reason)
	    RETURNING l.n, i.path, i.position, old.state AS was, old.na_reason AS was_reason, i.state_at
	)
	SELECT c.n, item.has_children, ch.path, ch.was, ch.was_reason, ch.state_at
	FROM change c
	LEFT JOIN item ON item.n = c.n
	LEFT JOIN changed ch ON ch.n = c.n
	ORDER BY c.n, ch.position`

// itemWritten is what setItemStatesSQL did for one change.
type itemWritten struct {
	known       bool // the deployment has the item
	hasChildren bool
	leaves      []string                // the leaves changed, in document order
	before      signoff.ItemStateBefore // the leaf's state before (a single leaf changed)
	at          time.Time               // when, the time of the change's event
}

// writeItemStates writes changes to one deployment's items in one
// transaction on tx (which it closes), and answers each: two round trips
// however many there are. The first sends BEGIN, the deployment's lock and
// every change; the second the events (one per change that changed
// something, chained in arrival order), COMMIT, and the reads that answer
// them. If the deployment is not writable, the rollback undoes the
// changes. The changes must touch disjoint items (takeBatch).
//
// Waiting for the lock ends when waiting is done (its askers have left):
// nothing is then written. Once the changes are made, the transaction
// goes on to COMMIT under ctx alone, so that no change made is reported
// as failed.
//
// An error for the whole batch comes back as err; an unknown item or a
// ticked parent fails its change alone, in its result.
func (db *DB) writeItemStates(ctx, waiting context.Context, tx *pipelinedTx, deploymentID int64, batch []itemChange) ([]itemResult, error) {
	defer tx.close(ctx)
	n := len(batch)
	paths, states, reasons, actors := make([]string, n), make([]string, n), make([]string, n), make([]*int64, n)
	for i, c := range batch {
		paths[i], states[i], reasons[i], actors[i] = c.change.Path, string(c.change.State), c.change.NAReason, nullID(c.actor.ID)
	}
	// The statement takes arrays, whose length a generic plan cannot know,
	// so PostgreSQL would plan it afresh every time (an eighth of its CPU
	// under load): its generic plan is the right one at any length.
	first := &pgx.Batch{}
	first.Queue(`SET LOCAL plan_cache_mode = force_generic_plan`)
	first.Queue(lockDeploymentSQL, deploymentID)
	first.Queue(setItemStatesSQL, deploymentID, paths, states, reasons, actors)
	br, err := tx.begin(waiting, first)
	if err != nil {
		return nil, fmt.Errorf("set item states: %w", err)
	}
	l, written, err := readItemStates(br, deploymentID, n)
	if err != nil {
		return nil, err
	}
	if err := l.writable(); err != nil {
		return nil, err
	}

	p := planItemStates(deploymentID, batch, written)
	last := &pgx.Batch{}
	var evs []signoff.Event
	if len(p.chs) > 0 {
		w := deploymentWrite{checklistChanged: true}
		if l.Status == signoff.StatusDraft {
			s := signoff.StatusInProgress
			w.status = &s // the first change starts the deployment
		}
		if evs, err = queueDeploymentEvents(last, l, p.chs, p.ats, w); err != nil {
			return nil, err
		}
	}
	keys := queueItemKeys(last, deploymentID, batch, p.recorded)
	blocks := newBlockReads(deploymentID, batch, p.answered)
	committed, err := tx.commit(ctx, last, execAll(last.Len()), blocks.batch, blocks.read)
	if committed && err != nil {
		// The changes stand; only the answers' reads failed: try them alone.
		err = blocks.readAgain(ctx, db)
	}
	switch {
	case errors.Is(err, errCommitUnanswered):
		return nil, fmt.Errorf("set item states: %w: %w", errOutcomeUnknown(checkDeployment(deploymentID)), err)
	case err != nil && !committed:
		return nil, fmt.Errorf("set item states: %w", err)
	}
	if len(p.recorded) > 0 {
		db.ticks.written.Add(int64(len(p.recorded)))
		db.ticks.transactions.Add(1)
	}
	for _, k := range keys {
		k.claimed = true
	}
	for _, i := range p.answered {
		p.results[i].update = blocks.update(batch[i].change.Path, err)
	}
	for k, i := range p.recorded {
		p.results[i].update.Event = evs[k]
	}
	return p.results, nil
}

// itemPlan is what a batch's changes did, as the first round trip told:
// each refused change's error, and the events to record.
type itemPlan struct {
	results  []itemResult
	chs      []signoff.Change // the events to record, in order
	ats      []time.Time      // their times
	recorded []int            // the changes with an event, in order
	answered []int            // the changes the reads answer
}

func planItemStates(deploymentID int64, batch []itemChange, written []itemWritten) *itemPlan {
	p := &itemPlan{results: make([]itemResult, len(batch))}
	for i, c := range batch {
		ch, err := itemStateChange(deploymentID, c, written[i])
		switch {
		case err != nil:
			p.results[i].err = err
			continue
		case ch != nil:
			p.chs = append(p.chs, *ch)
			p.ats = append(p.ats, written[i].at)
			p.recorded = append(p.recorded, i)
		}
		p.answered = append(p.answered, i)
	}
	return p
}

// execAll reads n statements' results that return no rows.
func execAll(n int) func(pgx.BatchResults) error {
	return func(br pgx.BatchResults) error {
		for range n {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("set item states: %w", err)
			}
		}
		return nil
	}
}

// queueItemKeys claims, with the changes that record an event, the
// idempotency keys they came with, and returns those keys. A key a twin
// request claimed first is left to it: ticks set states, so the twin's
// tick, written first, made this one change nothing.
func queueItemKeys(b *pgx.Batch, deploymentID int64, batch []itemChange, recorded []int) []*IdempotencyKey {
	var keys []*IdempotencyKey
	var scopes, names []string
	var hashes [][]byte
	for _, i := range recorded {
		if k := batch[i].key; k != nil {
			keys = append(keys, k)
			scopes, names, hashes = append(scopes, k.Scope), append(names, k.Key), append(hashes, k.Hash)
		}
	}
	if len(keys) > 0 {
		b.Queue(`
			INSERT INTO idempotency_keys (scope, key, request_hash, deployment_id)
			SELECT *, $4::bigint FROM unnest($1::text[], $2::text[], $3::bytea[])
			ON CONFLICT (scope, key) DO NOTHING`, scopes, names, hashes, deploymentID)
	}
	return keys
}

// readItemStates reads the first round trip's answers: the deployment's
// lock, then what setItemStatesSQL did for each of n changes.
func readItemStates(br pgx.BatchResults, deploymentID int64, n int) (*lockedDeployment, []itemWritten, error) {
	defer br.Close()
	if _, err := br.Exec(); err != nil { // SET LOCAL
		return nil, nil, fmt.Errorf("set item states: %w", err)
	}
	l, err := scanLocked(br.QueryRow(), deploymentID)
	if err != nil {
		return nil, nil, err
	}
	written := make([]itemWritten, n)
	rows, err := br.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("set item states: %w", err)
	}
	for rows.Next() {
		var k int
		var hasChildren *bool
		var path *string
		var was *signoff.ItemState
		var wasReason *string
		var at *time.Time
		if err := rows.Scan(&k, &hasChildren, &path, &was, &wasReason, &at); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("set item states: %w", err)
		}
		w := &written[k-1]
		w.known = hasChildren != nil
		w.hasChildren = w.known && *hasChildren
		if path != nil {
			w.leaves = append(w.leaves, *path)
			w.before = signoff.ItemStateBefore{State: *was, NAReason: *wasReason}
			w.at = at.UTC()
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("set item states: %w", err)
	}
	if err := br.Close(); err != nil {
		return nil, nil, fmt.Errorf("set item states: %w", err)
	}
	return l, written, nil
}

// itemStateChange is the audit record of what one change did: nil when it
// changed nothing (the item already had that state, or a parent marked N/A
// had no open leaf left), or why it was refused.
func itemStateChange(deploymentID int64, c itemChange, w itemWritten) (*signoff.Change, error) {
	switch {
	case !w.known:
		return nil, errNoItem(deploymentID, c.change.Path)
	case w.hasChildren && c.change.State != signoff.ItemNA:
		return nil, errTickedParent(c.change.Path)
	case len(w.leaves) == 0:
		return nil, nil
	}
	e := &signoff.ItemStateEvent{Before: w.before,
		After: signoff.ItemStateAfter{State: c.change.State, NAReason: c.change.NAReason}}
	if w.hasChildren {
		// One event for the parent, naming the leaves it closed.
		e.Before = signoff.ItemStateBefore{State: signoff.ItemOpen}
		e.After.Items = w.leaves
	}
	ch := signoff.NewChange(c.actor, signoff.ItemTarget(c.change.Path), e)
	return &ch, nil
}

// errNoItem answers a change to an item the deployment does not have.
func errNoItem(deploymentID int64, path string) error {
	return signoff.Errorf(signoff.ENOTFOUND, "Deployment %d has no item %s.", deploymentID, path)
}

// errTickedParent answers a tick of an item with sub-items, whose state
// follows theirs (only N/A may be set on it, closing them all).
func errTickedParent(path string) error {
	return signoff.Errorf(signoff.EINVALID, "Item %s has sub-items: tick those; it is done when they all are.", path)
}

// blockReads are the reads that answer a batch of changes, sent after
// its COMMIT in the same round trip: the deployment, progress and slots
// once, and the top-level block of each item changed.
type blockReads struct {
	deploymentID int64
	tops         []string       // the blocks to read, in order
	index        map[string]int // top path -> its place in tops
	batch        *pgx.Batch

	first  *signoff.ItemUpdate // the first block, with the deployment, progress and slots
	blocks [][]signoff.Item
}

func newBlockReads(deploymentID int64, batch []itemChange, answered []int) *blockReads {
	r := &blockReads{deploymentID: deploymentID, index: map[string]int{}, batch: &pgx.Batch{}}
	for _, i := range answered {
		top := signoff.TopPath(batch[i].change.Path)
		if _, ok := r.index[top]; !ok {
			r.index[top] = len(r.tops)
			r.tops = append(r.tops, top)
		}
	}
	if len(r.tops) > 0 {
		queueItemBlock(r.batch, deploymentID, r.tops[0])
		for _, top := range r.tops[1:] {
			r.batch.Queue(blockItemsSQL, deploymentID, top)
		}
	}
	r.blocks = make([][]signoff.Item, len(r.tops))
	return r
}

func (r *blockReads) read(br pgx.BatchResults) error {
	if len(r.tops) == 0 {
		return nil
	}
	var err error
	if r.first, err = readItemBlock(br, r.deploymentID); err != nil {
		return err
	}
	r.blocks[0] = r.first.Block
	for k := 1; k < len(r.tops); k++ {
		rows, err := br.Query()
		if r.blocks[k], err = scanItems(rows, err, r.deploymentID); err != nil {
			return err
		}
	}
	return nil
}

// readAgain makes the reads on their own, after they failed beside COMMIT.
func (r *blockReads) readAgain(ctx context.Context, db *DB) error {
	if len(r.tops) == 0 {
		return nil
	}
	var err error
	if r.first, err = db.ItemBlock(ctx, r.deploymentID, r.tops[0]); err != nil {
		return err
	}
	r.blocks[0] = r.first.Block
	for k := 1; k < len(r.tops); k++ {
		if r.blocks[k], err = db.Items(ctx, r.deploymentID, r.tops[k]); err != nil {
			return err
		}
	}
	return nil
}

// update is the answer to a change of the item at path; when the reads
// failed (unread), only the change's event will be in it.
func (r *blockReads) update(path string, unread error) *signoff.ItemUpdate {
	if unread != nil {
		return &signoff.ItemUpdate{Unread: unread}
	}
	return &signoff.ItemUpdate{Deployment: r.first.Deployment, Block: r.blocks[r.index[signoff.TopPath(path)]],
		Progress: r.first.Progress, Slots: r.first.Slots}
}
