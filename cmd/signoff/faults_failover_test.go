package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/embeddedpg"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// TestFaultFailoverToAStreamingStandby runs the app against a primary and
// a synchronous streaming standby through one multi-host DATABASE_URL
// (target_session_attrs=read-write), crashes the primary under load and
// promotes the standby. The app carries on by itself against the new
// primary, and every tick it acknowledged is there, with every chain
// intact, and every keyed API create made once.
func TestFaultFailoverToAStreamingStandby(t *testing.T) {
	t.Parallel()
	binDir := postgresBinDir(t)
	dir, err := os.MkdirTemp("", "signoff-failover-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx := context.Background()
	primary, err := embeddedpg.Start(ctx, embeddedpg.Config{DataDir: filepath.Join(dir, "primary"),
		Settings: map[string]string{"fsync": "off", "wal_level": "replica"}}, slog.New(slog.DiscardHandler)) // its stop at the end fails: it crashed
	if err != nil {
		t.Fatalf("start primary: %v", err)
	}
	t.Cleanup(func() { primary.Stop() })
	if err := postgres.Migrate(ctx, primary.URL()); err != nil {
		t.Fatal(err)
	}
	db, emails, depID, leaves := faultFixture(t, primary.URL(), 6)
	people, err := db.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := db.CreateToken(ctx, signoff.NewToken{Name: "failover pipeline", UserID: people[0].ID},
		signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		t.Fatal(err)
	}

	// The standby: a base backup of the primary, streaming from it, named
	// in synchronous_standby_names so that a commit is on it before it is
	// acknowledged.
	pu, _ := url.Parse(primary.URL())
	password, _ := pu.User.Password()
	standbyDir := filepath.Join(dir, "standby")
	standbyPort := freePort(t)
	_, sport, _ := net.SplitHostPort(standbyPort)
	pg := &pgRunner{t: t, bin: binDir}
	pg.ownDir(standbyDir)
	pg.run("pg_basebackup", "-D", standbyDir, "-R", "-X", "stream", "--checkpoint=fast",
		"-d", fmt.Sprintf("host=127.0.0.1 port=%s user=%s password=%s", pu.Port(), pu.User.Username(), password))
	pg.run("pg_ctl", "-D", standbyDir, "-w", "-l", filepath.Join(standbyDir, "standby.log"), "start", "-o",
		fmt.Sprintf("-p %s -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c cluster_name=standby -c fsync=off", sport, standbyDir))
	t.Cleanup(func() { pg.quiet("pg_ctl", "-D", standbyDir, "stop", "-m", "immediate") })
	adminExec(t, primary.URL(), `ALTER SYSTEM SET synchronous_standby_names = 'standby'`, `SELECT pg_reload_conf()`)
	waitFor(t, 15*time.Second, "the standby to stream synchronously", func() bool {
		var state string
		q := pgxQueryRow(primary.URL(), `SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'`, &state)
		return q == nil && state == "sync"
	})

	multi := *pu
	multi.Host = net.JoinHostPort("127.0.0.1", pu.Port()) + "," + standbyPort
	q := multi.Query()
	q.Set("target_session_attrs", "read-write")
	q.Set("connect_timeout", "2")
	multi.RawQuery = q.Encode()
	a := startApp(t, multi.String())

	cr := newCrowd(a.URL, depID)
	log := &answerLog{}
	loadCtx, stop := context.WithCancel(ctx)
	wg := cr.run(loadCtx, emails, leaves)
	pipelineDone := make(chan struct{})
	go func() { defer close(pipelineDone); log.pipeline(loadCtx, a.URL, token, 0) }()
	time.Sleep(1500 * time.Millisecond)

	// The primary's host is lost: the server stops at once, as in a
	// crash, and the standby is promoted.
	lost := time.Now()
	pg.run("pg_ctl", "-D", filepath.Join(dir, "primary", "pgdata"), "stop", "-m", "immediate")
	time.Sleep(300 * time.Millisecond)
	pg.run("pg_ctl", "-D", standbyDir, "-w", "promote")
	promoted := time.Now()
	var back time.Time
	waitFor(t, 20*time.Second, "a tick to succeed on the new primary", func() bool {
		var ok bool
		back, ok = cr.firstSuccessAfter(promoted)
		return ok
	})
	time.Sleep(time.Second)
	stop()
	wg.Wait()
	<-pipelineDone
	t.Logf("primary lost; standby promoted %v later; first acknowledged tick %v after the loss (%v after the promotion)",
		promoted.Sub(lost).Round(time.Millisecond), back.Sub(lost).Round(time.Millisecond), back.Sub(promoted).Round(time.Millisecond))

	newPrimary := multi
	newPrimary.Host = standbyPort
	check, err := postgres.Open(ctx, newPrimary.String(), postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	cr.check(t, check)
	made := map[string][]int64{}
	rows, err := check.Pool().Query(ctx, `SELECT version, id FROM deployments WHERE service = 'faults'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		var id int64
		rows.Scan(&v, &id)
		made[v] = append(made[v], id)
	}
	creates := 0
	for _, ans := range log.answers {
		if ans.class != "ok" {
			continue
		}
		creates++
		if ids := made[ans.key]; len(ids) != 1 || ids[0] != ans.id {
			t.Errorf("create %s answered deployment %d; the new primary has %v", ans.key, ans.id, ids)
		}
	}
	if creates == 0 {
		t.Error("no create was acknowledged: the test tested too little")
	}
}

// postgresBinDir finds the PostgreSQL programs the embedded cluster uses.
func postgresBinDir(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_basebackup")
	if len(dirs) == 0 {
		if p, err := exec.LookPath("pg_basebackup"); err == nil {
			return filepath.Dir(p)
		}
		t.Fatal("pg_basebackup not found: install PostgreSQL's server package (apt-get install postgresql)")
	}
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	return filepath.Dir(dirs[0])
}

func versionOf(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

// pgRunner runs PostgreSQL's programs as the user the embedded cluster
// runs as (postgres, when the tests run as root).
type pgRunner struct {
	t   *testing.T
	bin string
}

func (p *pgRunner) cmd(name string, args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(p.bin, name), args...)
	if uid, gid, ok := p.user(); ok {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
	}
	return c
}

// user is the postgres user when the tests run as root.
func (p *pgRunner) user() (uid, gid uint32, ok bool) {
	if os.Geteuid() != 0 {
		return 0, 0, false
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		p.t.Fatalf("running as root needs a postgres user: %v", err)
	}
	id, _ := strconv.Atoi(u.Uid)
	g, _ := strconv.Atoi(u.Gid)
	return uint32(id), uint32(g), true
}

// ownDir makes a folder the server's user owns, as a data folder must be.
func (p *pgRunner) ownDir(dir string) {
	p.t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		p.t.Fatal(err)
	}
	if uid, gid, ok := p.user(); ok {
		if err := os.Chown(dir, int(uid), int(gid)); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p *pgRunner) run(name string, args ...string) {
	p.t.Helper()
	if out, err := p.cmd(name, args...).CombinedOutput(); err != nil {
		p.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func (p *pgRunner) quiet(name string, args ...string) { p.cmd(name, args...).Run() }

func adminExec(t *testing.T, dbURL string, statements ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range statements {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func pgxQueryRow(dbURL, q string, dest ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, q).Scan(dest...)
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
