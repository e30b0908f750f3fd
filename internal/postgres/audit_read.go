package postgres

import (
	"context"
	"fmt"

	"github.com/signoff/signoff/internal/signoff"
)

// Events returns a deployment's audit events in chain order, from seq after
// onwards (after = 0 for all). deploymentID 0 reads the system chain.
func (db *DB) Events(ctx context.Context, deploymentID int64, after int64, limit int) ([]signoff.Event, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := db.pool.Query(ctx, `
		SELECT id, coalesce(deployment_id, 0), seq, at, coalesce(actor_id, 0), actor_name,
		       action, target, payload, prev_hash, hash
		FROM audit_events
		WHERE coalesce(deployment_id, 0) = $1 AND seq > $2
		ORDER BY seq
		LIMIT $3`, deploymentID, after, limit)
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
