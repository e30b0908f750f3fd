// Package postgres is Signoff's store: every read and write of the domain
// goes through its methods, each of which owns its transaction. SQL is kept
// as SQL, parameterised, next to the method that runs it.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signoff/signoff/internal/password"
	"github.com/signoff/signoff/internal/signoff"
)

// DB is the store.
type DB struct {
	pool   *pgxpool.Pool
	logger *slog.Logger

	// Parsed template versions by id. Versions are immutable, so the cache
	// never needs invalidating and is safe across app instances.
	templates sync.Map // int64 -> *signoff.Template

	ticks tickLines // ticks waiting for their deployment (tick_line.go)

	passwordCost password.Params
	// dummyHash is checked when no user matches, so a wrong email costs as
	// much time as a wrong password and does not reveal who has an account.
	dummyHash func() string
}

// Options tune the store.
type Options struct {
	MaxConns int32
	Logger   *slog.Logger
	// PasswordCost is the argon2id cost of new password hashes; zero is
	// password.Default. Tests and the load generator, whose passwords guard
	// nothing, pass a cheap one. A hash records its own cost, so one made
	// at any cost still checks.
	PasswordCost password.Params
}

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, url string, opt Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", errors.New(redactParseError(err)))
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	// Fail fast when the database is away, so requests answer 503 promptly
	// instead of queueing behind a dead connection.
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cost := opt.PasswordCost
	if cost == (password.Params{}) {
		cost = password.Default
	}
	return &DB{pool: pool, logger: logger, ticks: tickLines{lines: map[int64]*tickLine{}}, passwordCost: cost,
		dummyHash: sync.OnceValue(func() string {
			h, _ := password.HashWith("signoff-timing-equaliser", cost)
			return h
		})}, nil
}

// hashPassword hashes a new password at the store's cost.
func (db *DB) hashPassword(pw string) (string, error) { return password.HashWith(pw, db.passwordCost) }

// redactParseError keeps a password in a malformed URL out of the logs.
func redactParseError(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return "invalid connection string (check DATABASE_URL)"
	}
	return "invalid connection string"
}

// Close closes the pool.
func (db *DB) Close() { db.pool.Close() }

// Pool exposes the pool to what must drive connections itself: the LISTEN
// connection (Listener), the job queue (River), pool metrics, and tests
// that reach under the store. Queries belong in store methods.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// notFound turns pgx.ErrNoRows into a domain not-found error.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return signoff.Errorf(signoff.ENOTFOUND, format, args...)
	}
	return err
}

// isUniqueViolation reports whether err is a unique-constraint violation,
// optionally on a given constraint or index.
func isUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return constraint == "" || pe.ConstraintName == constraint
	}
	return false
}

// IsUnavailable reports whether err means the database could not be
// reached (as opposed to a query that failed), so callers answer 503.
func IsUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// admin_shutdown, crash_shutdown, cannot_connect_now
		return pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	return pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

// ReadFloor is the load generator's read floor: one trivial query.
func (db *DB) ReadFloor(ctx context.Context) error {
	return db.Ping(ctx)
}

// WriteFloor is the load generator's write floor: one single-row INSERT in
// its own transaction.
func (db *DB) WriteFloor(ctx context.Context, userID int64) error {
	if _, err := db.pool.Exec(ctx, `INSERT INTO load_floor (user_id) VALUES ($1)`, userID); err != nil {
		return fmt.Errorf("write floor: %w", err)
	}
	return nil
}
