// Package embeddedpg runs Signoff's embedded default database: a private
// PostgreSQL cluster started from the PostgreSQL server binaries already
// installed on the machine (nothing is downloaded), kept in a data folder
// across restarts. The app uses it when it starts without DATABASE_URL.
//
// Layout of Config.DataDir:
//
//	pgdata/             the cluster; initdb runs once, on the first start
//	run/                the server's unix socket
//	postgres.log        server, initdb and pg_ctl output (rotated to
//	                    postgres.log.1 at start once past 10 MiB)
//	postgres.password   the generated superuser password (mode 0600)
//	postgres.port       the port last used, reused while free so the URL
//	                    stays the same from one start to the next
//	postgres.lock       locked while a Cluster runs, so that two processes
//	                    never drive one data folder; it holds who runs it
//	                    (pid, name, whether it shares the cluster) and, once
//	                    a host shares it, where the server listens
//
// The server listens on 127.0.0.1 only and asks for the password on every
// connection (scram-sha-256), so other users of the machine cannot get in.
// It runs in a session of its own, so a Ctrl-C meant for the app does not
// stop it under the app's feet; Stop stops it. If the app dies without
// calling Stop the server keeps running and the next Start adopts it.
//
// One process runs the cluster at a time, but others may use it: the web
// server starts its cluster Shared, and the shell commands run beside it
// (Join) connect to that cluster, with the password in postgres.password
// and the port the host wrote into postgres.lock, rather than fail or start
// a second server on the same files. They never stop it; only the process
// holding the lock does, so a command cannot take the database away from
// the server. A second host is refused, and a host or a joiner that finds
// the cluster run unshared (by a shell command, when no server was up)
// waits for that command to finish.
//
// Running as root: PostgreSQL refuses to run as root, so initdb and pg_ctl
// (and therefore the server) are run, through syscall.Credential, as an
// unprivileged user: the owner of an existing pgdata, else "postgres",
// else "nobody". That user owns pgdata, run/ and postgres.log (and DataDir
// when Start creates it) and must be able to reach DataDir: a data folder
// under /root (mode 0700) is refused with an explanation.
//
// Implementation note: github.com/fergusstrange/embedded-postgres is not
// used. It cannot run initdb or pg_ctl as another user (so it fails as
// root), it deletes its runtime folder on every start and deletes the data
// folder whenever the configured version differs from PG_VERSION (so a
// PostgreSQL upgrade on the machine would wipe the app's data), and it has
// no control over the socket folder. Driving initdb and pg_ctl directly is
// a few hundred lines and keeps those decisions here.
package embeddedpg

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Config says where and how to run the cluster.
type Config struct {
	// DataDir is the folder holding the cluster and its files, e.g.
	// "./signoff-data". Required; created if missing.
	DataDir string

	// Port is the TCP port on 127.0.0.1. Zero picks one: the port stored
	// in DataDir by the previous start if it is still free, else the
	// first free port from 5433 on (any free port for Ephemeral clusters).
	Port uint32

	// Database is the database URL points at, created if missing.
	// Default "signoff".
	Database string

	// BinDir is the folder holding initdb, pg_ctl and postgres. Empty
	// means the folder named by the POSTGRES_BIN_DIR environment variable
	// if set, else a search of PATH, then the usual install folders such
	// as /usr/lib/postgresql/*/bin (highest version first).
	BinDir string

	// Settings are extra server settings (postgresql.conf names and
	// values) given to the server on every start, e.g.
	// {"max_connections": "300"}.
	Settings map[string]string

	// Ephemeral marks a throwaway cluster, for tests: initdb skips
	// fsync, the server runs with fsync, synchronous_commit and
	// full_page_writes off, Stop does an immediate shutdown and deletes
	// DataDir, and a watchdog does the same if the process dies without
	// calling Stop (a panicking or timed-out test binary).
	Ephemeral bool

	// StartTimeout bounds the wait for the server to accept connections,
	// crash recovery included, and the wait for another process to be
	// done with the data folder (see Shared and Join). Default 2 minutes.
	StartTimeout time.Duration

	// Shared makes this process the cluster's host: processes that Start
	// with Join connect to the cluster it runs instead of starting one,
	// once it calls Share. Only one process at a time hosts a data
	// folder's cluster: a second Start with Shared fails with an
	// *InUseError. A process that runs the cluster unshared (a shell
	// command) is waited for.
	Shared bool

	// Join makes Start connect to the cluster a live host (see Shared)
	// runs on DataDir, waiting for it to call Share if it is starting;
	// Stop then leaves that cluster running. With no host running, Start
	// runs the cluster itself, unshared, as without Join (after waiting
	// for any other process running it unshared to finish).
	Join bool

	// Owner names this process to the others that find the data folder
	// in use, e.g. "signoff serve". Default: the program's file name.
	Owner string
}

// Cluster is a running embedded PostgreSQL server.
type Cluster struct {
	cfg      Config
	dataDir  string // absolute
	pgdata   string
	runDir   string
	logPath  string
	bin      binaries
	user     *runAs // nil: run as the current user
	port     uint32
	password string
	logger   *slog.Logger

	lock     *os.File // held while this process runs the cluster
	host     *holder  // set when the cluster was joined: who runs it
	watchdog *exec.Cmd

	mu      sync.Mutex
	stopped bool
}

// runAs is the unprivileged user PostgreSQL runs as when the app is root.
type runAs struct {
	name     string
	uid, gid uint32
}

// pidState results.
const (
	pidGone  = iota // no such process
	pidOther        // some other program, or a zombie
	pidOurs         // (presumably) the postmaster of this data folder
)

const (
	superuser      = "postgres"
	logRotateBytes = 10 << 20
	firstPort      = 5433
	portScan       = 20
	// maxSocketPath keeps <run>/.s.PGSQL.<port> within sun_path on every
	// platform (104 bytes on macOS and the BSDs, 108 on Linux).
	maxSocketPath = 103
)

// unprivilegedUsers are the users PostgreSQL may run as when the app is
// root and no cluster exists yet, in order of preference. A variable so
// tests can replace it.
var unprivilegedUsers = []string{"postgres", "nobody"}

var settingNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_.]*$`)

// Start starts the cluster described by cfg, running initdb first if
// DataDir holds none yet, and creates cfg.Database if missing. It logs a
// line to logger (slog.Default() when nil) once the server is up.
//
// A server left running on DataDir by a process that died without calling
// Stop is adopted rather than started anew. A stale postmaster.pid left by
// a crash is handled. An existing cluster is never deleted or
// re-initialised: if the installed binaries do not match its major version
// Start fails and says so.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (*Cluster, error) {
	if logger == nil {
		logger = slog.Default()
	}
	c, err := start(ctx, cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	return c, nil
}

func start(ctx context.Context, cfg Config, logger *slog.Logger) (_ *Cluster, err error) {
	began := time.Now()
	c, err := newCluster(cfg, logger)
	if err != nil {
		return nil, err
	}
	// Find the binaries before creating or locking anything: without them
	// Start fails and leaves no trace (no empty data folder, no lock file).
	// Which major version is needed depends on the cluster already there.
	existingMajor, err := c.clusterVersion()
	if err != nil {
		return nil, err
	}
	if c.bin, err = findBinaries(ctx, c.cfg.BinDir, existingMajor); err != nil {
		return nil, err
	}
	createdDataDir, err := c.makeDataDir()
	if err != nil {
		return nil, err
	}
	joined, err := c.claim(ctx)
	if err != nil {
		return nil, err
	}
	if joined {
		logger.Info("joined the embedded postgres another process runs", "data_dir", c.dataDir, "port", c.port,
			"owner", c.host.Owner, "owner_pid", c.host.PID, "took", time.Since(began).Round(time.Millisecond))
		return c, nil
	}
	defer func() {
		if err != nil {
			c.release()
		}
	}()
	fresh, adopted, err := c.bringUp(ctx, existingMajor, createdDataDir)
	if err != nil {
		return nil, err
	}
	attrs := []any{
		"data_dir", c.dataDir,
		"port", c.port,
		"database", c.cfg.Database,
		"version", c.bin.version,
		"bin_dir", c.bin.dir,
		"new_cluster", fresh,
		"adopted", adopted,
		"took", time.Since(began).Round(time.Millisecond),
	}
	if c.user != nil {
		attrs = append(attrs, "run_as", c.user.name)
	}
	logger.Info("embedded postgres started", attrs...)
	return c, nil
}

// newCluster checks cfg, fills in its defaults and works out the paths.
func newCluster(cfg Config, logger *slog.Logger) (*Cluster, error) {
	if !supported {
		return nil, fmt.Errorf("the embedded database is not supported on %s; set DATABASE_URL to use a PostgreSQL server", runtime.GOOS)
	}
	if cfg.DataDir == "" {
		return nil, errors.New("no data folder configured")
	}
	if cfg.Shared && cfg.Join {
		return nil, errors.New("a cluster is either shared or joined, not both")
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	// pg_ctl hands the data folder to /bin/sh inside double quotes.
	if strings.ContainsAny(dataDir, "\"$`\\\n") {
		return nil, fmt.Errorf("data folder %q: the characters \" $ ` \\ and newlines are not supported in its path", dataDir)
	}
	if cfg.Database == "" {
		cfg.Database = "signoff"
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 2 * time.Minute
	}
	if cfg.Owner == "" {
		cfg.Owner = filepath.Base(os.Args[0])
	}
	for name := range cfg.Settings {
		if !settingNameRE.MatchString(name) {
			return nil, fmt.Errorf("invalid server setting name %q", name)
		}
	}
	return &Cluster{
		cfg:     cfg,
		dataDir: dataDir,
		pgdata:  filepath.Join(dataDir, "pgdata"),
		runDir:  filepath.Join(dataDir, "run"),
		logPath: filepath.Join(dataDir, "postgres.log"),
		logger:  logger,
	}, nil
}

// makeDataDir creates the data folder if it does not exist yet.
func (c *Cluster) makeDataDir() (created bool, err error) {
	_, err = os.Stat(c.dataDir)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("data folder: %w", err)
	}
	// Folders created above it are searchable (not listable) by others:
	// as root, PostgreSQL runs as another user who must walk through them.
	if err := os.MkdirAll(filepath.Dir(c.dataDir), 0o711); err != nil {
		return false, fmt.Errorf("create data folder: %w", err)
	}
	if err := os.Mkdir(c.dataDir, 0o700); err != nil {
		return false, fmt.Errorf("create data folder: %w", err)
	}
	return true, nil
}

// bringUp runs the cluster of the data folder this process now holds:
// initdb the first time, else adopt a server left running or start one;
// then it makes sure the database exists.
func (c *Cluster) bringUp(ctx context.Context, existingMajor int, createdDataDir bool) (fresh, adopted bool, err error) {
	if c.cfg.Ephemeral {
		if err := c.startWatchdog(); err != nil {
			return false, false, err
		}
	}
	// Another process may have created the cluster between the first look
	// and the lock; now that nobody else can, look again.
	if major, err := c.clusterVersion(); err != nil {
		return false, false, err
	} else if major != existingMajor {
		existingMajor = major
		if c.bin, err = findBinaries(ctx, c.cfg.BinDir, existingMajor); err != nil {
			return false, false, err
		}
	}
	if os.Geteuid() == 0 {
		if err := c.setUpUnprivilegedUser(createdDataDir); err != nil {
			return false, false, err
		}
	}
	if err := c.prepareFiles(); err != nil {
		return false, false, err
	}
	fresh = existingMajor == 0 // no cluster yet: initdb
	if err := c.initOrReadPassword(ctx, fresh); err != nil {
		return false, false, err
	}
	if !fresh {
		if adopted, err = c.adoptRunning(ctx); err != nil {
			return false, false, err
		}
	}
	if !adopted {
		if err := c.startServer(ctx); err != nil {
			return false, false, err
		}
	}
	if err := c.ensureDatabase(ctx); err != nil {
		if !adopted {
			_ = c.pgctlStop()
		}
		return false, false, err
	}
	return fresh, adopted, nil
}

// initOrReadPassword runs initdb for a new cluster, or reads the superuser
// password of the existing one.
func (c *Cluster) initOrReadPassword(ctx context.Context, fresh bool) error {
	if !fresh {
		pw, err := os.ReadFile(c.passwordPath())
		if err != nil {
			return fmt.Errorf("read the superuser password of the existing cluster: %w", err)
		}
		c.password = strings.TrimSpace(string(pw))
		return nil
	}
	if c.cfg.Port != 0 && !portFree(c.cfg.Port) {
		return fmt.Errorf("port %d on 127.0.0.1 is already in use", c.cfg.Port)
	}
	return c.initdb(ctx)
}

// URL returns a postgres:// URL of cfg.Database for pgx (or any libpq-style
// client), with the superuser's credentials.
func (c *Cluster) URL() string { return c.urlFor(c.cfg.Database) }

func (c *Cluster) urlFor(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(superuser, c.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.FormatUint(uint64(c.port), 10)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop shuts the server down (pg_ctl stop -m fast; immediate for Ephemeral
// clusters, whose DataDir it then deletes) and releases the data folder.
// A joined cluster (see Config.Join) is left running: it is its host's.
// Calling it again does nothing.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	if c.host != nil {
		// Joined: the cluster is its host's to stop.
		c.logger.Debug("left the embedded postgres to the process that runs it", "data_dir", c.dataDir, "owner_pid", c.host.PID)
		return nil
	}
	began := time.Now()

	c.unshare()
	err := c.pgctlStop()
	c.release()
	if c.cfg.Ephemeral {
		if rmErr := os.RemoveAll(c.dataDir); rmErr != nil && err == nil {
			err = fmt.Errorf("remove data folder: %w", rmErr)
		}
	}
	if err != nil {
		c.logger.Error("embedded postgres stop failed", "data_dir", c.dataDir, "err", err)
		return fmt.Errorf("stop postgres: %w", err)
	}
	c.logger.Info("embedded postgres stopped", "data_dir", c.dataDir, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

func (c *Cluster) passwordPath() string { return filepath.Join(c.dataDir, "postgres.password") }
func (c *Cluster) portPath() string     { return filepath.Join(c.dataDir, "postgres.port") }

// watchdogScript waits for its stdin (a pipe from this process) to reach
// end of file, which happens when this process exits however it exits,
// then shuts the server down immediately and deletes the data folder.
const watchdogScript = `trap '' HUP INT TERM
read -r _ || :
pidfile="$1/pgdata/postmaster.pid"
if [ -f "$pidfile" ]; then
	pid=$(head -n 1 "$pidfile")
	if [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null; then
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
			sleep 0.1 2>/dev/null || sleep 1
			i=$((i + 1))
		done
	fi
fi
rm -rf "$1"
`

func (c *Cluster) startWatchdog() error {
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "embeddedpg-watchdog", c.dataDir)
	cmd.SysProcAttr = sysProcAttr(nil, true)
	// The write end is close-on-exec, so only this process holds it.
	if _, err := cmd.StdinPipe(); err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	c.watchdog = cmd
	// Keep the pipe reachable even if the caller drops the Cluster without
	// calling Stop: a finalizer closing it would stop the server.
	watchdogs.Store(cmd, true)
	return nil
}

var watchdogs sync.Map // *exec.Cmd -> true

// clusterVersion returns the major version of the cluster in pgdata, or 0
// if there is none yet.
func (c *Cluster) clusterVersion() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.pgdata, "PG_VERSION"))
	if err == nil {
		major, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return 0, fmt.Errorf("%s/PG_VERSION: unexpected content %q", c.pgdata, b)
		}
		return major, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("read cluster version: %w", err)
	}
	entries, err := os.ReadDir(c.pgdata)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read cluster folder: %w", err)
	}
	if len(entries) > 0 {
		return 0, fmt.Errorf("%s is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it out of the way", c.pgdata)
	}
	return 0, nil
}

// setUpUnprivilegedUser picks the user PostgreSQL runs as when the app is
// root and makes sure that user can reach the data folder.
func (c *Cluster) setUpUnprivilegedUser(createdDataDir bool) error {
	u, err := pickUser(c.pgdata)
	if err != nil {
		return err
	}
	c.user = u
	if createdDataDir {
		if err := os.Chown(c.dataDir, int(u.uid), int(u.gid)); err != nil {
			return fmt.Errorf("hand the data folder to user %s: %w", u.name, err)
		}
	}
	if err := checkReachable(c.dataDir, u); err != nil {
		return err
	}
	// A cluster copied around by root must be handed back to the user.
	if fi, err := os.Stat(c.pgdata); err == nil {
		if uid, _, ok := fileOwner(fi); ok && uid != u.uid {
			if err := chownTree(c.pgdata, u); err != nil {
				return fmt.Errorf("hand the cluster folder to user %s: %w", u.name, err)
			}
		}
	}
	return nil
}

// pickUser chooses the owner of an existing cluster, else "postgres", else
// "nobody".
func pickUser(pgdata string) (*runAs, error) {
	if fi, err := os.Stat(pgdata); err == nil {
		if uid, gid, ok := fileOwner(fi); ok && uid != 0 {
			u := &runAs{name: "uid " + strconv.FormatUint(uint64(uid), 10), uid: uid, gid: gid}
			if pu, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
				u.name = pu.Username
				if g, err := strconv.ParseUint(pu.Gid, 10, 32); err == nil {
					u.gid = uint32(g)
				}
			}
			return u, nil
		}
	}
	for _, name := range unprivilegedUsers {
		pu, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(pu.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(pu.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &runAs{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, errors.New(`PostgreSQL cannot run as root and neither a "postgres" nor a "nobody" user exists to run it as; create one (e.g. "useradd --system postgres") or run signoff as a non-root user`)
}

// checkReachable verifies that u can walk down to dir: PostgreSQL runs
// with u's rights only (no supplementary groups).
func checkReachable(dir string, u *runAs) error {
	var chain []string
	for p := dir; ; p = filepath.Dir(p) {
		chain = append(chain, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		p := chain[i]
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("check data folder access: %w", err)
		}
		uid, gid, ok := fileOwner(fi)
		if !ok {
			return nil
		}
		perm := fi.Mode().Perm()
		var canSearch bool
		switch {
		case uid == u.uid:
			canSearch = perm&0o100 != 0
		case gid == u.gid:
			canSearch = perm&0o010 != 0
		default:
			canSearch = perm&0o001 != 0
		}
		if !canSearch {
			return fmt.Errorf("PostgreSQL cannot run as root, so it runs as user %q, which cannot reach the data folder %s: %s (mode %04o) is not searchable by it; use a data folder that user can reach (e.g. under /var/lib) or allow it with \"chmod o+x %s\"", u.name, dir, p, perm, p)
		}
	}
	return nil
}

func chownTree(root string, u *runAs) error {
	return filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(u.uid), int(u.gid))
	})
}

// chown hands p to the user PostgreSQL runs as, if that is not us.
func (c *Cluster) chown(p string) error {
	if c.user == nil {
		return nil
	}
	return os.Lchown(p, int(c.user.uid), int(c.user.gid))
}

// prepareFiles creates the socket folder and the log file.
func (c *Cluster) prepareFiles() error {
	if err := os.Mkdir(c.runDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create socket folder: %w", err)
	}
	if err := c.chown(c.runDir); err != nil {
		return fmt.Errorf("create socket folder: %w", err)
	}
	if fi, err := os.Stat(c.logPath); err == nil && fi.Size() > logRotateBytes {
		_ = os.Rename(c.logPath, c.logPath+".1")
	}
	f, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("create log file: %w", err)
	}
	f.Close()
	if err := c.chown(c.logPath); err != nil {
		return fmt.Errorf("create log file: %w", err)
	}
	return nil
}

// initdb creates the cluster. It works in a scratch folder renamed to
// pgdata only once initdb succeeded, so an interrupted first start leaves
// nothing that looks like a cluster.
func (c *Cluster) initdb(ctx context.Context) error {
	c.logger.Info("initializing embedded postgres cluster", "data_dir", c.dataDir, "version", c.bin.version)

	pw := make([]byte, 24)
	if _, err := rand.Read(pw); err != nil {
		return fmt.Errorf("generate password: %w", err)
	}
	c.password = hex.EncodeToString(pw)
	if err := os.WriteFile(c.passwordPath(), []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("save password: %w", err)
	}
	// initdb reads the password from a file it can open as its user.
	pwfile := filepath.Join(c.runDir, "initdb.pw")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write password file: %w", err)
	}
	defer os.Remove(pwfile)
	if err := c.chown(pwfile); err != nil {
		return fmt.Errorf("write password file: %w", err)
	}

	scratch := c.pgdata + ".initdb"
	args := []string{
		"-D", scratch,
		"-U", superuser,
		"--pwfile=" + pwfile,
		"--auth-local=scram-sha-256",
		"--auth-host=scram-sha-256",
		"--encoding=UTF8",
		"--no-instructions",
	}
	if c.cfg.Ephemeral {
		args = append(args, "--no-sync")
	} else {
		args = append(args, "--data-checksums")
	}
	// Byte-order collation (fast, stable across OS upgrades, LIKE 'x%' can
	// use plain indexes) with Unicode-aware upper()/lower(); plain C where
	// the C.UTF-8 locale does not exist.
	locales := [][]string{{"--locale=C.UTF-8", "--lc-collate=C"}, {"--no-locale"}}
	var err error
	for _, locale := range locales {
		if err = c.makeScratch(scratch); err != nil {
			return err
		}
		if _, err = c.run(ctx, "initdb", append(args, locale...)...); err == nil {
			break
		}
	}
	if err != nil {
		_ = os.RemoveAll(scratch)
		return err
	}
	if err := os.Remove(c.pgdata); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replace empty cluster folder: %w", err)
	}
	if err := os.Rename(scratch, c.pgdata); err != nil {
		return fmt.Errorf("move new cluster into place: %w", err)
	}
	return nil
}

// makeScratch (re)creates an empty folder for initdb, owned by its user:
// the data folder itself need not be writable by that user.
func (c *Cluster) makeScratch(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clean up %s: %w", dir, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("create cluster folder: %w", err)
	}
	return c.chown(dir)
}

// adoptRunning looks at pgdata/postmaster.pid. If the server of this data
// folder is still running (the last app process died without stopping
// it), it is adopted. A pid file whose PID now belongs to another program
// is removed, since PostgreSQL would take it for a running server; a pid
// file whose process is gone is left to PostgreSQL, which also makes sure
// no orphaned backend still uses the old shared memory.
func (c *Cluster) adoptRunning(ctx context.Context) (bool, error) {
	pidFile := filepath.Join(c.pgdata, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read postmaster.pid: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return false, nil // let PostgreSQL judge
	}
	switch pidState(pid, c.pgdata) {
	case pidGone:
		c.logger.Warn("embedded postgres was not shut down cleanly; it will recover", "data_dir", c.dataDir, "stale_pid", pid)
		return false, nil
	case pidOther:
		c.logger.Warn("removing stale postmaster.pid", "data_dir", c.dataDir, "stale_pid", pid)
		if err := os.Remove(pidFile); err != nil {
			return false, fmt.Errorf("remove stale postmaster.pid: %w", err)
		}
		// The socket's lock file names the same PID; the socket folder
		// is private to this cluster.
		stale, _ := filepath.Glob(filepath.Join(c.runDir, ".s.PGSQL.*"))
		for _, f := range stale {
			if err := os.Remove(f); err != nil {
				return false, fmt.Errorf("remove stale socket: %w", err)
			}
		}
		return false, nil
	}
	// Where /proc could not tell, ask pg_ctl, which sees the process as the
	// server's user does (a process of another user is not the server).
	var exitErr *exec.ExitError
	if out, err := c.command(ctx, "pg_ctl", "status", "-D", c.pgdata).CombinedOutput(); errors.As(err, &exitErr) && exitErr.ExitCode() == 3 {
		return false, nil // "no server running": a stale file PostgreSQL will handle
	} else if err != nil {
		return false, fmt.Errorf("pg_ctl status: %w: %s", err, bytes.TrimSpace(out))
	}

	var port uint64
	if len(lines) > 3 {
		port, _ = strconv.ParseUint(strings.TrimSpace(lines[3]), 10, 32)
	}
	if port == 0 || (c.cfg.Port != 0 && uint32(port) != c.cfg.Port) {
		c.logger.Info("restarting the embedded postgres left running", "data_dir", c.dataDir, "pid", pid)
		if err := c.pgctlStop(); err != nil {
			return false, err
		}
		return false, nil
	}
	c.port = uint32(port)
	if err := c.waitReady(ctx, c.cfg.StartTimeout); err != nil {
		return false, fmt.Errorf("a server (pid %d) already runs on %s but does not accept connections: %w", pid, c.pgdata, err)
	}
	c.logger.Info("adopting the embedded postgres left running", "data_dir", c.dataDir, "pid", pid, "port", c.port)
	return true, nil
}

// startServer picks a port and runs pg_ctl start. When the port was picked
// here and another process grabs it first, it tries another.
func (c *Cluster) startServer(ctx context.Context) error {
	explicit := c.cfg.Port != 0
	var tried []uint32
	for attempt := 1; ; attempt++ {
		port, err := c.choosePort(tried)
		if err != nil {
			return err
		}
		tried = append(tried, port)
		c.port = port
		err = c.pgctlStart()
		if err == nil {
			break
		}
		if explicit || attempt == 5 || portFree(port) {
			return err
		}
		c.logger.Debug("embedded postgres port taken meanwhile; trying another", "port", port)
	}
	if !c.cfg.Ephemeral {
		_ = os.WriteFile(c.portPath(), []byte(strconv.FormatUint(uint64(c.port), 10)+"\n"), 0o644)
	}
	if err := c.waitReady(ctx, 30*time.Second); err != nil {
		_ = c.pgctlStop()
		return fmt.Errorf("server started but does not accept connections: %w", err)
	}
	return nil
}

func (c *Cluster) choosePort(tried []uint32) (uint32, error) {
	if c.cfg.Port != 0 {
		if !portFree(c.cfg.Port) {
			return 0, fmt.Errorf("port %d on 127.0.0.1 is already in use", c.cfg.Port)
		}
		return c.cfg.Port, nil
	}
	usable := func(p uint32) bool {
		for _, t := range tried {
			if t == p {
				return false
			}
		}
		return portFree(p)
	}
	if !c.cfg.Ephemeral {
		if b, err := os.ReadFile(c.portPath()); err == nil {
			if p, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 16); err == nil && p > 0 && usable(uint32(p)) {
				return uint32(p), nil
			}
		}
		for p := uint32(firstPort); p < firstPort+portScan; p++ {
			if usable(p) {
				return p, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return uint32(l.Addr().(*net.TCPAddr).Port), nil
}

func portFree(port uint32) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.FormatUint(uint64(port), 10)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// socketDir is the folder of the server's unix socket, or "" when its path
// would be too long for one (the server then listens on TCP only).
func (c *Cluster) socketDir() string {
	if len(c.runDir)+len("/.s.PGSQL.65535") > maxSocketPath {
		return ""
	}
	return c.runDir
}

// serverOptions are the -c options given to the server on each start.
func (c *Cluster) serverOptions() []string {
	socketDirs := ""
	if dir := c.socketDir(); dir != "" {
		socketDirs = `"` + dir + `"`
	}
	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"port":                    strconv.FormatUint(uint64(c.port), 10),
		"unix_socket_directories": socketDirs,
	}
	if c.cfg.Ephemeral {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	for k, v := range c.cfg.Settings {
		settings[k] = v
	}
	names := make([]string, 0, len(settings))
	for k := range settings {
		names = append(names, k)
	}
	sort.Strings(names)
	opts := make([]string, 0, 2*len(names))
	for _, k := range names {
		opts = append(opts, "-c", k+"="+settings[k])
	}
	return opts
}

func (c *Cluster) pgctlStart() error {
	opts := c.serverOptions()
	quoted := make([]string, len(opts))
	for i, o := range opts {
		quoted[i] = shellQuote(o) // pg_ctl runs the server through /bin/sh
	}
	timeout := strconv.Itoa(int((c.cfg.StartTimeout + time.Second - 1) / time.Second))
	// Not tied to ctx: killing pg_ctl halfway would strand a server.
	_, err := c.run(context.Background(), "pg_ctl", "start", "-w", "-t", timeout,
		"-D", c.pgdata, "-l", c.logPath, "-o", strings.Join(quoted, " "))
	if err != nil {
		return fmt.Errorf("%w\n%s", err, tail(c.logPath, 15))
	}
	return nil
}

func (c *Cluster) pgctlStop() error {
	mode := "fast"
	if c.cfg.Ephemeral {
		mode = "immediate"
	}
	_, err := c.run(context.Background(), "pg_ctl", "stop", "-w", "-t", "120", "-D", c.pgdata, "-m", mode)
	return err
}

// waitReady waits until the server accepts connections.
func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		conn, err := pgx.Connect(ctx, c.urlFor("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("connect: %w", err)
		case <-time.After(delay):
		}
	}
}

func (c *Cluster) ensureDatabase(ctx context.Context) error {
	if c.cfg.Database == "postgres" {
		return nil
	}
	conn, err := pgx.Connect(ctx, c.urlFor("postgres"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", c.cfg.Database).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", c.cfg.Database, err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.cfg.Database}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", c.cfg.Database, err)
		}
	}
	return nil
}

// run runs one of the PostgreSQL programs as the server's user, appending
// its output to postgres.log. On failure the error carries the output.
func (c *Cluster) run(ctx context.Context, prog string, args ...string) (string, error) {
	var out bytes.Buffer
	var w io.Writer = &out
	logFile, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err == nil {
		defer logFile.Close()
		w = io.MultiWriter(&out, logFile)
	}
	cmd := c.command(ctx, prog, args...)
	cmd.Stdout = w
	cmd.Stderr = w
	if err := cmd.Run(); err != nil {
		name := prog
		if prog == "pg_ctl" {
			name += " " + args[0]
		}
		return out.String(), fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// command prepares one of the PostgreSQL programs to run as the server's
// user, in a session of its own.
func (c *Cluster) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin.path(prog), args...)
	cmd.Dir = c.dataDir
	cmd.Env = childEnv()
	cmd.SysProcAttr = sysProcAttr(c.user, true)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// childEnv is this process's environment without the PG* variables, which
// would otherwise steer initdb, pg_ctl and the server (PGDATA, PGPORT, ...).
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tail returns the last n lines of the file at p, for error messages.
func tail(p string, n int) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return p + " ends with:\n" + strings.Join(lines, "\n")
}

// RoleURL returns a URL of Config.Database for a login role other than the
// superuser, creating the role the first time with a generated password
// kept in DataDir/<role>.password (mode 0600), as the superuser's is. The
// role gets no privilege here: the app decides what each role may do (an
// owner that migrates, a runtime role that cannot rewrite the audit log).
// A process that joined the cluster finds the role and its password as the
// host left them.
func (c *Cluster) RoleURL(ctx context.Context, role string) (string, error) {
	if role == "" || role == superuser || !roleNameRE.MatchString(role) {
		return "", fmt.Errorf("role %q: want a lowercase name other than %s", role, superuser)
	}
	path := filepath.Join(c.dataDir, role+".password")
	pw, err := readOrCreatePassword(path)
	if err != nil {
		return "", fmt.Errorf("role %s: %w", role, err)
	}
	conn, err := pgx.Connect(ctx, c.urlFor("postgres"))
	if err != nil {
		return "", fmt.Errorf("role %s: connect: %w", role, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The password is set every time, so the file is what counts (a copied
	// data folder, a file restored from a backup).
	ident := pgx.Identifier{role}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return "", fmt.Errorf("role %s: %w", role, err)
	}
	verb := "ALTER"
	if !exists {
		verb = "CREATE"
	}
	// Neither statement takes parameters; the password is hex.
	if _, err := conn.Exec(ctx, verb+" ROLE "+ident+" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '"+pw+"'"); err != nil &&
		!(verb == "CREATE" && isDuplicate(err)) {
		return "", fmt.Errorf("role %s: %w", role, err)
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(role, pw),
		Host:     net.JoinHostPort("127.0.0.1", strconv.FormatUint(uint64(c.port), 10)),
		Path:     "/" + c.cfg.Database,
		RawQuery: "sslmode=disable",
	}
	return u.String(), nil
}

var roleNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// readOrCreatePassword reads a password file, or writes a new random
// password to it (mode 0600) if there is none; of two processes creating
// it at once, the first one's stands.
func readOrCreatePassword(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if pw := strings.TrimSpace(string(b)); pw != "" {
			return pw, nil
		}
		return "", fmt.Errorf("%s is empty", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 24)
	rand.Read(raw) // never fails (crypto/rand)
	pw := hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readOrCreatePassword(path)
	}
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(pw + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", err
	}
	return pw, nil
}

// isDuplicate reports a role created meanwhile by another process.
func isDuplicate(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42710" // duplicate_object
}
