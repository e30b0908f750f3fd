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
// change again, and it is kept in two rows instead of some six hundred:
// its events and their log entries leave for one row of
// audit_sealed_chains (the payloads one per line, which PostgreSQL
// compresses tenfold, the events' ids and leaves in the log, and the last
// one's hash), and its items for one row of deployment_items_sealed (each
// row in one JSON array). seal_deployment, a function the database
// runs as the tables' owner, does the move, and a row of audit_events may
// be deleted only when a sealed chain holds it. Every column of an event's
// row is a field of its payload and every hash follows from the payloads,
// so the events read back from a seal are the rows as they were; items are
// read through the view deployment_items_all.

// sealBatch bounds the deployments one SealDeployments call seals: each
// takes 15 to 35 ms, and the integrator waits for them.
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
	var s seal
	err := q.QueryRow(ctx, `
		SELECT events, ids, payloads FROM audit_sealed_chains
		WHERE deployment_id = $1 AND events > $2`, deploymentID, after).Scan(&s.events, &s.ids, &s.payloads)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sealed events of deployment %d: %w", deploymentID, err)
	}
	out, err := s.unseal(deploymentID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sealed events of deployment %d: %w", deploymentID, err)
	}
	return out, nil
}

// seal is what a reader of events takes of a row of audit_sealed_chains.
type seal struct {
	events   int64
	ids      []int64
	payloads string
}

// unseal rebuilds the events after seq after (at most limit) of a sealed
// chain: each row's columns from its payload's envelope, its hash as the
// chain makes it (SHA-256 of the hash before and the payload, as
// seal_deployment checked every stored hash to be). A payload changed
// since would change every hash from it on, the last one too: the head
// kept beside them and the transparency log's leaf no longer match it,
// and verification says so.
func (s seal) unseal(deploymentID, after int64, limit int) ([]signoff.Event, error) {
	if int64(len(s.ids)) != s.events {
		return nil, fmt.Errorf("a seal of %d events with %d ids", s.events, len(s.ids))
	}
	n := min(s.events-after, int64(limit))
	out := make([]signoff.Event, 0, n)
	rest := s.payloads
	prev := make([]byte, 32)
	for seq := int64(1); seq <= after+n; seq++ {
		line, tail, found := strings.Cut(rest, "\n")
		if !found && seq < s.events {
			return nil, fmt.Errorf("a seal of %d events with %d payloads", s.events, seq)
		}
		rest = tail
		hash := signoff.ChainHash(prev, []byte(line))
		if seq > after {
			e := signoff.Event{ID: s.ids[seq-1], DeploymentID: deploymentID, Seq: seq, Payload: line,
				PrevHash: prev, Hash: hash}
			if err := readEnvelope(&e); err != nil {
				return nil, fmt.Errorf("event %d: %w", seq, err)
			}
			out = append(out, e)
		}
		prev = hash
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
	if err := json.Unmarshal(envelope(e.Payload), &env); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	if env.Seq != e.Seq {
		return fmt.Errorf("payload of seq %d in place %d", env.Seq, e.Seq)
	}
	e.At, e.Action, e.Target, e.Actor = env.At.Local(), env.Action, env.Target, signoff.UserRef{ID: env.Actor.ID, Name: env.Actor.Name}
	return nil
}

// envelope is a payload cut before its before and after, closed: the
// envelope's fields come first in every payload (signoff.EncodePayload
// writes them in a fixed order), so a reader of the envelope need not scan
// the sides (5 KB for a deployment.create). A quote inside a JSON string is
// escaped, so the first `,"before":` or `,"after":` is the key itself; a
// payload with neither is read whole.
func envelope(payload string) []byte {
	cut := len(payload)
	for _, key := range []string{`,"before":`, `,"after":`} {
		if i := strings.Index(payload, key); i >= 0 && i < cut {
			cut = i
		}
	}
	if cut == len(payload) {
		return []byte(payload)
	}
	b := make([]byte, 0, cut+1)
	return append(append(b, payload[:cut]...), '}')
}
