package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// NotifyChannel is the LISTEN/NOTIFY channel that carries "deployment:seq"
// after every committed deployment change, so every app instance can push
// the change to its live viewers.
const NotifyChannel = "signoff_deployment"

// lockedDeployment is a deployment row held FOR UPDATE for the rest of the
// transaction: it serialises every write to one deployment (and so its audit
// chain and the state its signatures attest to) without blocking others.
type lockedDeployment struct {
	ID           int64
	Status       signoff.Status
	LockedAt     *time.Time
	ChecklistRev int64
	AuditSeq     int64
	AuditHead    []byte
	TemplateVer  int64
	WentLiveAt   *time.Time
	Now          time.Time // the transaction's clock, used for every timestamp it writes
}

func (l *lockedDeployment) writable() error {
	d := signoff.Deployment{Status: l.Status, LockedAt: l.LockedAt}
	return d.Writable()
}

// The clock is read under the lock and never behind the previous event, so
// event times rise with the sequence.
const lockDeploymentSQL = `
	SELECT status, locked_at, checklist_rev, audit_seq, audit_head,
	       template_version_id, went_live_at,
	       greatest(clock_timestamp(), audit_at + interval '1 microsecond')
	FROM deployments
	WHERE id = $1
	FOR UPDATE`

func lockDeployment(ctx context.Context, tx pgx.Tx, id int64) (*lockedDeployment, error) {
	return scanLocked(tx.QueryRow(ctx, lockDeploymentSQL, id), id)
}

func scanLocked(row pgx.Row, id int64) (*lockedDeployment, error) {
	l := lockedDeployment{ID: id}
	err := row.Scan(&l.Status, &l.LockedAt, &l.ChecklistRev, &l.AuditSeq, &l.AuditHead,
		&l.TemplateVer, &l.WentLiveAt, &l.Now)
	if err != nil {
		return nil, notFound(err, "Deployment %d not found.", id)
	}
	l.Now = l.Now.UTC()
	return &l, nil
}

// deploymentWrite is what a change does to the deployment row besides
// extending the chain.
type deploymentWrite struct {
	checklistChanged bool            // bumps checklist_rev (stales signatures)
	status           *signoff.Status // a new status, if any
}

// deploymentChange is one change to a deployment, recorded as one event:
// the change's record and what it does to the deployment row.
type deploymentChange struct {
	signoff.Change
	write deploymentWrite
	// read, if set, reads what the change's answer needs, after its event
	// and before COMMIT: the answer is then made of committed facts, and
	// nothing read after the commit can fail the request.
	read func(tx pgx.Tx) error
}

// changeFunc makes a change in tx while the deployment is locked as l
// (and found writable) and returns what to record; nil when it changed
// nothing, and then nothing is committed or recorded.
type changeFunc func(tx pgx.Tx, l *lockedDeployment) (*deploymentChange, error)

// changeDeployment is the one shape of every change to a deployment but
// a tick's (tick_line.go): one transaction that claims the request's
// idempotency key if it has one, locks the deployment (serialising every
// write to it, and so its audit chain), refuses a deployment that may no
// longer change, lets change make the change, appends its one event and
// commits. It returns the event, or a zero event when change changed
// nothing, or when an earlier request with the key made the change (the
// key is then Replayed: nothing is done twice). what names the change in
// errors; a COMMIT left unanswered is signoff.EUNKNOWN.
func (db *DB) changeDeployment(ctx context.Context, id int64, what string, change changeFunc) (signoff.Event, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return signoff.Event{}, fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	key := idempotencyKeyOf(ctx)
	if key != nil {
		if fresh, err := key.claim(ctx, tx, id); err != nil || !fresh {
			return signoff.Event{}, err
		}
	}
	l, err := lockDeployment(ctx, tx, id)
	if err != nil {
		return signoff.Event{}, err
	}
	if err := l.writable(); err != nil {
		return signoff.Event{}, err
	}
	c, err := change(tx, l)
	if err != nil || c == nil {
		return signoff.Event{}, err
	}
	ev, err := db.appendDeploymentEvent(ctx, tx, l, c.Change, c.write)
	if err != nil {
		return signoff.Event{}, err
	}
	if c.read != nil {
		if err := c.read(tx); err != nil {
			return signoff.Event{}, err
		}
	}
	if err := commit(ctx, tx, what, checkDeployment(id)); err != nil {
		return signoff.Event{}, err
	}
	if key != nil {
		key.claimed = true
	}
	return ev, nil
}

// changeSystem is the one shape of every change to people, roles,
// templates, tokens, webhooks and setup: one transaction that claims the
// request's idempotency key if it has one, in which change makes the
// change and returns what to record, then its one event on the system
// chain, then commit. change returns nil when it changed nothing, and
// then nothing is committed or recorded and the event is zero; the event
// is zero too when an earlier request with the key made the change (the
// key is then Replayed). The chain is locked when the event is appended
// (appendSystemEvent), after the change's own row locks, as it always
// was; a change that must be serialised by it from the start (the first
// admin's setup) locks it itself. what names the change in errors; a
// COMMIT left unanswered is signoff.EUNKNOWN.
func (db *DB) changeSystem(ctx context.Context, what string, change func(tx pgx.Tx) (*signoff.Change, error)) (signoff.Event, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return signoff.Event{}, fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := lockSystemChain(ctx, tx, what); err != nil {
		return signoff.Event{}, err
	}
	key := idempotencyKeyOf(ctx)
	if key != nil {
		if fresh, err := key.claim(ctx, tx, 0); err != nil || !fresh {
			return signoff.Event{}, err
		}
	}
	c, err := change(tx)
	if err != nil || c == nil {
		return signoff.Event{}, err
	}
	ev, err := db.appendSystemEvent(ctx, tx, *c)
	if err != nil {
		return ev, err
	}
	if err := commit(ctx, tx, what, "Look at the page it was made on (or the system's audit log)"); err != nil {
		return signoff.Event{}, err
	}
	if key != nil {
		key.claimed = true
	}
	return ev, nil
}

// lockSystemChain takes the system chain's head before a system change
// touches anything else: system changes (people, roles, templates) then
// take turns from their first statement. Taken only when the event is
// appended, it let two of them lock rows the other needed first (a person
// given a role that a template import was creating): a deadlock.
func lockSystemChain(ctx context.Context, tx pgx.Tx, what string) error {
	if _, err := tx.Exec(ctx, `SELECT FROM audit_system_chain FOR UPDATE`); err != nil {
		return fmt.Errorf("%s: lock the system chain: %w", what, err)
	}
	return nil
}

// appendDeploymentEvent records one change on a locked deployment: it
// builds the canonical payload, extends the hash chain, updates the
// deployment row, in one statement.
func (db *DB) appendDeploymentEvent(ctx context.Context, tx pgx.Tx, l *lockedDeployment, ch signoff.Change, w deploymentWrite) (signoff.Event, error) {
	b := &pgx.Batch{}
	ev, err := queueDeploymentEvent(b, l, ch, w)
	if err != nil {
		return ev, err
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return ev, fmt.Errorf("append audit event %s: %w", ch.Action, err)
	}
	return ev, nil
}

// queueDeploymentEvent adds appendDeploymentEvent's statement to a batch
// (for the caller to send within the transaction that locked l) and
// advances l past it.
func queueDeploymentEvent(b *pgx.Batch, l *lockedDeployment, ch signoff.Change, w deploymentWrite) (signoff.Event, error) {
	evs, err := queueDeploymentEvents(b, l, []signoff.Change{ch}, nil, w)
	if err != nil {
		return signoff.Event{}, err
	}
	return evs[0], nil
}

// queueDeploymentEvents records several changes on a locked deployment in
// one statement: their events, chained in order, the deployment row as
// the last left it, and one NOTIFY. The events are timed ats, which must
// rise and not be behind l.Now, or, without ats, one microsecond apart
// from l.Now. Each change counts as a change to the checklist if w says
// so; w's status goes with the first.
func queueDeploymentEvents(b *pgx.Batch, l *lockedDeployment, chs []signoff.Change, ats []time.Time, w deploymentWrite) ([]signoff.Event, error) {
	evs := make([]signoff.Event, len(chs))
	n := len(chs)
	seqs, times, actorIDs := make([]int64, n), make([]time.Time, n), make([]*int64, n)
	actors, actions, targets, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	prevs, hashes := make([][]byte, n), make([][]byte, n)
	chain := "deployment/" + strconv.FormatInt(l.ID, 10)
	seq, head := l.AuditSeq, l.AuditHead
	for i, ch := range chs {
		if ats != nil {
			l.Now = ats[i]
		}
		ev, err := buildEvent(chain, seq+1, head, l.Now, ch)
		if err != nil {
			return nil, err
		}
		// A second event in one transaction must not share the first's time.
		l.Now = l.Now.Add(time.Microsecond)
		ev.DeploymentID = l.ID
		seq, head = ev.Seq, ev.Hash
		evs[i] = ev
		seqs[i], times[i], actorIDs[i] = ev.Seq, ev.At, nullID(ev.Actor.ID)
		actors[i], actions[i], targets[i], payloads[i] = ev.Actor.Name, ev.Action, ev.Target, ev.Payload
		prevs[i], hashes[i] = ev.PrevHash, ev.Hash
	}
	rev := int64(0)
	if w.checklistChanged {
		rev = int64(n)
	}
	last := evs[n-1]
	b.Queue(`
		WITH event AS (
		    INSERT INTO audit_events
		        (deployment_id, seq, at, actor_id, actor_name, action, target, payload, prev_hash, hash)
		    SELECT $1, * FROM unnest($2::bigint[], $3::timestamptz[], $4::bigint[], $5::text[],
		                             $6::text[], $7::text[], $8::text[], $9::bytea[], $10::bytea[])
		), deployment AS (
		    UPDATE deployments
		    SET audit_seq = $11,
		        audit_head = $12,
		        audit_at = $13,
		        checklist_rev = checklist_rev + $14,
		        status = coalesce($15::deployment_status, status),
		        updated_at = $13
		    WHERE id = $1
		)
		SELECT pg_notify('`+NotifyChannel+`', $1::text || ':' || $11::text)`,
		l.ID, seqs, times, actorIDs, actors, actions, targets, payloads, prevs, hashes,
		last.Seq, last.Hash, last.At, rev, w.status)
	l.AuditSeq, l.AuditHead = last.Seq, last.Hash
	l.ChecklistRev += rev
	if w.status != nil {
		l.Status = *w.status
	}
	return evs, nil
}

// appendSystemEvent records a change to people, roles, templates or tokens
// on the system chain. Its head row serialises system changes, which are rare.
func (db *DB) appendSystemEvent(ctx context.Context, tx pgx.Tx, ch signoff.Change) (signoff.Event, error) {
	var seq int64
	var head []byte
	var now time.Time
	err := tx.QueryRow(ctx, `
		SELECT seq, head, greatest(clock_timestamp(), at + interval '1 microsecond')
		FROM audit_system_chain FOR UPDATE`).Scan(&seq, &head, &now)
	if err != nil {
		return signoff.Event{}, fmt.Errorf("lock system audit chain: %w", err)
	}
	ev, err := buildEvent("system", seq+1, head, now.UTC(), ch)
	if err != nil {
		return ev, err
	}
	_, err = tx.Exec(ctx, `
		WITH event AS (
		    INSERT INTO audit_events
		        (deployment_id, seq, at, actor_id, actor_name, action, target, payload, prev_hash, hash)
		    VALUES (NULL, $1, $2, $3, $4, $5, $6, $7, $8, $9)
		)
		UPDATE audit_system_chain SET seq = $1, head = $9, at = $2`,
		ev.Seq, ev.At, nullID(ev.Actor.ID), ev.Actor.Name, ev.Action, ev.Target, ev.Payload, ev.PrevHash, ev.Hash)
	if err != nil {
		return ev, fmt.Errorf("append system audit event %s: %w", ch.Action, err)
	}
	return ev, nil
}

func buildEvent(chain string, seq int64, prev []byte, at time.Time, ch signoff.Change) (signoff.Event, error) {
	at = at.Truncate(time.Microsecond)
	p := signoff.EventPayload{V: 1, Chain: chain, Seq: seq, At: at.Format(signoff.TimeFormat),
		Actor: ch.Actor, Action: ch.Action, Target: ch.Target}
	payload, err := signoff.EncodePayload(p, ch.Before, ch.After)
	if err != nil {
		return signoff.Event{}, err
	}
	if len(prev) == 0 {
		prev = make([]byte, 32)
	}
	return signoff.Event{
		Seq: seq, At: at, Actor: signoff.UserRef{ID: ch.Actor.ID, Name: ch.Actor.Name},
		Action: ch.Action, Target: ch.Target, Payload: string(payload),
		PrevHash: prev, Hash: signoff.ChainHash(prev, payload),
	}, nil
}

// nullID stores 0 (the system actor) as NULL.
func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
