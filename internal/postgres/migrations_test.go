package postgres_test

import (
	"context"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/migrations"
)

// emptyDatabase returns the URL of a database of the test's own with
// nothing in it: pgtest's databases are clones of the migrated template,
// so this one has its public schema dropped and made anew.
func emptyDatabase(t *testing.T) string {
	t.Helper()
	url := pgtest.URL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'public'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database not empty: %d relations, %v", n, err)
	}
	return url
}

// migrationVersions lists the embedded migrations' versions in order.
func migrationVersions(t *testing.T) []uint {
	t.Helper()
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	var out []uint
	for _, e := range entries {
		n, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseUint(n, 10, 32)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".up.sql") {
			continue
		}
		down := strings.TrimSuffix(e.Name(), ".up.sql") + ".down.sql"
		if _, err := fs.Stat(migrations.FS, down); err != nil {
			t.Errorf("migration %s has no %s", e.Name(), down)
		}
		out = append(out, uint(v))
	}
	slices.Sort(out)
	return out
}

// leftovers lists what our migrations left in the public schema besides
// golang-migrate's own table and the job queue's (River keeps its own
// schema, with its own migrations, beside ours).
func leftovers(t *testing.T, url string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT 'relation ' || c.relname FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE s.nspname = 'public' AND c.relname NOT LIKE 'schema_migrations%' AND c.relname NOT LIKE 'river\_%'
		UNION ALL
		SELECT 'type ' || t.typname FROM pg_type t JOIN pg_namespace s ON s.oid = t.typnamespace
		WHERE s.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0 AND t.typname NOT LIKE 'river\_%'
		UNION ALL
		SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace
		WHERE s.nspname = 'public' AND p.proname NOT LIKE 'river\_%'
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMigrationsUpDownAndUpAgainOnAnEmptyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := emptyDatabase(t)
	versions := migrationVersions(t)
	if len(versions) == 0 || versions[len(versions)-1] != postgres.SchemaVersion() {
		t.Fatalf("migrations %v; SchemaVersion %d", versions, postgres.SchemaVersion())
	}

	m, err := postgres.NewMigrator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	status := func() uint {
		t.Helper()
		v, dirty, err := m.Status()
		if err != nil || dirty {
			t.Fatalf("status: version %d dirty %v, %v", v, dirty, err)
		}
		return v
	}
	if v := status(); v != 0 {
		t.Fatalf("empty database at version %d", v)
	}
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	if v := status(); v != postgres.SchemaVersion() {
		t.Fatalf("after up: version %d; want %d", v, postgres.SchemaVersion())
	}
	// Up again is a no-op, not an error.
	if err := m.Up(); err != nil {
		t.Fatalf("up when up to date: %v", err)
	}

	// Every down migration works, one step at a time.
	for i := len(versions) - 1; i >= 0; i-- {
		if err := m.Down(); err != nil {
			t.Fatalf("down from %d: %v", versions[i], err)
		}
		want := uint(0)
		if i > 0 {
			want = versions[i-1]
		}
		if v := status(); v != want {
			t.Fatalf("down from %d: now at %d; want %d", versions[i], v, want)
		}
	}
	if left := leftovers(t, url); len(left) != 0 {
		t.Fatalf("down migrations left behind: %v", left)
	}

	// And up again from nothing, to a schema the app accepts and works on.
	if err := m.Up(); err != nil {
		t.Fatalf("up after down: %v", err)
	}
	if v := status(); v != postgres.SchemaVersion() {
		t.Fatalf("after up again: version %d", v)
	}
	db, err := postgres.Open(ctx, url, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema after up, down, up: %v", err)
	}
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	u := addUser(t, db, "Alice Chen")
	d := newDeployment(t, db, u)
	tick(t, db, d, "1.1.1.1", signoff.ItemDone, u)
	checkChain(t, db, d.ID)
	// The rebuilt schema still refuses to rewrite history.
	if _, err := db.Pool().Exec(ctx, `DELETE FROM audit_events`); err == nil {
		t.Fatal("audit_events is not append-only after up, down, up")
	}
}

func TestMigrationsCheckSchemaRefusesAnotherVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t) // migrated
	db, err := postgres.Open(ctx, url, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema on a migrated database: %v", err)
	}

	m, err := postgres.NewMigrator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Down(); err != nil {
		t.Fatal(err)
	}
	err = db.CheckSchema(ctx)
	if err == nil || !strings.Contains(err.Error(), "signoff migrate up") {
		t.Fatalf("CheckSchema one version behind: %v; want it to say to run `signoff migrate up`", err)
	}
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema after catching up: %v", err)
	}

	// A database newer than the binary, or half-migrated, is refused too.
	if _, err := db.Pool().Exec(ctx, `UPDATE schema_migrations SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckSchema(ctx); err == nil {
		t.Fatal("CheckSchema accepted a newer schema")
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE schema_migrations SET version = version - 1, dirty = true`); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "dirty") {
		t.Fatalf("CheckSchema on a dirty schema: %v", err)
	}
	// An empty database says how to fix it too.
	empty, err := postgres.Open(ctx, emptyDatabase(t), postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if err := empty.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "signoff migrate up") {
		t.Fatalf("CheckSchema on an empty database: %v", err)
	}
}
