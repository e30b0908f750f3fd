package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// Sealed deployments (migration 0021). Once a deployment has ended and
// every event of its chain is in the transparency log, nothing of it can
// change again, and it is kept in two rows instead of some four hundred:
// its events leave audit_events for one row of audit_sealed_chains (their
// payloads one per line, which PostgreSQL compresses tenfold, their hashes
// and their ids), and its items leave deployment_items for one row of
// deployment_items_sealed (each row as JSON, one per line). seal_deployment,
// a function the database runs as the tables' owner, does the move, and a
// row of audit_events may be deleted only when a sealed chain holds its id
// and hash. Every column of an event's row is a field of its payload, so
// the events read back from a seal are the rows as they were; items are
// read through the view deployment_items_all.

// sealBatch bounds the deployments one SealDeployments call seals: each
// takes about 15 ms, and the integrator waits for them.
const sealBatch = 50

// SealDeployments seals the ended deployments whose events are all in the
// transparency log, at most sealBatch of them, and returns how many it
// sealed. The integrator calls it after each integration; deployments not
// ready (an event still waiting for the log) are left for the next call.
// A chain that is not whole is an error, reported after the others are
// sealed.
func (db *DB) SealDeployments(ctx context.Context) (int, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id FROM deployments
		WHERE sealed_at IS NULL AND (locked_at IS NOT NULL OR status = 'aborted')
		ORDER BY id LIMIT $1`, sealBatch)
	if err != nil {
		return 0, fmt.Errorf("seal deployments: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("seal deployments: %w", err)
	}
	sealed := 0
	var errs []error
	for _, id := range ids {
		var n int
		if err := db.pool.QueryRow(ctx, `SELECT seal_deployment($1)`, id).Scan(&n); err != nil {
			if ctx.Err() != nil {
				return sealed, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("seal deployment %d: %w", id, err))
			continue
		}
		if n > 0 {
			sealed++
		}
	}
	return sealed, errors.Join(errs...)
}

// sealedEvents reads the events of deploymentID's sealed chain after seq
// after, at most limit; none when the chain is not sealed.
func sealedEvents(ctx context.Context, q querier, deploymentID, after int64, limit int) ([]signoff.Event, error) {
	var events int64
	var ids []int64
	var hashes []byte
	var payloads string
	err := q.QueryRow(ctx, `
		SELECT events, ids, hashes, payloads FROM audit_sealed_chains
		WHERE deployment_id = $1 AND events > $2`, deploymentID, after).Scan(&events, &ids, &hashes, &payloads)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sealed events of deployment %d: %w", deploymentID, err)
	}
	out, err := unseal(deploymentID, events, ids, hashes, payloads, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sealed events of deployment %d: %w", deploymentID, err)
	}
	return out, nil
}

// unseal rebuilds the events after seq after (at most limit) of a sealed
// chain: each row's columns from its payload's envelope, its hash from
// hashes and the one before it from the previous event's.
func unseal(deploymentID, events int64, ids []int64, hashes []byte, payloads string, after int64, limit int) ([]signoff.Event, error) {
	if int64(len(ids)) != events || int64(len(hashes)) != 32*events {
		return nil, fmt.Errorf("a seal of %d events with %d ids and %d bytes of hashes", events, len(ids), len(hashes))
	}
	n := min(events-after, int64(limit))
	out := make([]signoff.Event, 0, n)
	rest := payloads
	for seq := int64(1); seq <= after+n; seq++ {
		line, tail, found := strings.Cut(rest, "\n")
		if !found && seq < events {
			return nil, fmt.Errorf("a seal of %d events with %d payloads", events, seq)
		}
		rest = tail
		if seq <= after {
			continue
		}
		e := signoff.Event{ID: ids[seq-1], DeploymentID: deploymentID, Seq: seq, Payload: line,
			Hash: hashes[32*(seq-1) : 32*seq : 32*seq]}
		if seq == 1 {
			e.PrevHash = make([]byte, 32)
		} else {
			e.PrevHash = hashes[32*(seq-2) : 32*(seq-1) : 32*(seq-1)]
		}
		if err := readEnvelope(&e); err != nil {
			return nil, fmt.Errorf("event %d: %w", seq, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// readEnvelope sets the columns an event's row keeps beside its payload
// from the payload itself, where seal_deployment found them equal.
func readEnvelope(e *signoff.Event) error {
	var env struct {
		Seq    int64     `json:"seq"`
		At     time.Time `json:"at"`
		Action string    `json:"action"`
		Target string    `json:"target"`
		Actor  struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"actor"`
	}
	if err := json.Unmarshal([]byte(e.Payload), &env); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	if env.Seq != e.Seq {
		return fmt.Errorf("payload of seq %d in place %d", env.Seq, e.Seq)
	}
	e.At, e.Action, e.Target, e.Actor = env.At.Local(), env.Action, env.Target, signoff.UserRef{ID: env.Actor.ID, Name: env.Actor.Name}
	return nil
}
