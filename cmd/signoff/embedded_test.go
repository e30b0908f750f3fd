package main

// The embedded database from a shell: every command works beside a
// running server, on its cluster and with its signing key. These tests
// start real servers from the machine's PostgreSQL binaries (they fail,
// never skip, without them).

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/embeddedpg"
	"github.com/signoff/signoff/internal/postgres"
)

// dataDirFor returns a DATA_DIR that does not exist yet. As root it makes
// the temporary folders above it searchable, since PostgreSQL then runs as
// an unprivileged user that must reach it.
func dataDirFor(t *testing.T) string {
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

// server is `signoff serve` running in a child process.
type server struct {
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
	done chan error
}

// startServe runs `signoff serve` with env on a free port, waits until it
// is ready and stops it (SIGTERM) when the test ends. With the embedded
// database, a server that does not stop has its cluster stopped for it.
func startServe(t *testing.T, dataDir string, env ...string) *server {
	t.Helper()
	addr := freePort(t)
	s := &server{base: "http://" + addr, logs: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(os.Args[0], "-test.run=^TestSignoffProcess$", "--", "serve")
	s.cmd.Env = append([]string{"SIGNOFF_TEST_PROCESS=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"LOG_LEVEL=warn", "LOG_FORMAT=text", "DATA_DIR=" + dataDir, "ADDR=" + addr,
		"LOG_CHECKPOINT_INTERVAL=1s"}, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("stop the server: %v", err)
			s.cmd.Process.Kill()
			stopLeftCluster(t, dataDir)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs.String())
		}
	})
	deadline := time.Now().Add(2 * time.Minute) // initdb included
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("signoff serve exited (%v):\n%s", err, s.logs.String())
		default:
		}
		if res, err := http.Get(s.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("signoff serve did not become ready:\n%s", s.logs.String())
	return nil
}

// stop sends SIGTERM and waits for a clean exit; calling it again does
// nothing.
func (s *server) stop() error {
	if s.cmd.ProcessState != nil {
		return nil
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(40 * time.Second):
		return errors.New("no exit within 40 s of SIGTERM")
	}
}

// stopLeftCluster stops an embedded cluster its server left running: a
// Start adopts it and Stop stops it.
func stopLeftCluster(t *testing.T, dataDir string) {
	c, err := embeddedpg.Start(context.Background(), embeddedpg.Config{DataDir: filepath.Join(dataDir, "postgres")}, nil)
	if err == nil {
		err = c.Stop()
	}
	if err != nil {
		t.Errorf("stop the cluster left running in %s: %v", dataDir, err)
	}
}

// get fetches base+path and returns the body of a 200 answer.
func get(t *testing.T, url string) []byte {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, res.Status, err)
	}
	return b
}

// ok runs a signoff command and fails unless it exits 0.
func ok(t *testing.T, env []string, args ...string) signoffRun {
	t.Helper()
	r := signoffExec(t, env, args...)
	if r.code != 0 {
		t.Fatalf("signoff %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// Issue 10: while `signoff serve` runs on the embedded cluster, every
// command works from another process against that cluster and with the
// server's signing key, and leaves the server running; exports verify with
// the key the server publishes. A second server is refused, and a command
// that reaches the cluster by DATABASE_URL without the key is refused
// rather than making a second one.
func TestCLIBesideEmbeddedServer(t *testing.T) {
	dataDir := dataDirFor(t)
	srv := startServe(t, dataDir)
	env := []string{"DATA_DIR=" + dataDir}
	dir := t.TempDir()

	ok(t, append(env, "SIGNOFF_PASSWORD="+testPassword), "user", "add", "--email", "ci@example.com", "--name", "CI Bot")
	secret := strings.TrimSpace(ok(t, env, "token", "create", "--name", "ci", "--user", "ci@example.com").stdout)
	if code := apiGet(t, srv.base, secret, "/deployments"); code != http.StatusOK {
		t.Fatalf("the token the CLI issued: status %d from the running server", code)
	}
	if out := ok(t, env, "migrate", "status").stdout; !strings.Contains(out, "(clean)") || strings.Contains(out, "pending") {
		t.Fatalf("migrate status: %q", out)
	}
	ok(t, env, "demo")
	file := filepath.Join(dir, "d1.json")
	ok(t, env, "export", "1", "-o", file)

	// The export verifies with the key the server publishes.
	published := get(t, srv.base+"/.well-known/signoff-signing-key")
	pub, err := audit.ParsePublicKey(string(published))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(data, pub); err != nil {
		t.Fatalf("the CLI's export does not verify with the server's key: %v", err)
	}
	keyFile := filepath.Join(dir, "signoff.pub")
	os.WriteFile(keyFile, published, 0o644)
	if out := ok(t, nil, "verify", file, "--key", keyFile).stdout; !strings.HasPrefix(out, "OK deployment 1 ") {
		t.Fatalf("verify --key (the server's): %q", out)
	}
	if k, err := audit.ParsePublicKey(ok(t, env, "keys").stdout); err != nil || !k.Equal(pub) {
		t.Fatalf("signoff keys prints another key than the server publishes (%v)", err)
	}

	// The commands left the server and its cluster running.
	get(t, srv.base+"/readyz")

	// A second server on the same DATA_DIR: one clear line.
	r := signoffExec(t, append(env, "ADDR="+freePort(t)), "serve")
	line := oneLine(t, "second serve", r.stderr)
	if want := "signoff: DATA_DIR " + dataDir + " is in use by another signoff server (pid "; r.code != 1 || !strings.HasPrefix(line, want) {
		t.Fatalf("second serve: exit %d, %q; want exit 1 and %q…", r.code, line, want)
	}

	// DATABASE_URL pointed at the running cluster, without the key: refused,
	// naming the server's key, and no second key is made.
	dbURL := clusterURL(t, dataDir)
	r = signoffExec(t, []string{"DATABASE_URL=" + dbURL}, "export", "1")
	line = oneLine(t, "export by DATABASE_URL", r.stderr)
	if r.code != 1 || !strings.Contains(line, audit.Fingerprint(pub)) || !strings.Contains(line, "SIGNING_KEY_FILE") {
		t.Fatalf("export by DATABASE_URL without the key: exit %d, %q", r.code, line)
	}
	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := db.SigningKeys(context.Background())
	db.Close()
	if err != nil || stored.Seed != nil || !pub.Equal(ed25519.PublicKey(stored.Published)) {
		t.Fatalf("the database holds %+v (%v); want the server's public key and no key of its own", stored, err)
	}
	// With the key, it works.
	r = ok(t, []string{"DATABASE_URL=" + dbURL, "SIGNING_KEY_FILE=" + filepath.Join(dataDir, "signing.key")}, "export", "1")
	if _, err := audit.Verify([]byte(r.stdout), pub); err != nil {
		t.Fatalf("export by DATABASE_URL with the server's key: %v", err)
	}

	// The server still serves, then stops cleanly with its cluster.
	get(t, srv.base+"/readyz")
	if err := srv.stop(); err != nil {
		t.Fatalf("signoff serve after SIGTERM: %v\n%s", err, srv.logs.String())
	}
	if _, err := os.Stat(filepath.Join(dataDir, "postgres", "pgdata", "postmaster.pid")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the cluster still runs after its server stopped (%v)", err)
	}
	// Without a server, a command runs the cluster itself and stops it.
	if out := ok(t, env, "token", "list").stdout; !strings.Contains(out, "ci@example.com") {
		t.Fatalf("token list with no server running: %q", out)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "postgres", "pgdata", "postmaster.pid")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a command left the cluster it started running (%v)", err)
	}
}

// clusterURL is the superuser URL of the embedded cluster a server runs
// in dataDir, as an operator would piece it together from the data folder.
func clusterURL(t *testing.T, dataDir string) string {
	t.Helper()
	pw, err := os.ReadFile(filepath.Join(dataDir, "postgres", "postgres.password"))
	if err != nil {
		t.Fatal(err)
	}
	port, err := os.ReadFile(filepath.Join(dataDir, "postgres", "postgres.port"))
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", strings.TrimSpace(string(pw))),
		Host: "127.0.0.1:" + strings.TrimSpace(string(port)), Path: "/signoff", RawQuery: "sslmode=disable"}
	return u.String()
}

// Two servers on one DATA_DIR and one ADDR: the second is refused on the
// port before it touches the data folder.
func TestServeRefusesTakenAddr(t *testing.T) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dataDir := dataDirFor(t)
	r := signoffExec(t, []string{"DATA_DIR=" + dataDir, "ADDR=" + l.Addr().String()}, "serve")
	line := oneLine(t, "serve on a taken port", r.stderr)
	if r.code != 1 || !strings.HasPrefix(line, fmt.Sprintf("signoff: ADDR %s: ", l.Addr())) || !strings.Contains(line, "address already in use") {
		t.Fatalf("serve on a taken port: exit %d, %q", r.code, line)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("serve on a taken port created %s (%v)", dataDir, err)
	}
}
