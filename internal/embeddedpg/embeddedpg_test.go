//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package embeddedpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// These tests need PostgreSQL server binaries and fail (never skip) when
// there are none: install PostgreSQL (e.g. apt-get install postgresql).

// testDataDir returns a data folder path in a fresh temporary folder. As
// root it makes the temporary folders searchable, since the server runs as
// an unprivileged user that must reach the data folder.
func testDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		tmp := filepath.Clean(os.TempDir())
		for p := dir; p != tmp && p != filepath.Dir(p); p = filepath.Dir(p) {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return filepath.Join(dir, "data")
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func startCluster(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestStartStopRestartKeepsData(t *testing.T) {
	dataDir := testDataDir(t)

	began := time.Now()
	c := startCluster(t, Config{DataDir: dataDir})
	t.Logf("cold start (initdb + start + create database): %v", time.Since(began))

	u, err := url.Parse(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != "127.0.0.1" || u.Path != "/signoff" {
		t.Errorf("URL() = %s, want host 127.0.0.1 and database signoff", u.Redacted())
	}

	conn := connect(t, c.URL())
	if got := queryString(t, conn, "SELECT current_database()"); got != "signoff" {
		t.Errorf("current_database() = %q", got)
	}
	if got := queryString(t, conn, "SHOW listen_addresses"); got != "127.0.0.1" {
		t.Errorf("listen_addresses = %q", got)
	}
	if got := queryString(t, conn, "SHOW server_encoding"); got != "UTF8" {
		t.Errorf("server_encoding = %q", got)
	}
	if _, err := conn.Exec(context.Background(), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())

	// The unix socket is in <DataDir>/run.
	socketURL := fmt.Sprintf("postgres://postgres:%s@/signoff?host=%s&port=%d", c.password, url.QueryEscape(filepath.Join(dataDir, "run")), c.port)
	sconn := connect(t, socketURL)
	if got := queryString(t, sconn, "SELECT 'via socket'"); got != "via socket" {
		t.Errorf("socket query = %q", got)
	}
	sconn.Close(context.Background())

	// A wrong password is refused, even on 127.0.0.1.
	bad := *u
	bad.User = url.UserPassword("postgres", "wrong")
	if conn, err := pgx.Connect(context.Background(), bad.String()); err == nil {
		conn.Close(context.Background())
		t.Error("connected with a wrong password")
	}

	if os.Geteuid() == 0 {
		fi, err := os.Stat(filepath.Join(dataDir, "pgdata"))
		if err != nil {
			t.Fatal(err)
		}
		if uid, _, _ := fileOwner(fi); uid == 0 {
			t.Error("pgdata is owned by root")
		}
	}

	firstPort := c.port
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "pgdata", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("postmaster.pid still there after Stop: %v", err)
	}

	began = time.Now()
	c2 := startCluster(t, Config{DataDir: dataDir})
	t.Logf("warm restart (existing cluster): %v", time.Since(began))
	if c2.port != firstPort {
		t.Errorf("port changed from %d to %d across restarts", firstPort, c2.port)
	}
	conn2 := connect(t, c2.URL())
	if got := queryString(t, conn2, "SELECT v FROM kept"); got != "still here" {
		t.Errorf("after restart: %q", got)
	}

	logData, err := os.ReadFile(filepath.Join(dataDir, "postgres.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(logData, []byte("database system is ready to accept connections")) {
		t.Errorf("postgres.log lacks the server's start-up line:\n%s", logData)
	}
}

func TestDataDirInUse(t *testing.T) {
	dataDir := testDataDir(t)
	startCluster(t, Config{DataDir: dataDir})
	_, err := Start(context.Background(), Config{DataDir: dataDir}, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Start on the same data folder: %v", err)
	}
}

// An app that died without Stop leaves the server running: the next Start
// adopts it.
func TestAdoptsServerLeftRunning(t *testing.T) {
	dataDir := testDataDir(t)
	c := startCluster(t, Config{DataDir: dataDir})
	c.release() // as if the process had died

	c2 := startCluster(t, Config{DataDir: dataDir})
	if c2.port != c.port {
		t.Errorf("adopted server on port %d, it runs on %d", c2.port, c.port)
	}
	conn := connect(t, c2.URL())
	queryString(t, conn, "SELECT 'ok'")
	conn.Close(context.Background())
	if err := c2.Stop(); err != nil {
		t.Fatal(err)
	}
	if !serverGone(c) {
		t.Errorf("the server on port %d still runs after Stop of the adopted server", c.port)
	}
	c.stopped = true // already stopped through c2
}

// A crash of the server itself (kill -9) leaves a stale postmaster.pid;
// the next Start recovers.
func TestRecoversFromKilledServer(t *testing.T) {
	dataDir := testDataDir(t)
	c := startCluster(t, Config{DataDir: dataDir})
	conn := connect(t, c.URL())
	if _, err := conn.Exec(context.Background(), "CREATE TABLE t (v int); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())

	pid := postmasterPID(t, dataDir)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	c.release()
	c.stopped = true

	c2 := startCluster(t, Config{DataDir: dataDir})
	conn2 := connect(t, c2.URL())
	if got := queryString(t, conn2, "SELECT v::text FROM t"); got != "42" {
		t.Errorf("after crash: %q", got)
	}
}

// After a container restart the PID in a stale postmaster.pid may belong
// to another program of the same user; PostgreSQL would refuse to start.
func TestStalePIDFileOfOtherProgram(t *testing.T) {
	dataDir := testDataDir(t)
	c := startCluster(t, Config{DataDir: dataDir})
	pidFile := filepath.Join(dataDir, "pgdata", "postmaster.pid")
	content, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}

	// Another long-running program of the server's user.
	other := exec.Command("sleep", "60")
	other.SysProcAttr = sysProcAttr(c.user, true)
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	lines := strings.SplitN(string(content), "\n", 2)
	stale := strconv.Itoa(other.Process.Pid) + "\n" + lines[1]
	// After a crash the socket's lock file names the PID too.
	socketLock := filepath.Join(dataDir, "run", fmt.Sprintf(".s.PGSQL.%d.lock", c.port))
	for _, f := range []string{pidFile, socketLock} {
		if err := os.WriteFile(f, []byte(stale), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := c.chown(f); err != nil {
			t.Fatal(err)
		}
	}

	c2 := startCluster(t, Config{DataDir: dataDir})
	conn := connect(t, c2.URL())
	queryString(t, conn, "SELECT 'ok'")
}

func TestSettingsAndExplicitPort(t *testing.T) {
	port, err := (&Cluster{cfg: Config{Ephemeral: true}}).choosePort(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, Config{
		DataDir:  testDataDir(t),
		Port:     port,
		Database: "other",
		Settings: map[string]string{"max_connections": "123", "application_name": "it's quoted"},
	})
	if c.port != port {
		t.Errorf("port = %d, want %d", c.port, port)
	}
	conn := connect(t, c.URL())
	if got := queryString(t, conn, "SHOW max_connections"); got != "123" {
		t.Errorf("max_connections = %s", got)
	}
	if got := queryString(t, conn, "SELECT current_database()"); got != "other" {
		t.Errorf("current_database() = %s", got)
	}

	_, err = Start(context.Background(), Config{DataDir: testDataDir(t), Port: port}, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("Start on a taken port: %v", err)
	}
}

func TestEphemeralStopDeletesDataDir(t *testing.T) {
	dataDir := testDataDir(t)
	began := time.Now()
	c := startCluster(t, Config{DataDir: dataDir, Ephemeral: true})
	t.Logf("ephemeral cold start: %v", time.Since(began))
	conn := connect(t, c.URL())
	if got := queryString(t, conn, "SHOW fsync"); got != "off" {
		t.Errorf("fsync = %s", got)
	}
	conn.Close(context.Background())
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data folder still there after Stop: %v", err)
	}
}

// A process that dies without calling Stop must not leave an Ephemeral
// server behind: the watchdog shuts it down and deletes the data folder.
func TestEphemeralWatchdog(t *testing.T) {
	if dir := os.Getenv("EMBEDDEDPG_WATCHDOG_HELPER"); dir != "" {
		c, err := Start(context.Background(), Config{DataDir: dir, Ephemeral: true}, nil)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		_ = c
		os.Exit(0) // no Stop
	}

	dataDir := testDataDir(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestEphemeralWatchdog$")
	cmd.Env = append(os.Environ(), "EMBEDDEDPG_WATCHDOG_HELPER="+dataDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(dataDir); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("data folder %s still there 20s after its process died", dataDir)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// And no server runs for it any more.
	ps, _ := exec.Command("ps", "-eo", "args").Output()
	if bytes.Contains(ps, []byte(dataDir)) {
		t.Errorf("a process still mentions %s:\n%s", dataDir, ps)
	}
}

// hideBinaries makes the search for server binaries find none: an empty
// PATH folder, install globs matching nothing, no POSTGRES_BIN_DIR.
func hideBinaries(t *testing.T) {
	oldPath, oldGlobs, oldEnv := pathEnv, searchGlobs, binDirEnv
	t.Cleanup(func() { pathEnv, searchGlobs, binDirEnv = oldPath, oldGlobs, oldEnv })
	pathEnv = func() string { return t.TempDir() }
	searchGlobs = []string{filepath.Join(t.TempDir(), "*", "bin")}
	binDirEnv = func() string { return "" }
}

// assertNoTrace fails if a refused Start left the data folder (or the
// folder that would hold it) behind.
func assertNoTrace(t *testing.T, dataDir string) {
	t.Helper()
	for _, p := range []string{dataDir, filepath.Dir(dataDir)} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a Start refused for want of binaries left %s behind (%v)", p, err)
		}
	}
}

func TestNoBinaries(t *testing.T) {
	hideBinaries(t)

	// The data folder, and the folders above it, do not exist yet.
	dataDir := filepath.Join(testDataDir(t), "nested", "data")
	_, err := Start(context.Background(), Config{DataDir: dataDir}, testLogger(t))
	if !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("Start without binaries: %v, want ErrNoBinaries", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "apt-get install postgresql") || !strings.Contains(msg, "DATABASE_URL") {
		t.Errorf("error should be one line telling how to install PostgreSQL or set DATABASE_URL: %q", msg)
	}
	assertNoTrace(t, dataDir)
	if err := CheckBinaries(""); !errors.Is(err, ErrNoBinaries) {
		t.Errorf("CheckBinaries: %v", err)
	}
	if err := CheckBinaries(t.TempDir()); !errors.Is(err, ErrNoBinaries) {
		t.Errorf("CheckBinaries(empty folder): %v", err)
	}
}

// POSTGRES_BIN_DIR names the one folder to use, and Start says so when it
// holds no server.
func TestBinDirEnv(t *testing.T) {
	real, err := findBinaries(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	hideBinaries(t)
	empty := t.TempDir()
	binDirEnv = func() string { return empty }

	dataDir := filepath.Join(testDataDir(t), "data")
	_, err = Start(context.Background(), Config{DataDir: dataDir}, testLogger(t))
	if !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("Start with POSTGRES_BIN_DIR at an empty folder: %v, want ErrNoBinaries", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "POSTGRES_BIN_DIR="+empty) ||
		!strings.Contains(msg, "apt-get install postgresql") || !strings.Contains(msg, "DATABASE_URL") {
		t.Errorf("error should be one line naming POSTGRES_BIN_DIR and how to install PostgreSQL or set DATABASE_URL: %q", msg)
	}
	assertNoTrace(t, dataDir)
	// Config.BinDir wins over the variable.
	if err := CheckBinaries(real.dir); err != nil {
		t.Errorf("CheckBinaries(%s) with POSTGRES_BIN_DIR set elsewhere: %v", real.dir, err)
	}
	// The variable is used although PATH and the usual folders hold nothing.
	binDirEnv = func() string { return real.dir }
	if b, err := findBinaries(context.Background(), "", 0); err != nil || b.dir != real.dir {
		t.Errorf("POSTGRES_BIN_DIR=%s: found %+v, %v", real.dir, b, err)
	}
}

func TestFindsBinaries(t *testing.T) {
	b, err := findBinaries(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.major < MinMajorVersion {
		t.Errorf("found %+v", b)
	}
	t.Logf("using PostgreSQL %s from %s", b.version, b.dir)
	if _, err := findBinaries(context.Background(), "", 9); err == nil || !strings.Contains(err.Error(), "PostgreSQL 9 cluster") {
		t.Errorf("asking for a missing major version: %v", err)
	}
	if got := versionFromPath("/opt/homebrew/opt/postgresql@16/bin"); got != 16000 {
		t.Errorf("versionFromPath = %d", got)
	}
}

func TestRefusesForeignNonEmptyPgdata(t *testing.T) {
	dataDir := testDataDir(t)
	if err := os.MkdirAll(filepath.Join(dataDir, "pgdata"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "pgdata", "precious.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Config{DataDir: dataDir}, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "holds no PostgreSQL cluster") {
		t.Fatalf("Start: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "pgdata", "precious.txt")); err != nil {
		t.Errorf("existing file touched: %v", err)
	}
}

func TestRootRunsAsNobodyWithoutPostgresUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only meaningful when the tests run as root")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no nobody user")
	}
	old := unprivilegedUsers
	t.Cleanup(func() { unprivilegedUsers = old })
	unprivilegedUsers = []string{"no-such-user-hopefully", "nobody"}

	dataDir := testDataDir(t)
	c := startCluster(t, Config{DataDir: dataDir, Ephemeral: true})
	if c.user == nil || c.user.name != "nobody" {
		t.Fatalf("runs as %+v", c.user)
	}
	conn := connect(t, c.URL())
	queryString(t, conn, "SELECT 'ok'")
}

// A data folder made beforehand by root (say /var/lib/signoff, mode 0755)
// stays root's; only what PostgreSQL writes is handed to its user.
func TestRootExistingDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only meaningful when the tests run as root")
	}
	dataDir := testDataDir(t)
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, Config{DataDir: dataDir})
	conn := connect(t, c.URL())
	queryString(t, conn, "SELECT 'ok'")
	for name, wantRoot := range map[string]bool{"": true, "postgres.password": true, "pgdata": false, "run": false, "postgres.log": false} {
		fi, err := os.Stat(filepath.Join(dataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if uid, _, _ := fileOwner(fi); (uid == 0) != wantRoot {
			t.Errorf("%s/%s is owned by uid %d", dataDir, name, uid)
		}
	}
	fi, err := os.Stat(filepath.Join(dataDir, "postgres.password"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("postgres.password: %v %v", fi.Mode(), err)
	}
}

func TestRootRefusesUnreachableDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only meaningful when the tests run as root")
	}
	hidden := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(hidden, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Config{DataDir: filepath.Join(hidden, "data")}, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "cannot reach the data folder") || !strings.Contains(err.Error(), "chmod o+x") {
		t.Fatalf("Start under a 0700 folder: %v", err)
	}
}

func postmasterPID(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "pgdata", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("pid %d still alive", pid)
}

// serverGone reports whether a cluster's server has shut down: PostgreSQL
// removes postmaster.pid last. (Not whether its port is free: another test
// package's cluster may take the port at once.)
func serverGone(c *Cluster) bool {
	_, err := os.Stat(filepath.Join(c.dataDir, "pgdata", "postmaster.pid"))
	return errors.Is(err, fs.ErrNotExist)
}
