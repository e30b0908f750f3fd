// Package postgres is Signoff's store: every read and write of the domain
// goes through its methods, each of which owns its transaction. SQL is kept
// as SQL, parameterised, next to the method that runs it.
package postgres

import (
	"cmp"
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

	log      logSigner // signs the transparency log's checkpoints (transparency.go)
	logStats logStats
	heads    headsCache // the chain heads of the newest checkpoint (transparency_heads.go)

	passwordCost   password.Params
	idempotencyTTL time.Duration // how long idempotency keys are kept
	// dummyHash is checked when no user matches, so a wrong email costs as
	// much time as a wrong password and does not reveal who has an account.
	dummyHash func() string
}

// Options tune the store.
type Options struct {
	// MaxConns caps the pool (DB_MAX_CONNS); zero is pgx's default (four
	// per CPU, at least four). Either way the pool never takes more than
	// the server has for ordinary connections, less ConnHeadroom.
	MaxConns int32
	Logger   *slog.Logger
	// PasswordCost is the argon2id cost of new password hashes; zero is
	// password.Default. Tests and the load generator, whose passwords guard
	// nothing, pass a cheap one. A hash records its own cost, so one made
	// at any cost still checks.
	PasswordCost password.Params
	// IdempotencyTTL is how long idempotency keys are kept
	// (IDEMPOTENCY_KEY_TTL); zero is DefaultIdempotencyTTL.
	IdempotencyTTL time.Duration
}

// Pool sizing. An idle instance gives its connections back within about
// PoolIdleTime + the health check's period, keeping only those it pins
// (the LISTEN connection, the job queue's). ConnHeadroom is what one
// instance always leaves to others: the command line run beside the
// server (signoff token create, signoff export) and an operator's psql,
// who, unlike a superuser, get no reserved slot.
const (
	PoolIdleTime     = 30 * time.Second
	poolHealthPeriod = 10 * time.Second
	ConnHeadroom     = 3
	minPoolConns     = 4 // the pinned connections and a request or two
)

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, url string, opt Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", errors.New(redactParseError(err)))
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	cfg.MaxConnIdleTime = PoolIdleTime
	cfg.HealthCheckPeriod = poolHealthPeriod
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		// So an operator can tell the app's connections apart in
		// pg_stat_activity.
		cfg.ConnConfig.RuntimeParams["application_name"] = "signoff"
	}
	// Fail fast when the database is away, so requests answer 503 promptly
	// instead of queueing behind a dead connection.
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	logger := opt.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := fitPool(pctx, cfg, logger); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	cost := opt.PasswordCost
	if cost == (password.Params{}) {
		cost = password.Default
	}
	return &DB{pool: pool, logger: logger, ticks: tickLines{lines: map[int64]*tickLine{}}, passwordCost: cost,
		idempotencyTTL: cmp.Or(opt.IdempotencyTTL, DefaultIdempotencyTTL),
		dummyHash: sync.OnceValue(func() string {
			h, _ := password.HashWith("signoff-timing-equaliser", cost)
			return h
		})}, nil
}

// fitPool connects once (so a wrong URL or a database that is down fails
// the start) and caps the pool at what the server has for ordinary
// connections (max_connections less the slots reserved for superusers and
// roles with pg_use_reserved_connections) less ConnHeadroom, so a single
// instance can never lock the command line and operators out.
func fitPool(ctx context.Context, cfg *pgxpool.Config, logger *slog.Logger) error {
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var maxConns, reserved int32
	err = conn.QueryRow(ctx, `
		SELECT current_setting('max_connections')::int,
		       current_setting('superuser_reserved_connections')::int
		       + coalesce(current_setting('reserved_connections', true)::int, 0)`).Scan(&maxConns, &reserved)
	if err != nil {
		return fmt.Errorf("read the database's connection limit: %w", err)
	}
	limit := max(maxConns-reserved-ConnHeadroom, minPoolConns)
	if cfg.MaxConns > limit {
		logger.Warn("database pool capped below the server's connection limit",
			"pool_max", limit, "asked", cfg.MaxConns, "max_connections", maxConns, "reserved", reserved, "headroom", ConnHeadroom)
		cfg.MaxConns = limit
	}
	return nil
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

// CheckWritable tells whether the database takes writes now, as a change
// would: in a transaction it rolls back, it writes a row (refused by a
// standby, a read-only default or a missing privilege) and a temporary
// file, in the data directory unless temp_tablespaces says otherwise
// (refused when the disk is full, which a one-row write can hide: a row
// fits in a page already there). nil means writable; Fault names why not.
func (db *DB) CheckWritable(ctx context.Context) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("check writable: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	b := &pgx.Batch{}
	b.Queue(`SET LOCAL statement_timeout = '2s'`)
	b.Queue(`INSERT INTO readiness_probe DEFAULT VALUES`)
	// A sort over the smallest work_mem spills a few hundred KB to disk.
	b.Queue(`SET LOCAL work_mem = '64kB'`)
	b.Queue(`SELECT count(*) FROM (SELECT g FROM generate_series(1, 10000) g ORDER BY g DESC) s`)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("check writable: %w", err)
	}
	return nil
}
