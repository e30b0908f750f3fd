package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
)

// Refusals the database answers with are told apart: a connection limit
// reached is not "cannot be reached", a read-only database is not either.
func TestFaultsAreToldApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	role := fmt.Sprintf("limited_%d", time.Now().UnixNano())
	if _, err := db.Pool().Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD 'limited-secret' CONNECTION LIMIT 1`, role)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Pool().Exec(context.Background(), `DROP ROLE `+role) })
	u, err := url.Parse(db.Pool().Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "limited-secret")
	first, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(ctx)
	_, err = pgx.Connect(ctx, u.String())
	if got := postgres.Fault(err); got != postgres.FaultConnectionLimit {
		t.Errorf("a second connection of a role limited to one: %v, fault %q; want %q", err, got, postgres.FaultConnectionLimit)
	}

	tx, err := db.Pool().BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `INSERT INTO readiness_probe DEFAULT VALUES`)
	if got := postgres.Fault(err); got != postgres.FaultReadOnly {
		t.Errorf("a write in a read-only transaction: %v, fault %q; want %q", err, got, postgres.FaultReadOnly)
	}

	down, err := postgres.Open(ctx, "postgres://nobody:x@127.0.0.1:1/none?connect_timeout=1", postgres.Options{})
	if got := postgres.Fault(err); down != nil || got != postgres.FaultUnreachable {
		t.Errorf("a server that is not there: %v, fault %q; want %q", err, got, postgres.FaultUnreachable)
	}
	if got := postgres.Fault(context.Canceled); got != "" {
		t.Errorf("a cancelled request is fault %q; want none", got)
	}
}

// An instance never takes every connection the server has: its pool is
// capped below what is left for ordinary connections, and idle ones are
// given back.
func TestPoolLeavesHeadroom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{MaxConns: 10000, PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var maxConns, reserved int32
	if err := db.Pool().QueryRow(ctx, `SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int`).Scan(&maxConns, &reserved); err != nil {
		t.Fatal(err)
	}
	cfg := db.Pool().Config()
	if want := maxConns - reserved - postgres.ConnHeadroom; cfg.MaxConns != want {
		t.Errorf("pool of %d connections on a server of %d (%d reserved); want %d", cfg.MaxConns, maxConns, reserved, want)
	}
	if cfg.MaxConnIdleTime != postgres.PoolIdleTime || cfg.ConnConfig.RuntimeParams["application_name"] != "signoff" {
		t.Errorf("idle time %v, application_name %q", cfg.MaxConnIdleTime, cfg.ConnConfig.RuntimeParams["application_name"])
	}
}
