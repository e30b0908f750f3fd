// Package pgtest gives every test a brand-new PostgreSQL database of its
// own, cloned from a template database that already holds the schema, so
// migrations run once per schema rather than once per test.
//
// Each test package wires it up in TestMain:
//
//	func TestMain(m *testing.M) {
//		pgtest.Main(m, pgtest.HashFS(migrations.FS), func(ctx context.Context, url string) error {
//			return migrate(ctx, url) // bring the database at url to the current schema
//		})
//	}
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		pool := pgtest.Pool(t) // or pgtest.URL(t) for a connection string
//		...
//	}
//
// # Which server
//
// If SIGNOFF_TEST_DATABASE_URL is set, tests use that server: it must be a
// postgres:// URL of a role that may create databases (a superuser is
// simplest), for example postgres://postgres:secret@127.0.0.1:5432/postgres.
// Template databases (signoff_template_<hash>) stay there and are reused by
// later runs and by other test processes; test databases
// (signoff_test_<unix time>_<random>) are dropped after each test, and any
// left by killed test runs are dropped once more than a day old.
//
// Otherwise each test binary starts a private, throwaway cluster from the
// machine's PostgreSQL server binaries (see package embeddedpg) in a
// temporary folder, tuned for speed over durability (fsync off), started
// when the first test asks for a database and removed when the binary
// exits, even if it crashes. That costs about initdb + start (1.5-2 s) per
// test binary that uses the database.
//
// If there is neither a URL nor binaries, Main prints how to fix that and
// exits with status 1: database tests never skip silently.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signoff/signoff/internal/embeddedpg"
)

// EnvURL names the environment variable holding the URL of the server to
// test against; see the package documentation.
const EnvURL = "SIGNOFF_TEST_DATABASE_URL"

const (
	testDBPrefix     = "signoff_test_"
	templatePrefix   = "signoff_template_"
	staleTestDBAfter = 24 * time.Hour
)

// Prepare brings the (empty) database at url to the state every test
// database should start from, typically by running the migrations. It
// must close its connections before returning.
type Prepare func(ctx context.Context, url string) error

var (
	mainCalled bool
	key        string
	prepare    Prepare

	setupOnce sync.Once
	env       *environment
	errSetup  error
)

// environment is the server the tests of this process use.
type environment struct {
	admin    *pgxpool.Pool
	base     url.URL // admin URL; the path is replaced per database
	template string
	version  int  // server_version_num
	shared   bool // from EnvURL, not a private cluster
	cluster  *embeddedpg.Cluster
	tmpDir   string
	took     time.Duration // to set up, for the record
}

// Main runs the tests of a package with test databases available: call it
// from TestMain. key must change whenever what prepare does changes (use
// HashFS of the migrations); it names the template database, which is
// built once per distinct key (on a shared server, once across runs and
// concurrent test processes, under an advisory lock) and then cloned for
// each test. The server is started, and prepare run, when the first test
// asks for a database, so packages or -run filters that need none pay
// nothing. Main stops a private cluster it started and calls os.Exit.
func Main(m *testing.M, key string, prepare Prepare) {
	os.Exit(run(m, key, prepare))
}

func run(m *testing.M, k string, p Prepare) int {
	if err := checkServerAvailable(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	mainCalled, key, prepare = true, k, p

	code := m.Run()

	if err := teardown(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// checkServerAvailable fails early, in one line, when tests could not get
// a database at all.
func checkServerAvailable() error {
	if raw := os.Getenv(EnvURL); raw != "" {
		if _, err := parseAdminURL(raw); err != nil {
			return err
		}
		return nil
	}
	err := embeddedpg.CheckBinaries("")
	if errors.Is(err, embeddedpg.ErrNoBinaries) {
		return fmt.Errorf(`no PostgreSQL to test against: install the PostgreSQL server binaries (PostgreSQL %d or newer, e.g. "apt-get install postgresql" or "brew install postgresql") or set %s to the postgres:// URL of a server where tests may create databases`, embeddedpg.MinMajorVersion, EnvURL)
	}
	if err != nil {
		return fmt.Errorf("%v (or set %s to the postgres:// URL of a server where tests may create databases)", err, EnvURL)
	}
	return nil
}

func parseAdminURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("%s must be a postgres:// URL", EnvURL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/postgres"
	}
	return u, nil
}

// URL returns the URL of a new database for t alone, holding what Main's
// prepare set up, and drops the database (WITH (FORCE)) when t ends.
func URL(t testing.TB) string {
	t.Helper()
	e := environmentFor(t)
	name, err := e.createDatabase()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := e.dropDatabase(name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return e.urlFor(name)
}

// Pool returns a connection pool on a new database for t alone (see URL),
// closed when t ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	u := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// HashFS returns a key for Main derived from the names and contents of
// every file in fsys (e.g. the embedded migrations), so the template is
// rebuilt exactly when they change. It panics if fsys cannot be read.
func HashFS(fsys fs.FS) string {
	h := sha256.New()
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		panic(fmt.Sprintf("pgtest.HashFS: %v", err))
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			panic(fmt.Sprintf("pgtest.HashFS: %v", err))
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// environmentFor sets the server and template up on first use.
func environmentFor(t testing.TB) *environment {
	t.Helper()
	if !mainCalled {
		t.Fatal("pgtest: this package's TestMain must call pgtest.Main: func TestMain(m *testing.M) { pgtest.Main(m, key, prepare) }")
	}
	setupOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		began := time.Now()
		env, errSetup = setup(ctx)
		if env != nil {
			env.took = time.Since(began)
		}
	})
	if errSetup != nil {
		t.Fatalf("pgtest: %v", errSetup)
	}
	return env
}

func setup(ctx context.Context) (_ *environment, err error) {
	e := &environment{}
	defer func() {
		if err != nil {
			_ = e.close()
		}
	}()

	raw := os.Getenv(EnvURL)
	if raw != "" {
		e.shared = true
	} else {
		if raw, err = e.startPrivateCluster(ctx); err != nil {
			return nil, err
		}
	}
	u, err := parseAdminURL(raw)
	if err != nil {
		return nil, err
	}
	e.base = *u

	cfg, err := pgxpool.ParseConfig(e.base.String())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvURL, err)
	}
	cfg.MaxConns = 4
	if e.admin, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("connect to the test server: %w", err)
	}
	if err := e.admin.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&e.version); err != nil {
		return nil, fmt.Errorf("connect to the test server: %w", err)
	}
	if e.shared {
		e.dropStaleDatabases(ctx)
	}
	if e.template, err = e.buildTemplate(ctx, key, prepare); err != nil {
		return nil, err
	}
	return e, nil
}

// startPrivateCluster starts a throwaway cluster for this process and
// returns its admin URL.
func (e *environment) startPrivateCluster(ctx context.Context) (string, error) {
	dir, err := os.MkdirTemp("", "signoff-pgtest-")
	if err != nil {
		return "", fmt.Errorf("start postgres: %w", err)
	}
	e.tmpDir = dir
	// As root the server runs as an unprivileged user, who must reach the
	// data folder inside.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("start postgres: %w", err)
	}
	e.cluster, err = embeddedpg.Start(ctx, embeddedpg.Config{
		DataDir:   filepath.Join(dir, "data"),
		Database:  "postgres",
		Ephemeral: true,
		Settings:  map[string]string{"max_connections": "300"},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", err
	}
	return e.cluster.URL(), nil
}

// buildTemplate makes sure the template database for k exists, running p
// on it if it does not, and returns its name. A template is complete once
// marked IS_TEMPLATE; one left half-built by a crashed run is rebuilt.
func (e *environment) buildTemplate(ctx context.Context, k string, p Prepare) (string, error) {
	name := templateName(k)
	lockSum := sha256.Sum256([]byte("signoff/pgtest template " + name))
	lockID := int64(binary.BigEndian.Uint64(lockSum[:8]))

	conn, err := e.admin.Acquire(ctx)
	if err != nil {
		return "", fmt.Errorf("build template: %w", err)
	}
	defer conn.Release()
	// Other test processes using the same server wait here while one
	// of them builds the template.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
		return "", fmt.Errorf("build template: lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockID)
	}()

	var isTemplate bool
	err = conn.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&isTemplate)
	switch {
	case err == nil && isTemplate:
		return name, nil
	case err == nil:
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident(name)+" WITH (FORCE)"); err != nil {
			return "", fmt.Errorf("drop half-built template %s: %w", name, err)
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return "", fmt.Errorf("look up template %s: %w", name, err)
	}

	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(name)); err != nil {
		return "", fmt.Errorf("create template %s: %w", name, err)
	}
	if p != nil {
		if err := p(ctx, e.urlFor(name)); err != nil {
			return "", fmt.Errorf("prepare template %s: %w", name, err)
		}
	}
	// A template cannot be cloned while anyone is connected to it.
	if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
		return "", fmt.Errorf("disconnect from template %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return "", fmt.Errorf("mark template %s: %w", name, err)
	}
	return name, nil
}

// templateName names the template database for key k.
func templateName(k string) string {
	sum := sha256.Sum256([]byte(k))
	return templatePrefix + hex.EncodeToString(sum[:8])
}

func (e *environment) createDatabase() (string, error) {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s%d_%s", testDBPrefix, time.Now().Unix(), hex.EncodeToString(rnd[:]))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := e.admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(e.template)); err != nil {
		return "", fmt.Errorf("create test database: %w", err)
	}
	return name, nil
}

func (e *environment) dropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := e.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop test database %s: %w", name, err)
	}
	return nil
}

var testDBNameRE = regexp.MustCompile(`^` + testDBPrefix + `(\d+)_[0-9a-f]+$`)

// dropStaleDatabases drops test databases of killed test runs on a shared
// server.
func (e *environment) dropStaleDatabases(ctx context.Context) {
	rows, err := e.admin.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE $1", testDBPrefix+"%")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		m := testDBNameRE.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		created, _ := strconv.ParseInt(m[1], 10, 64)
		if time.Since(time.Unix(created, 0)) > staleTestDBAfter {
			_, _ = e.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(n)+" WITH (FORCE)")
		}
	}
}

func (e *environment) urlFor(database string) string {
	u := e.base
	u.Path = "/" + database
	u.RawPath = ""
	return u.String()
}

func (e *environment) close() error {
	if e.admin != nil {
		e.admin.Close()
	}
	var err error
	if e.cluster != nil {
		err = e.cluster.Stop()
	}
	if e.tmpDir != "" {
		if rmErr := os.RemoveAll(e.tmpDir); rmErr != nil && err == nil {
			err = rmErr
		}
	}
	return err
}

// teardown stops what setup started.
func teardown() error {
	if env == nil {
		return nil
	}
	return env.close()
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }
