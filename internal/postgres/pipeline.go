package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pipelinedTx is a transaction whose BEGIN travels with its first
// statements and whose COMMIT with its last, for the one write that
// happens all the time: a tick. It then costs two round trips to the
// database instead of four, and holds its deployment's row lock for one
// round trip instead of three, which is what bounds how fast a crowd can
// tick one deployment.
//
// It stays one transaction with pgx.Tx's guarantees: PostgreSQL runs a
// batch's statements in order and skips the rest of the batch after an
// error, so a failure anywhere commits nothing, and close rolls back
// whatever was left open (a broken connection is dropped by the pool,
// which PostgreSQL answers by rolling back).
type pipelinedTx struct {
	conn *pgxpool.Conn
}

func (db *DB) acquirePipelined(ctx context.Context) (*pipelinedTx, error) {
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire connection: %w", err)
	}
	return &pipelinedTx{conn: c}, nil
}

// begin sends BEGIN and first's statements in one round trip and returns
// their results (BEGIN's already read). The caller must close them.
func (t *pipelinedTx) begin(ctx context.Context, first *pgx.Batch) (pgx.BatchResults, error) {
	b := &pgx.Batch{QueuedQueries: append([]*pgx.QueuedQuery{{SQL: "BEGIN"}}, first.QueuedQueries...)}
	br := t.conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, fmt.Errorf("begin: %w", err)
	}
	return br, nil
}

// QueryRow runs one statement inside the transaction (the uncommon paths).
func (t *pipelinedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.conn.QueryRow(ctx, sql, args...)
}

// commit sends last's statements, COMMIT and then's statements in one
// round trip. then's run after the commit, outside the transaction (reads
// for the answer, so that the rows stay locked no longer than the commit);
// PostgreSQL skips them if anything before failed. readLast and readThen
// take the results, in order. committed reports whether the change
// committed, which it may have although err is from then's statements.
//
// The COMMIT travels with last's statements: once they are sent, an
// error that is not the server's answer (the connection broke, time ran
// out) leaves the outcome unknown, whichever result it was met reading.
// Such an error wraps errCommitUnanswered.
func (t *pipelinedTx) commit(ctx context.Context, last *pgx.Batch, readLast func(pgx.BatchResults) error,
	then *pgx.Batch, readThen func(pgx.BatchResults) error) (committed bool, err error) {
	if t.conn.Conn().PgConn().IsClosed() {
		return false, errLostBeforeCommit
	}
	b := &pgx.Batch{QueuedQueries: append(last.QueuedQueries, &pgx.QueuedQuery{SQL: "COMMIT"})}
	b.QueuedQueries = append(b.QueuedQueries, then.QueuedQueries...)
	br := t.conn.SendBatch(ctx, b)
	defer br.Close()
	if err := readLast(br); err != nil {
		return false, unanswered(err)
	}
	tag, err := br.Exec()
	if err != nil {
		return false, unanswered(fmt.Errorf("commit: %w", err))
	}
	// A transaction that failed earlier answers COMMIT with ROLLBACK.
	if tag.String() != "COMMIT" {
		return false, fmt.Errorf("commit: %w", pgx.ErrTxCommitRollback)
	}
	if err := readThen(br); err != nil {
		return true, err
	}
	return true, br.Close()
}

// errCommitUnanswered marks an error after which a COMMIT sent may or may
// not have been applied.
var errCommitUnanswered = errors.New("the COMMIT was sent and no answer came back")

func unanswered(err error) error {
	if commitUnanswered(err) {
		return fmt.Errorf("%w: %w", errCommitUnanswered, err)
	}
	return err
}

// close rolls back a transaction still open (after an error) and gives the
// connection back. It is safe to defer right after acquirePipelined.
func (t *pipelinedTx) close(ctx context.Context) {
	if s := t.conn.Conn().PgConn().TxStatus(); s == 'T' || s == 'E' {
		// Even when the request was cancelled: the connection must go back
		// clean (if it cannot, the pool closes it and the server rolls back).
		t.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	t.conn.Release()
}
