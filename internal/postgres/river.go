package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// River (github.com/riverqueue/river) is the job queue that sends
// notifications in the background. Its tables live beside ours and come
// from its own migrations, which run right after golang-migrate's: our
// schema stays golang-migrate's, River's stays River's, and upgrading
// River upgrades its schema with it.

// riverLockID serialises River's migrations between instances starting at
// once (golang-migrate locks its own).
const riverLockID = 0x5349474e_52495652 // "SIGNRIVR"

// migrateRiver brings River's tables at url up to the version this binary's
// River needs.
func migrateRiver(ctx context.Context, url string) error {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("migrate job queue: parse database url: %s", redactParseError(err))
	}
	cfg.MaxConns = 2 // one holds the lock, one migrates
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("migrate job queue: connect: %w", err)
	}
	defer pool.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate job queue: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(riverLockID)); err != nil {
		return fmt.Errorf("migrate job queue: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(riverLockID))

	m, err := riverMigrator(pool)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate job queue: %w", err)
	}
	return nil
}

func riverMigrator(pool *pgxpool.Pool) (*rivermigrate.Migrator[pgx.Tx], error) {
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("job queue migrations: %w", err)
	}
	return m, nil
}

// checkRiverSchema fails unless River's tables are at the version this
// binary's River needs.
func (db *DB) checkRiverSchema(ctx context.Context) error {
	m, err := riverMigrator(db.pool)
	if err != nil {
		return err
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("check job queue schema (run `signoff migrate up`): %w", err)
	}
	if !res.OK {
		return fmt.Errorf("job queue schema is not up to date (run `signoff migrate up`): %s", strings.Join(res.Messages, "; "))
	}
	return nil
}

// QueueDepth counts the background jobs waiting to run: available now,
// scheduled for later, or waiting to retry.
func (db *DB) QueueDepth(ctx context.Context) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `
		SELECT count(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("queue depth: %w", err)
	}
	return n, nil
}
