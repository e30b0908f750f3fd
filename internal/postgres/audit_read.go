package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// The reads of one chain's events, in chain order: a deployment's, and
// the system's (people, roles, templates). Each is served by its chain's
// unique index.
const (
	deploymentEventsSQL = `
		SELECT id, coalesce(deployment_id, 0), seq, at, coalesce(actor_id, 0), actor_name,
		       action, target, payload, prev_hash, hash
		FROM audit_events
		WHERE deployment_id = $1 AND seq > $2
		ORDER BY seq
		LIMIT $3`
	systemEventsSQL = `
		SELECT id, 0, seq, at, coalesce(actor_id, 0), actor_name,
		       action, target, payload, prev_hash, hash
		FROM audit_events
		WHERE deployment_id IS NULL AND seq > $1
		ORDER BY seq
		LIMIT $2`
)

// Events returns a deployment's audit events in chain order, from seq after
// onwards (after = 0 for all), at most limit (0: no limit). deploymentID 0
// reads the system chain.
func (db *DB) Events(ctx context.Context, deploymentID int64, after int64, limit int) ([]signoff.Event, error) {
	if deploymentID != 0 {
		return deploymentEvents(ctx, db.pool, deploymentID, after, limit)
	}
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := db.pool.Query(ctx, systemEventsSQL, after, limit)
	return scanEvents(rows, err, deploymentID)
}

// deploymentEvents is Events on q: the pool, or a transaction that reads
// the events with what else it reads (an export's snapshot, a
// notification run). An ended deployment's chain may be sealed (migration
// 0021): its first events are then one row of audit_sealed_chains, and
// only those appended after, if any, are rows of audit_events.
func deploymentEvents(ctx context.Context, q querier, deploymentID, after int64, limit int) ([]signoff.Event, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	out, err := sealedEvents(ctx, q, deploymentID, after, limit)
	if err != nil {
		return nil, err
	}
	if n := len(out); n > 0 {
		after, limit = out[n-1].Seq, limit-n
		if limit == 0 {
			return out, nil
		}
	}
	rows, err := q.Query(ctx, deploymentEventsSQL, deploymentID, after, limit)
	live, err := scanEvents(rows, err, deploymentID)
	if err != nil {
		return nil, err
	}
	if out == nil {
		return live, nil
	}
	return append(out, live...), nil
}

func scanEvents(rows pgx.Rows, err error, deploymentID int64) ([]signoff.Event, error) {
	if err != nil {
		return nil, fmt.Errorf("events of deployment %d: %w", deploymentID, err)
	}
	defer rows.Close()
	var out []signoff.Event
	for rows.Next() {
		var e signoff.Event
		if err := rows.Scan(&e.ID, &e.DeploymentID, &e.Seq, &e.At, &e.Actor.ID, &e.Actor.Name,
			&e.Action, &e.Target, &e.Payload, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("events of deployment %d: %w", deploymentID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
