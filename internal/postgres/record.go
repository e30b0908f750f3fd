package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// DeploymentRecord reads everything an audit export holds about one
// deployment in one read-only, repeatable-read transaction, so the items,
// signatures and events agree with each other even while people work on it.
func (db *DB) DeploymentRecord(ctx context.Context, id int64) (*signoff.Record, error) {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("record of deployment %d: begin: %w", id, err)
	}
	defer tx.Rollback(ctx)

	d, err := scanDeployment(tx.QueryRow(ctx, `SELECT `+deploymentColumns+deploymentJoins+` WHERE d.id = $1`, id))
	if err != nil {
		return nil, notFound(fmt.Errorf("record of deployment %d: %w", id, err), "Deployment %d not found.", id)
	}
	t, err := db.TemplateVersion(ctx, d.TemplateVersionID)
	if err != nil {
		return nil, err
	}
	items, err := db.items(ctx, tx, id, "")
	if err != nil {
		return nil, err
	}
	notes, err := db.notes(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	rec := &signoff.Record{Deployment: d, Checklist: signoff.NewChecklist(t, items, notes)}
	if rec.Slots, err = db.slots(ctx, tx, id); err != nil {
		return nil, err
	}
	if rec.Signatures, err = signatures(ctx, tx, id); err != nil {
		return nil, err
	}
	if rec.Comments, err = comments(ctx, tx, id, ""); err != nil {
		return nil, err
	}
	if rec.Events, err = deploymentEvents(ctx, tx, id, 0, 0); err != nil {
		return nil, err
	}
	return rec, tx.Commit(ctx)
}

// CompletedDeploymentIDs pages through the completed deployments that match
// f (created in [From, To), service, environment, signer), oldest id first:
// the ids after the given one, at most limit of them. Paging by id rather
// than by offset never skips or repeats a deployment when others complete
// meanwhile. f.Status, Limit and Offset are ignored.
func (db *DB) CompletedDeploymentIDs(ctx context.Context, f signoff.DeploymentFilter, after int64, limit int) ([]int64, error) {
	// Planned with its values every time, as Deployments is.
	args := []any{pgx.QueryExecModeCacheDescribe, after}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)-1) }
	where := append([]string{"d.id > $1", "d.status = 'completed'"}, filterConditions(f, arg)...)
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := db.pool.Query(ctx, `SELECT d.id FROM deployments d WHERE `+strings.Join(where, " AND ")+
		` ORDER BY d.id LIMIT `+arg(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("completed deployments after %d: %w", after, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("completed deployments after %d: %w", after, err)
	}
	return ids, nil
}

// SigningKeySecret names the shared Ed25519 seed in app_secrets, used when
// no SIGNING_KEY is configured and the database is not the embedded one.
const SigningKeySecret = "audit_signing_key"

// SigningSeed returns the audit signing key's 32-byte Ed25519 seed kept in
// the database, generating it the first time, so every instance signs with
// the same key.
func (db *DB) SigningSeed(ctx context.Context) ([]byte, error) {
	seed, err := db.Secret(ctx, SigningKeySecret, func() []byte {
		b := make([]byte, 32)
		rand.Read(b) // never fails (crypto/rand)
		return b
	})
	if err != nil {
		return nil, err
	}
	if len(seed) != 32 {
		return nil, fmt.Errorf("signing key in the database has %d bytes, want 32", len(seed))
	}
	return seed, nil
}
