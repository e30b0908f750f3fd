package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	mainPrepareRuns atomic.Int32 // for TestMain's key
	prepareRuns     atomic.Int32 // all runs of seed
)

func TestMain(m *testing.M) {
	Main(m, "pgtest self-test v1", func(ctx context.Context, url string) error {
		mainPrepareRuns.Add(1)
		return seed(ctx, url)
	})
}

// seed stands in for the migrations. It leaves a connection open on
// purpose, as a sloppy migration tool might: pgtest must cope.
func seed(ctx context.Context, url string) error {
	prepareRuns.Add(1)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `CREATE TABLE seeded (v text); INSERT INTO seeded VALUES ('from the template')`)
	return err
}

func TestDatabaseStartsFromTemplate(t *testing.T) {
	t.Parallel()
	pool := Pool(t)
	var v string
	if err := pool.QueryRow(context.Background(), "SELECT v FROM seeded").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "from the template" {
		t.Errorf("seeded = %q", v)
	}
	// Zero times when another process (or an earlier run) already built
	// the template on a shared server.
	if n := mainPrepareRuns.Load(); n > 1 {
		t.Errorf("prepare ran %d times, want at most once", n)
	}
}

func TestParallelTestsAreIsolated(t *testing.T) {
	var ready sync.WaitGroup
	ready.Add(2)
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pool := Pool(t)
			ctx := context.Background()
			var once sync.Once
			defer once.Do(ready.Done)
			if _, err := pool.Exec(ctx, "CREATE TABLE only_"+name+" (v int)"); err != nil {
				t.Fatal(err)
			}
			if _, err := pool.Exec(ctx, "INSERT INTO seeded VALUES ($1)", name); err != nil {
				t.Fatal(err)
			}
			// Wait for the other test to have made its changes (unless
			// tests do not run in parallel, e.g. -parallel 1).
			once.Do(ready.Done)
			waitTimeout(&ready, 10*time.Second)

			var tables []string
			rows, err := pool.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
			if err != nil {
				t.Fatal(err)
			}
			if tables, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(tables, ","), "only_"+name+",seeded"; got != want {
				t.Errorf("tables = %s, want %s", got, want)
			}
			var values string
			if err := pool.QueryRow(ctx, "SELECT string_agg(v, ',' ORDER BY v) FROM seeded").Scan(&values); err != nil {
				t.Fatal(err)
			}
			if want := name + ",from the template"; values != want {
				t.Errorf("seeded = %s, want %s", values, want)
			}
		})
	}
}

func TestDatabaseDroppedAfterTest(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		u, err := url.Parse(URL(t))
		if err != nil {
			t.Fatal(err)
		}
		name = strings.TrimPrefix(u.Path, "/")
		if !testDBNameRE.MatchString(name) {
			t.Errorf("database name %q", name)
		}
	})
	var exists bool
	if err := env.admin.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test", name)
	}
}

// The template is reused for the same key, and a template left half-built
// (prepare crashed) is rebuilt.
func TestTemplateReuseAndRebuild(t *testing.T) {
	e := environmentFor(t)
	ctx := context.Background()
	before := prepareRuns.Load()

	again, err := e.buildTemplate(ctx, "pgtest self-test v1", seed)
	if err != nil {
		t.Fatal(err)
	}
	if again != e.template || prepareRuns.Load() != before {
		t.Errorf("same key: template %s (was %s), prepare ran %d more times", again, e.template, prepareRuns.Load()-before)
	}

	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	otherKey := "half-built " + hex.EncodeToString(rnd[:])
	name := templateName(otherKey)
	t.Cleanup(func() { dropTemplate(t, e, name) })
	if _, err := e.buildTemplate(ctx, otherKey, func(ctx context.Context, url string) error {
		return context.Canceled // as if the migrations had failed
	}); err == nil {
		t.Fatal("a failing prepare did not fail buildTemplate")
	}
	var isTemplate bool
	if err := e.admin.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&isTemplate); err != nil || isTemplate {
		t.Fatalf("half-built template: datistemplate=%v err=%v", isTemplate, err)
	}

	rebuilt, err := e.buildTemplate(ctx, otherKey, seed)
	if err != nil || rebuilt != name {
		t.Fatalf("rebuild: %s, %v", rebuilt, err)
	}
	if prepareRuns.Load() != before+1 {
		t.Errorf("prepare ran %d times for the half-built template, want 1", prepareRuns.Load()-before)
	}
	if err := e.admin.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&isTemplate); err != nil || !isTemplate {
		t.Errorf("rebuilt template: datistemplate=%v err=%v", isTemplate, err)
	}
}

func dropTemplate(t *testing.T, e *environment, name string) {
	if !strings.HasPrefix(name, templatePrefix) || name == e.template {
		return
	}
	ctx := context.Background()
	_, _ = e.admin.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH IS_TEMPLATE false")
	if _, err := e.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
		t.Error(err)
	}
}

// TestFreshDatabaseTime reports how long setting up and handing a test
// its database take. BenchmarkCreateDatabase compares the strategies.
func TestFreshDatabaseTime(t *testing.T) {
	e := environmentFor(t)
	t.Logf("server and template ready in %v (private cluster: %v)", e.took, e.cluster != nil)
	const n = 5
	began := time.Now()
	for range n {
		t.Run("URL", func(t *testing.T) { URL(t) })
	}
	t.Logf("URL(t), including the drop at cleanup: %v on average", time.Since(began)/n)
}

// BenchmarkCreateDatabase measures CREATE DATABASE ... TEMPLATE plus the
// drop. URL uses the server's default strategy, WAL_LOG from PostgreSQL 15
// on: FILE_COPY forces two checkpoints per database, which hurts on a
// server with fsync on and was no faster on a private one.
func BenchmarkCreateDatabase(b *testing.B) {
	e := environmentFor(b)
	strategies := []string{""}
	if e.version >= 150000 {
		strategies = []string{"WAL_LOG", "FILE_COPY"}
	}
	var seq atomic.Int64
	for _, s := range strategies {
		option := ""
		if s != "" {
			option = " STRATEGY " + s
		}
		b.Run("strategy="+s, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					name := fmt.Sprintf("%sbench_%d_%d", testDBPrefix, time.Now().UnixNano(), seq.Add(1))
					if _, err := e.admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(e.template)+option); err != nil {
						b.Error(err)
						return
					}
					if _, err := e.admin.Exec(ctx, "DROP DATABASE "+ident(name)+" WITH (FORCE)"); err != nil {
						b.Error(err)
					}
				}
			})
		})
	}
}

func TestHashFS(t *testing.T) {
	a := fstest.MapFS{"0001_a.up.sql": {Data: []byte("CREATE TABLE a ();")}}
	b := fstest.MapFS{"0001_a.up.sql": {Data: []byte("CREATE TABLE b ();")}}
	if HashFS(a) == HashFS(b) || HashFS(a) != HashFS(fstest.MapFS{"0001_a.up.sql": {Data: []byte("CREATE TABLE a ();")}}) {
		t.Error("HashFS does not follow the content")
	}
}

func TestAdminURLMustBeAURL(t *testing.T) {
	t.Setenv(EnvURL, "host=localhost dbname=postgres")
	if err := checkServerAvailable(); err == nil || !strings.Contains(err.Error(), EnvURL) {
		t.Errorf("checkServerAvailable with a keyword/value string: %v", err)
	}
	t.Setenv(EnvURL, "postgres://u@h:5/")
	u, err := parseAdminURL(os.Getenv(EnvURL))
	if err != nil || u.Path != "/postgres" {
		t.Errorf("parseAdminURL: %v %v", u, err)
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
