package postgres

import (
	"context"
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

// commit sends last's statements and COMMIT in one round trip; read
// takes the results of last's statements, in order, before COMMIT's.
func (t *pipelinedTx) commit(ctx context.Context, last *pgx.Batch, read func(pgx.BatchResults) error) error {
	last.Queue("COMMIT")
	br := t.conn.SendBatch(ctx, last)
	defer br.Close()
	if err := read(br); err != nil {
		return err
	}
	tag, err := br.Exec()
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	// A transaction that failed earlier answers COMMIT with ROLLBACK.
	if tag.String() != "COMMIT" {
		return fmt.Errorf("commit: %w", pgx.ErrTxCommitRollback)
	}
	return br.Close()
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
