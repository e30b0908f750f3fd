package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/signoff/signoff/migrations"
)

// SchemaVersion is the newest migration this binary knows. The app refuses
// to serve a database at any other version.
func SchemaVersion() uint {
	var newest uint
	entries, _ := fs.ReadDir(migrations.FS, ".")
	for _, e := range entries {
		n, _, ok := strings.Cut(e.Name(), "_")
		if v, err := strconv.ParseUint(n, 10, 32); ok && err == nil && uint(v) > newest {
			newest = uint(v)
		}
	}
	return newest
}

// Migrator runs the embedded migrations with golang-migrate.
type Migrator struct {
	m   *migrate.Migrate
	db  *sql.DB
	url string
}

// NewMigrator opens a dedicated connection for migrating.
func NewMigrator(url string) (*Migrator, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open migration connection: %w", err)
	}
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare migration driver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare migrations: %w", err)
	}
	return &Migrator{m: m, db: db, url: url}, nil
}

// Close releases the connection.
func (m *Migrator) Close() error {
	srcErr, dbErr := m.m.Close()
	return errors.Join(srcErr, dbErr, m.db.Close())
}

// Up applies every pending migration, ours and then the job queue's
// (River's, see river.go).
func (m *Migrator) Up() error {
	if err := m.m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate up: %w", err)
	}
	return migrateRiver(context.Background(), m.url)
}

// Down rolls back one migration.
func (m *Migrator) Down() error {
	if err := m.m.Steps(-1); err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// Status reports the database's version and whether a failed migration left
// it dirty. Version 0 means no migration has run.
func (m *Migrator) Status() (version uint, dirty bool, err error) {
	v, d, err := m.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read schema version: %w", err)
	}
	return v, d, nil
}

// Migrate brings the database at url to the newest schema.
func Migrate(ctx context.Context, url string) error {
	m, err := NewMigrator(url)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up()
}

// Pending lists the migrations not yet applied, for `signoff migrate status`.
func Pending(current uint) []string {
	var out []string
	entries, _ := fs.ReadDir(migrations.FS, ".")
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".up.sql") {
			continue
		}
		n, _, _ := strings.Cut(name, "_")
		if v, err := strconv.ParseUint(n, 10, 32); err == nil && uint(v) > current {
			out = append(out, strings.TrimSuffix(name, ".up.sql"))
		}
	}
	sort.Strings(out)
	return out
}

// ErrSchema is wrapped by CheckSchema's errors when the database answers
// but its schema is not the one this binary knows (none yet, older, newer,
// or dirty): `signoff migrate` opens such a database anyway, since it is how
// the schema gets fixed.
var ErrSchema = errors.New("database schema is not the one this binary knows")

// schemaError is one of CheckSchema's errors: its own message, and
// errors.Is(err, ErrSchema).
type schemaError struct{ err error }

func (e schemaError) Error() string   { return e.err.Error() }
func (e schemaError) Unwrap() []error { return []error{e.err, ErrSchema} }

// CheckSchema returns an error unless the database is exactly at the schema
// this binary knows, so an old binary never writes to a newer schema.
func (db *DB) CheckSchema(ctx context.Context) error {
	var version int64
	var dirty bool
	err := db.pool.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&version, &dirty)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table: never migrated
		return schemaError{fmt.Errorf("read schema version (run `signoff migrate up`): %w", err)}
	}
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	want := SchemaVersion()
	switch {
	case dirty:
		return schemaError{fmt.Errorf("schema version %d is dirty: a migration failed half-way; fix it by hand, then run `signoff migrate`", version)}
	case uint(version) != want:
		return schemaError{fmt.Errorf("schema version is %d but this binary needs %d (run `signoff migrate up`, or upgrade the binary)", version, want)}
	}
	if err := db.checkRiverSchema(ctx); err != nil {
		return schemaError{err}
	}
	return nil
}
