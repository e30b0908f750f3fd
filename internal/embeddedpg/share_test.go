//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package embeddedpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// startAsync starts a cluster in the background; the result arrives on the
// channel.
func startAsync(t *testing.T, cfg Config) <-chan startResult {
	t.Helper()
	ch := make(chan startResult, 1)
	go func() {
		c, err := Start(context.Background(), cfg, testLogger(t))
		ch <- startResult{c, err}
	}()
	return ch
}

type startResult struct {
	c   *Cluster
	err error
}

// awaitStart waits for a background Start and stops its cluster when the
// test ends.
func awaitStart(t *testing.T, ch <-chan startResult) *Cluster {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		t.Cleanup(func() {
			if err := r.c.Stop(); err != nil {
				t.Error(err)
			}
		})
		return r.c
	case <-time.After(time.Minute):
		t.Fatal("Start did not return within a minute")
	}
	return nil
}

// stillWaiting fails if a background Start returned within d.
func stillWaiting(t *testing.T, ch <-chan startResult, d time.Duration) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("Start returned (%v) while it should wait", r.err)
	case <-time.After(d):
	}
}

// A host's cluster is joined by the processes that Start with Join, once
// the host shares it; they leave it running. A second host is refused, and
// an exclusive Start too.
func TestJoinSharedCluster(t *testing.T) {
	dataDir := testDataDir(t)
	host := startCluster(t, Config{DataDir: dataDir, Shared: true, Owner: "test host"})

	pending := startAsync(t, Config{DataDir: dataDir, Join: true})
	stillWaiting(t, pending, 500*time.Millisecond) // not shared yet
	if err := host.Share(); err != nil {
		t.Fatal(err)
	}
	guest := awaitStart(t, pending)
	if !guest.Joined() || host.Joined() || guest.port != host.port || guest.URL() != host.URL() {
		t.Fatalf("guest joined %v on port %d, host on %d", guest.Joined(), guest.port, host.port)
	}
	conn := connect(t, guest.URL())
	queryString(t, conn, "SELECT 'via the guest'")
	conn.Close(context.Background())

	// Where the host listens is in the lock file, for the guests.
	if h := host.readHolder(); h.PID != os.Getpid() || !h.Shared || h.Port != host.port || h.SocketDir != host.runDir || h.Owner != "test host" {
		t.Errorf("lock file records %+v", h)
	}

	if err := guest.Stop(); err != nil {
		t.Fatal(err)
	}
	conn = connect(t, host.URL())
	queryString(t, conn, "SELECT 'the host still serves'")
	conn.Close(context.Background())

	for _, cfg := range []Config{{DataDir: dataDir, Shared: true}, {DataDir: dataDir}} {
		_, err := Start(context.Background(), cfg, testLogger(t))
		var inUse *InUseError
		if !errors.As(err, &inUse) || !inUse.Shared || inUse.PID != os.Getpid() || inUse.Waited != 0 ||
			!strings.Contains(err.Error(), fmt.Sprintf("in use by another process (test host, pid %d)", os.Getpid())) {
			t.Errorf("Start(shared %v) beside a host: %v; want an *InUseError naming the host", cfg.Shared, err)
		}
	}

	// With the host gone, a Join Start runs the cluster itself.
	if err := host.Stop(); err != nil {
		t.Fatal(err)
	}
	alone := startCluster(t, Config{DataDir: dataDir, Join: true})
	if alone.Joined() {
		t.Fatal("joined a cluster nobody hosts")
	}
	conn = connect(t, alone.URL())
	queryString(t, conn, "SELECT 'ok'")
	conn.Close(context.Background())
	if err := alone.Stop(); err != nil {
		t.Fatal(err)
	}
	if !serverGone(alone) {
		t.Errorf("the server on port %d still runs after the cluster's own Stop", alone.port)
	}
}

// A cluster run unshared (a shell command, with no server up) is waited
// for, by a would-be host and by a would-be guest alike, and then taken
// over; waiting too long fails with an *InUseError.
func TestWaitForUnsharedHolder(t *testing.T) {
	dataDir := testDataDir(t)
	for _, cfg := range []Config{{Shared: true}, {Join: true}} {
		cfg.DataDir = dataDir
		owner := startCluster(t, Config{DataDir: dataDir, Owner: "test command"})
		pending := startAsync(t, cfg)
		stillWaiting(t, pending, 500*time.Millisecond)
		if err := owner.Stop(); err != nil {
			t.Fatal(err)
		}
		next := awaitStart(t, pending)
		if next.Joined() {
			t.Fatalf("shared %v: joined an unshared cluster", cfg.Shared)
		}
		if err := next.Stop(); err != nil {
			t.Fatal(err)
		}
	}

	startCluster(t, Config{DataDir: dataDir, Owner: "test command"})
	_, err := Start(context.Background(), Config{DataDir: dataDir, Join: true, StartTimeout: 300 * time.Millisecond}, testLogger(t))
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.Shared || inUse.Waited == 0 || !strings.Contains(err.Error(), "still in use by another process (test command") {
		t.Fatalf("Join beside a command that does not finish: %v", err)
	}
}
