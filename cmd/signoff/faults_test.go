package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/embeddedpg"
	"github.com/signoff/signoff/internal/loadgen"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// The fault tests: PostgreSQL restarted under load, the app killed with
// SIGKILL under load, SIGTERM draining. Each ends by checking that the
// items table is exactly what the audit log says, and the chain is intact.

// crowd is a group of signed-in people ticking their own items of one
// deployment as fast as they can, remembering what the server confirmed.
type crowd struct {
	base  string
	depID int64

	mu        sync.Mutex
	confirmed map[string]signoff.ItemState // last state the server confirmed
	uncertain map[string]bool              // last request failed: either state is right
	statuses  map[int]int
	failures  []failure
	successes []time.Time
}

type failure struct {
	at      time.Time
	took    time.Duration
	status  int
	body    string
	errText string
}

func newCrowd(base string, depID int64) *crowd {
	return &crowd{base: base, depID: depID, confirmed: map[string]signoff.ItemState{},
		uncertain: map[string]bool{}, statuses: map[int]int{}}
}

func browserClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func formPost(ctx context.Context, c *http.Client, base, path string, form url.Values) (int, string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("HX-Request", "true")
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

// run starts one goroutine per email; each logs in (retrying while the
// server is away) and flips its own leaves until ctx ends.
func (cr *crowd) run(ctx context.Context, emails []string, leaves []string) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i, email := range emails {
		var mine []string
		for k, p := range leaves {
			if k%len(emails) == i {
				mine = append(mine, p)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := browserClient()
			state := map[string]signoff.ItemState{}
			loggedIn := false
			for n := 0; ctx.Err() == nil; n++ {
				if !loggedIn {
					code, _, err := formPost(ctx, c, cr.base, "/login", url.Values{"email": {email}, "password": {testPassword}})
					if err != nil || code != http.StatusSeeOther {
						time.Sleep(50 * time.Millisecond)
						continue
					}
					loggedIn = true
				}
				path := mine[n%len(mine)]
				next := signoff.ItemDone
				form := url.Values{"state": {"open", "done"}}
				if state[path] == signoff.ItemDone {
					next, form = signoff.ItemOpen, url.Values{"state": {"open"}}
				}
				t0 := time.Now()
				code, body, err := formPost(ctx, c, cr.base, fmt.Sprintf("/deployments/%d/items/%s/state", cr.depID, path), form)
				took := time.Since(t0)
				if ctx.Err() != nil {
					cr.mu.Lock()
					cr.uncertain[path] = true
					cr.mu.Unlock()
					return
				}
				cr.mu.Lock()
				cr.statuses[code]++
				if err == nil && code == http.StatusOK {
					state[path] = next
					cr.confirmed[path] = next
					delete(cr.uncertain, path)
					cr.successes = append(cr.successes, time.Now())
				} else {
					f := failure{at: t0, took: took, status: code, body: body}
					if err != nil {
						f.errText = err.Error()
						cr.uncertain[path] = true // the request may or may not have landed
					}
					cr.failures = append(cr.failures, f)
					if code == http.StatusUnauthorized || code == http.StatusSeeOther {
						loggedIn = false
					}
				}
				cr.mu.Unlock()
				if err != nil || code != http.StatusOK {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	return &wg
}

// firstSuccessAfter is when the crowd first succeeded after t.
func (cr *crowd) firstSuccessAfter(t time.Time) (time.Time, bool) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	for _, s := range cr.successes {
		if s.After(t) {
			return s, true
		}
	}
	return time.Time{}, false
}

// check compares the database with what the server confirmed, and the
// items table with the audit log.
func (cr *crowd) check(t *testing.T, db *postgres.DB) {
	t.Helper()
	ctx := context.Background()
	problems, err := loadgen.Consistent(ctx, db, cr.depID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("half-written or lost change: %s", p)
	}
	items, err := db.Items(ctx, cr.depID, "")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, it := range items {
		want, ok := cr.confirmed[it.Path]
		if !ok || cr.uncertain[it.Path] {
			continue
		}
		checked++
		if it.State != want {
			t.Errorf("item %s: database has %s, the server confirmed %s", it.Path, it.State, want)
		}
	}
	t.Logf("checked %d confirmed items and the audit log; statuses %v", checked, cr.statuses)
}

// faultFixture makes people and a deployment in the database at dbURL.
func faultFixture(t *testing.T, dbURL string, people int) (*postgres.DB, []string, int64, []string) {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, dbURL, postgres.Options{MaxConns: 4, PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	var emails []string
	var first *signoff.User
	for i := range people {
		u, err := db.CreateUser(ctx, signoff.NewUser{Email: fmt.Sprintf("crowd%d@example.com", i), Name: fmt.Sprintf("Crowd %d", i), Password: testPassword},
			signoff.EventActor{Name: "test", Via: "cli"})
		if err != nil {
			t.Fatal(err)
		}
		first = u
		emails = append(emails, u.Email)
	}
	d, err := db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: "voxflow-production-deployment-checklist",
		Service: "fault", Environment: "test", Version: "v1"}, signoff.EventActor{ID: first.ID, Name: first.Name, Via: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	items, err := db.Items(ctx, d.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var leaves []string
	for _, it := range items {
		if !it.HasChildren {
			leaves = append(leaves, it.Path)
		}
	}
	return db, emails, d.ID, leaves
}

const testPassword = "correct horse battery"

// TestFaultDatabaseRestart restarts PostgreSQL in the middle of load:
// requests fail fast with 503 and a clear message, the app recovers by
// itself within 2 seconds of the database returning, nothing is
// half-written.
func TestFaultDatabaseRestart(t *testing.T) {
	dir, err := os.MkdirTemp("", "signoff-fault-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // the cluster may run as an unprivileged user
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx := context.Background()
	pgCfg := embeddedpg.Config{Port: restartPort(t), DataDir: filepath.Join(dir, "pg"), Settings: map[string]string{"fsync": "off", "synchronous_commit": "off"}}
	cluster, err := embeddedpg.Start(ctx, pgCfg, nil)
	if err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	defer func() { cluster.Stop() }()
	if err := postgres.Migrate(ctx, cluster.URL()); err != nil {
		t.Fatal(err)
	}
	db, emails, depID, leaves := faultFixture(t, cluster.URL(), 8)
	a := startApp(t, cluster.URL())

	cr := newCrowd(a.URL, depID)
	loadCtx, stop := context.WithCancel(ctx)
	wg := cr.run(loadCtx, emails, leaves)
	time.Sleep(time.Second)

	down := time.Now()
	if err := cluster.Stop(); err != nil {
		t.Fatalf("stop postgres: %v", err)
	}
	time.Sleep(1500 * time.Millisecond)
	// While it is away: readiness says so, and pages say so in words.
	res, err := http.Get(a.URL + "/readyz")
	if err != nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz while the database is down: %v %v; want 503", res.StatusCode, err)
	}
	cluster, err = embeddedpg.Start(ctx, pgCfg, nil)
	if err != nil {
		t.Fatalf("restart postgres: %v", err)
	}
	up := time.Now()
	deadline := time.Now().Add(10 * time.Second)
	var recovered time.Time
	for time.Now().Before(deadline) {
		if s, ok := cr.firstSuccessAfter(up); ok {
			recovered = s
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	wg.Wait()

	if recovered.IsZero() {
		t.Fatal("the app did not recover within 10 s of the database returning")
	}
	t.Logf("database down %v; first successful tick %v after it returned", up.Sub(down).Round(time.Millisecond), recovered.Sub(up).Round(time.Millisecond))
	if d := recovered.Sub(up); d > 2*time.Second {
		t.Errorf("recovery took %v; want at most 2 s", d)
	}
	var outage, slow, unclear int
	for _, f := range cr.failures {
		if f.at.Before(down) || f.at.After(up) {
			continue
		}
		outage++
		if f.took > 4*time.Second {
			slow++
		}
		// A request whose COMMIT was in flight is told it may or may not
		// have been made; every other one that nothing was changed.
		clear := strings.Contains(f.body, "database cannot be reached") || strings.Contains(f.body, "may or may not have been made")
		if f.errText == "" && (f.status != http.StatusServiceUnavailable || !clear) {
			unclear++
			if unclear < 3 {
				t.Logf("unclear failure during the outage: %d %.200s", f.status, f.body)
			}
		}
	}
	if outage == 0 {
		t.Error("no request failed while the database was down: the test did not test anything")
	}
	if slow > 0 || unclear > 0 {
		t.Errorf("during the outage %d requests failed: %d took over 4 s, %d without a 503 and a clear message", outage, slow, unclear)
	}
	cr.check(t, db)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the signoff command once for the process-level tests.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "signoff-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "signoff")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// process is the signoff binary serving on a port of its own.
type process struct {
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
	done chan error
}

// restartPort is a port for a private cluster the test stops and starts
// again: one the kernel hands out, not the first free one from 5433 that
// every embedded cluster looks for, which another test package's cluster
// may take while this one is down (the app would then reach a stranger).
func restartPort(t *testing.T) uint32 {
	t.Helper()
	_, port, _ := net.SplitHostPort(freePort(t))
	n, err := strconv.ParseUint(port, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startProcess(t *testing.T, dbURL, addr string, env ...string) *process {
	t.Helper()
	p := &process{base: "http://" + addr, logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(binary(t), "serve")
	p.cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "ADDR="+addr, "LOG_LEVEL=warn", "LOG_FORMAT=text",
		"LOG_CHECKPOINT_INTERVAL=1s")
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("process log:\n%s", p.logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(p.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("signoff did not become ready:\n%s", p.logs.String())
	return nil
}

// TestFaultKillAndRestart kills the app with SIGKILL in the middle of load
// and starts it again: no partial change survives, the chain is intact.
func TestFaultKillAndRestart(t *testing.T) {
	dbURL := pgtest.URL(t)
	db, emails, depID, leaves := faultFixture(t, dbURL, 10)
	addr := freePort(t)
	p := startProcess(t, dbURL, addr)

	cr := newCrowd(p.base, depID)
	ctx, stop := context.WithCancel(context.Background())
	wg := cr.run(ctx, emails, leaves)
	time.Sleep(1500 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	killed := time.Now()
	time.Sleep(300 * time.Millisecond)
	startProcess(t, dbURL, addr)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := cr.firstSuccessAfter(killed.Add(300 * time.Millisecond)); ok {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	stop()
	wg.Wait()
	if _, ok := cr.firstSuccessAfter(killed); !ok {
		t.Fatal("no tick succeeded after the restart")
	}
	cr.check(t, db)
}

// TestFaultSIGTERMDrains sends SIGTERM while page loads are in flight:
// every request the server accepted gets its whole answer, and the
// process exits cleanly.
func TestFaultSIGTERMDrains(t *testing.T) {
	dbURL := pgtest.URL(t)
	_, emails, depID, _ := faultFixture(t, dbURL, 12)
	p := startProcess(t, dbURL, freePort(t))

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var mu sync.Mutex
	var completed, refused int
	var broken []string
	var wg sync.WaitGroup
	started := make(chan struct{}, len(emails))
	for _, email := range emails {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := browserClient()
			if code, _, err := formPost(ctx, c, p.base, "/login", url.Values{"email": {email}, "password": {testPassword}}); err != nil || code != http.StatusSeeOther {
				t.Errorf("login: %d %v", code, err)
				started <- struct{}{} // the others must not wait for it
				return
			}
			started <- struct{}{}
			for ctx.Err() == nil {
				res, err := c.Get(fmt.Sprintf("%s/deployments/%d", p.base, depID))
				mu.Lock()
				switch {
				case err == nil:
					n, rerr := io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if rerr != nil || res.StatusCode != http.StatusOK || n < 10000 {
						broken = append(broken, fmt.Sprintf("status %d, %d bytes, %v", res.StatusCode, n, rerr))
					} else {
						completed++
					}
				case errors.Is(err, syscall.ECONNREFUSED):
					refused++ // after the listener closed: never accepted
				default:
					broken = append(broken, err.Error())
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	for range emails {
		<-started
	}
	time.Sleep(700 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("signoff exited with %v after SIGTERM; want 0", err)
		}
	case <-time.After(35 * time.Second):
		t.Fatal("signoff did not exit within 35 s of SIGTERM")
	}
	stop()
	wg.Wait()
	t.Logf("%d page loads completed, %d refused after shutdown began", completed, refused)
	if completed == 0 {
		t.Fatal("no page load completed: the test tested nothing")
	}
	for _, b := range broken {
		t.Errorf("an accepted request was cut off: %s", b)
	}
}
