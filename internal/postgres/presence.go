package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// PresenceChannel is the LISTEN/NOTIFY channel that carries "deployment id"
// when the set of people watching that deployment changes.
const PresenceChannel = "signoff_presence"

// Who is watching a deployment is kept here, not in any one app instance,
// so that every instance shows the same list. A row is one live connection:
// the instance holding it (a random name it picks at start) and the
// connection's number there. Instances refresh their rows on a heartbeat;
// a row that stops being refreshed (its instance died) ages out.

// AddViewer records that a connection of instance watches a deployment,
// and tells every instance.
func (db *DB) AddViewer(ctx context.Context, instance string, connection, deploymentID int64, viewer signoff.UserRef) error {
	_, err := db.pool.Exec(ctx, `
		WITH v AS (
		    INSERT INTO live_viewers (instance, connection, deployment_id, user_id, user_name)
		    VALUES ($1, $2, $3, $4, $5)
		)
		SELECT pg_notify('`+PresenceChannel+`', $3::text)`, instance, connection, deploymentID, viewer.ID, viewer.Name)
	if err != nil {
		return fmt.Errorf("add viewer of deployment %d: %w", deploymentID, err)
	}
	return nil
}

// RemoveViewer forgets a connection that stopped watching a deployment,
// and tells every instance.
func (db *DB) RemoveViewer(ctx context.Context, instance string, connection, deploymentID int64) error {
	_, err := db.pool.Exec(ctx, `
		WITH v AS (DELETE FROM live_viewers WHERE instance = $1 AND connection = $2)
		SELECT pg_notify('`+PresenceChannel+`', $3::bigint::text)`, instance, connection, deploymentID)
	if err != nil {
		return fmt.Errorf("remove viewer of deployment %d: %w", deploymentID, err)
	}
	return nil
}

// viewersSQL lists the distinct people watching deployment $1 on any
// instance, counting only connections refreshed within $2.
const viewersSQL = `
		SELECT DISTINCT ON (user_id) user_id, user_name
		FROM live_viewers
		WHERE deployment_id = $1 AND seen_at > now() - $2::interval
		ORDER BY user_id`

// Viewers lists the distinct people watching a deployment on any
// instance, counting only connections refreshed within fresh.
func (db *DB) Viewers(ctx context.Context, deploymentID int64, fresh time.Duration) ([]signoff.UserRef, error) {
	rows, err := db.pool.Query(ctx, viewersSQL, deploymentID, fresh)
	return scanViewers(rows, err, deploymentID)
}

func scanViewers(rows pgx.Rows, err error, deploymentID int64) ([]signoff.UserRef, error) {
	if err != nil {
		return nil, fmt.Errorf("viewers of deployment %d: %w", deploymentID, err)
	}
	viewers, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (signoff.UserRef, error) {
		var u signoff.UserRef
		err := r.Scan(&u.ID, &u.Name)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("viewers of deployment %d: %w", deploymentID, err)
	}
	return viewers, nil
}

// RefreshViewers is an instance's heartbeat: its connections are seen now,
// and any instance's not seen for expire are dropped (their instance is
// gone). One statement, so a heartbeat is one round trip.
func (db *DB) RefreshViewers(ctx context.Context, instance string, expire time.Duration) error {
	_, err := db.pool.Exec(ctx, `
		WITH fresh AS (UPDATE live_viewers SET seen_at = now() WHERE instance = $1)
		DELETE FROM live_viewers WHERE seen_at < now() - $2::interval`, instance, expire)
	if err != nil {
		return fmt.Errorf("refresh viewers of instance %s: %w", instance, err)
	}
	return nil
}
