package embeddedpg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// holder is what the process holding postgres.lock says about itself, in
// the lock file, for the processes that find the data folder in use.
type holder struct {
	PID    int    `json:"pid"`
	Owner  string `json:"owner"`
	Shared bool   `json:"shared"`
	// Port and SocketDir say where the server listens, written when the
	// host calls Share; until then Port is 0.
	Port      uint32 `json:"port,omitempty"`
	SocketDir string `json:"socket_dir,omitempty"`
}

// InUseError is Start's error when another process runs the data folder's
// cluster and this one may neither join it nor wait for it (or waited
// StartTimeout in vain).
type InUseError struct {
	DataDir string
	Owner   string        // the other process, as it named itself ("signoff serve"); may be empty
	PID     int           // 0 when it could not be told
	Shared  bool          // the other process hosts the cluster (Config.Shared)
	Waited  time.Duration // how long Start waited for it (StartTimeout), or 0
}

func (e *InUseError) Error() string {
	who := "another process"
	if e.PID != 0 {
		who = fmt.Sprintf("another process (%s, pid %d)", e.Owner, e.PID)
	}
	if e.Waited > 0 {
		return fmt.Sprintf("data folder %s is still in use by %s after waiting %s", e.DataDir, who, e.Waited)
	}
	return fmt.Sprintf("data folder %s is in use by %s", e.DataDir, who)
}

// claimPoll is how often claim looks again at a data folder in use.
const claimPoll = 100 * time.Millisecond

// claim takes the data folder's lock, or joins the cluster its holder
// hosts (joined is then true), or waits for the holder, as Config.Shared
// and Config.Join allow; see verdict.
func (c *Cluster) claim(ctx context.Context) (joined bool, err error) {
	began := time.Now()
	logged := false
	for {
		h, err := c.acquireLock()
		if err != nil || h == nil {
			return false, err
		}
		switch c.verdict(h) {
		case refuse:
			return false, c.inUse(h, 0)
		case join:
			err := c.join(ctx, h)
			if err == nil {
				return true, nil
			}
			// The host may be stopping: look again, for a while.
			if errors.Is(err, errCannotJoin) || time.Since(began) > c.cfg.StartTimeout {
				return false, fmt.Errorf("join the embedded postgres of %s (pid %d): %w", h.Owner, h.PID, err)
			}
		}
		if time.Since(began) > c.cfg.StartTimeout {
			return false, c.inUse(h, c.cfg.StartTimeout)
		}
		if !logged && h.PID != 0 {
			c.logger.Info("waiting for another process to be done with the data folder", "data_dir", c.dataDir, "owner", h.Owner, "owner_pid", h.PID)
			logged = true
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(claimPoll):
		}
	}
}

// What claim does about the holder of the lock.
const (
	wait   = iota // look again shortly
	join          // connect to its cluster
	refuse        // fail with an *InUseError
)

func (c *Cluster) verdict(h *holder) int {
	switch {
	case !c.cfg.Shared && !c.cfg.Join:
		return refuse // exclusive, as it always was
	case h.PID == 0:
		return wait // the holder has just taken the lock, or just died
	case h.Shared && c.cfg.Shared:
		return refuse // one host per data folder
	case h.Shared && h.Port != 0:
		return join
	}
	return wait // a host still starting, or a command running it unshared
}

func (c *Cluster) inUse(h *holder, waited time.Duration) error {
	return &InUseError{DataDir: c.dataDir, Owner: h.Owner, PID: h.PID, Shared: h.Shared, Waited: waited}
}

// errCannotJoin marks a failure to join that looking again will not mend.
var errCannotJoin = errors.New("cannot read the cluster's superuser password")

// join connects to the cluster h hosts. The password is the cluster's own,
// so a port that some other server took meanwhile cannot be mistaken for it.
func (c *Cluster) join(ctx context.Context, h *holder) error {
	pw, err := os.ReadFile(c.passwordPath())
	if err != nil {
		return fmt.Errorf("%w: %w", errCannotJoin, err)
	}
	c.password = strings.TrimSpace(string(pw))
	c.port = h.Port
	if err := c.waitReady(ctx, 10*time.Second); err != nil {
		return err
	}
	if err := c.ensureDatabase(ctx); err != nil {
		return err
	}
	c.host = h
	return nil
}

// Share tells the processes that Start with Join that the cluster is ready
// for them (the app calls it once it has migrated the database); until
// then they wait. It needs Config.Shared.
func (c *Cluster) Share() error {
	if !c.cfg.Shared || c.lock == nil {
		return errors.New("share the embedded postgres: not started as its host")
	}
	return c.writeHolder(c.port)
}

// Joined reports whether Start joined a cluster another process hosts
// (see Config.Join): it is that process's to migrate and to stop.
func (c *Cluster) Joined() bool { return c.host != nil }

func (c *Cluster) lockPath() string { return filepath.Join(c.dataDir, "postgres.lock") }

// acquireLock takes the data folder's lock and records this process in it,
// or, when another process holds it, returns what that process recorded
// (a zero holder if it has not yet, or it could not be read).
func (c *Cluster) acquireLock() (*holder, error) {
	f, err := os.OpenFile(c.lockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data folder: %w", err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock data folder: %w", err)
	}
	if !ok {
		f.Close()
		return c.readHolder(), nil
	}
	c.lock = f
	if err := c.writeHolder(0); err != nil {
		c.release()
		return nil, err
	}
	return nil, nil
}

// writeHolder records this process in the lock file (with port, once the
// cluster is shared).
func (c *Cluster) writeHolder(port uint32) error {
	h := holder{PID: os.Getpid(), Owner: c.cfg.Owner, Shared: c.cfg.Shared, Port: port}
	if port != 0 {
		h.SocketDir = c.socketDir()
	}
	b, _ := json.Marshal(h) // plain fields: never fails
	// Readers may see the file empty for a moment; they wait and look again.
	if err := c.lock.Truncate(0); err != nil {
		return fmt.Errorf("record the data folder's holder: %w", err)
	}
	if _, err := c.lock.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("record the data folder's holder: %w", err)
	}
	return nil
}

// readHolder reads what the holder of the lock recorded. A record whose
// process is gone is one a crashed holder left and the new one has not
// replaced yet: it counts as none.
func (c *Cluster) readHolder() *holder {
	var h holder
	b, err := os.ReadFile(c.lockPath())
	if err != nil || json.Unmarshal(b, &h) != nil || h.PID <= 0 || !processAlive(h.PID) {
		return &holder{}
	}
	return &h
}

// release lets go of the data folder lock and the watchdog.
func (c *Cluster) release() {
	if c.watchdog != nil {
		_ = c.watchdog.Process.Kill()
		_ = c.watchdog.Wait()
		watchdogs.Delete(c.watchdog)
		c.watchdog = nil
	}
	if c.lock != nil {
		c.unshare()
		c.lock.Close()
		c.lock = nil
	}
}

// unshare erases this process's record from the lock file, so that no
// process joins a cluster on its way down: they wait for the lock instead.
func (c *Cluster) unshare() {
	if c.lock != nil {
		_ = c.lock.Truncate(0)
	}
}
