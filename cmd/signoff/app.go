package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/embeddedpg"
	"github.com/signoff/signoff/internal/live"
	"github.com/signoff/signoff/internal/metrics"
	"github.com/signoff/signoff/internal/notify"
	"github.com/signoff/signoff/internal/password"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/ui"
)

// App is the running program: configuration, database and HTTP server.
// Tests build one on a random port and drive it like a user would.
type App struct {
	Config *config.Config
	Logger *slog.Logger
	DB     *postgres.DB
	// Notifier sends mail and webhooks in the background: it hears of
	// every committed change (LISTEN/NOTIFY) and catches up with any it
	// missed from the database; changes add nothing to their transaction.
	Notifier *notify.Notifier
	// Hosting is set for `signoff serve`: the embedded cluster it starts
	// is shared with the commands run beside it, and a second server on
	// the same DATA_DIR is refused. Without it (a shell command) the App
	// joins the cluster a server hosts, if one runs.
	Hosting bool
	// PasswordCost is the argon2id cost of new password hashes; zero is
	// the default. Tests lower it.
	PasswordCost password.Params

	// Risk says whether the role the app connects as could rewrite the
	// audit log (OpenDB logs a warning when it could).
	Risk postgres.RewriteRisk

	cluster     *embeddedpg.Cluster
	runtimeURL  string // what the app serves with
	migrateURL  string // the schema owner's: what migrates
	runtimeRole string // granted postgres.RuntimeGrantsSQL after migrating; "" when one role does both
	server      *http.Server
	listener    net.Listener
}

// NewApp returns an App that has not started anything yet.
func NewApp(cfg *config.Config, logger *slog.Logger) *App {
	return &App{Config: cfg, Logger: logger}
}

// OpenDB connects to DATABASE_URL, or else to the embedded cluster under
// DATA_DIR: the one a running server hosts, or one started for this
// process. With migrate, it brings the schema up to date, except on a
// cluster a server hosts: that server migrated it when it started, and a
// newer command must not change the schema under it. Either way it
// refuses a schema it does not know (an error wrapping postgres.ErrSchema).
//
// The app runs as a role that cannot rewrite the audit log and migrates as
// the schema's owner: the embedded cluster makes both roles; with
// DATABASE_URL, MIGRATE_DATABASE_URL names the owner (see
// docs/audit.md). Running as a role that could rewrite history is logged
// as a warning (and shown on /readyz and the admin pages).
func (a *App) OpenDB(ctx context.Context, migrate bool) error {
	if err := a.resolveRoles(ctx); err != nil {
		return err
	}
	if migrate && (a.cluster == nil || !a.cluster.Joined()) {
		if err := a.migrate(ctx); err != nil {
			return err
		}
	}
	db, err := postgres.Open(ctx, a.runtimeURL, postgres.Options{MaxConns: a.Config.DBMaxConns, Logger: a.Logger,
		PasswordCost: a.PasswordCost, IdempotencyTTL: a.Config.IdempotencyKeyTTL})
	if err != nil {
		return err
	}
	a.DB = db
	if a.Notifier, err = notify.New(db, a.Config, a.Logger, notify.Options{}); err != nil {
		return err
	}
	if err := db.CheckSchema(ctx); err != nil {
		return err
	}
	if a.Risk, err = db.RewriteRisk(ctx); err != nil {
		return err
	}
	if w := a.Risk.Warning(); w != "" {
		a.Logger.Warn(w, "db_role", a.Risk.Role)
	}
	if a.Hosting && a.cluster != nil {
		// Commands may use the database now that its schema is right.
		return a.cluster.Share()
	}
	return nil
}

// resolveRoles works out the URLs the app serves and migrates with: the
// embedded cluster's runtime and owner roles (handing an older cluster's
// objects to the owner the first time), or DATABASE_URL and
// MIGRATE_DATABASE_URL.
func (a *App) resolveRoles(ctx context.Context) error {
	cfg := a.Config
	if !cfg.Embedded() {
		a.runtimeURL, a.migrateURL = cfg.DatabaseURL, cfg.DatabaseURL
		if cfg.MigrateDatabaseURL != "" {
			a.migrateURL = cfg.MigrateDatabaseURL
			pc, err := pgconn.ParseConfig(cfg.DatabaseURL) // checked by config.Load
			if err != nil {
				return errors.New("DATABASE_URL is not a PostgreSQL connection string")
			}
			a.runtimeRole = pc.User
		}
		return nil
	}
	cluster, err := a.startCluster(ctx)
	if err != nil {
		return err
	}
	a.cluster = cluster
	if a.migrateURL, err = cluster.RoleURL(ctx, postgres.OwnerRole); err != nil {
		return err
	}
	if a.runtimeURL, err = cluster.RoleURL(ctx, postgres.RuntimeRole); err != nil {
		return err
	}
	a.runtimeRole = postgres.RuntimeRole
	if !cluster.Joined() {
		// Idempotent; a cluster made before the split had its superuser
		// own everything.
		return postgres.HandOver(ctx, cluster.URL(), postgres.OwnerRole)
	}
	return nil
}

// migrate brings the schema up to date as its owner and grants the
// runtime role what it may do.
func (a *App) migrate(ctx context.Context) error {
	if err := postgres.Migrate(ctx, a.migrateURL); err != nil {
		return err
	}
	return a.grantRuntime(ctx)
}

// grantRuntime applies postgres.RuntimeGrantsSQL when the app serves as a
// role of its own.
func (a *App) grantRuntime(ctx context.Context) error {
	if a.runtimeRole == "" {
		return nil
	}
	return postgres.GrantRuntime(ctx, a.migrateURL, a.runtimeRole)
}

// startCluster starts the embedded cluster, or joins the one a server
// hosts (see embeddedpg.Config.Shared and Join).
func (a *App) startCluster(ctx context.Context) (*embeddedpg.Cluster, error) {
	owner := "a signoff command"
	if a.Hosting {
		owner = "signoff serve"
	}
	cluster, err := embeddedpg.Start(ctx, embeddedpg.Config{
		DataDir: filepath.Join(a.Config.DataDir, "postgres"),
		BinDir:  a.Config.PostgresBinDir,
		Shared:  a.Hosting,
		Join:    !a.Hosting,
		Owner:   owner,
	}, a.Logger)
	var inUse *embeddedpg.InUseError
	if errors.As(err, &inUse) && inUse.Shared && a.Hosting && inUse.Waited == 0 {
		return nil, fmt.Errorf("DATA_DIR %s is in use by another signoff server (pid %d); stop that one first, or give this one another DATA_DIR",
			a.Config.DataDir, inUse.PID)
	}
	return cluster, err
}

// MigrateURL is the URL the app migrates with: the schema owner's.
func (a *App) MigrateURL() string { return a.migrateURL }

// Listen opens the listening socket (ADDR may use port 0).
func (a *App) Listen() error {
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return fmt.Errorf("ADDR %s: %w", a.Config.Addr, err)
	}
	a.listener = ln
	return nil
}

// URL is where the app answers, once listening.
func (a *App) URL() string {
	addr := a.listener.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "localhost"
	}
	return fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(addr.Port)))
}

// Serve prepares the database (built-in template, signing key) and serves
// HTTP until ctx ends, then drains in-flight requests. The first-admin
// link is printed only once everything else is ready, so it always works.
func (a *App) Serve(ctx context.Context) error {
	if err := a.DB.EnsureTemplate(ctx, checklist.Seed); err != nil {
		return err
	}
	signer, err := a.serverSigner(ctx)
	if err != nil {
		return err
	}
	if err := a.openLog(ctx, signer); err != nil {
		return err
	}
	if a.listener == nil {
		if err := a.Listen(); err != nil {
			return err
		}
	}
	// One LISTEN connection for the instance: live updates and
	// notifications both hear every change on it.
	changes := postgres.NewListener(a.DB.Pool(), a.Logger)
	hub := live.NewHub(a.DB, a.Logger)
	hub.ListenOn(changes)
	a.Notifier.ListenOn(changes)
	m := metrics.New(metrics.Sources{Pool: a.DB.Pool(), LiveConnections: hub.Connections,
		QueueDepth: a.Notifier.QueueDepth, TickBatching: a.DB.TickBatching, Log: a.DB.LogStats})
	opts := ui.Options{Live: hub, Metrics: m, Signer: signer, DBWarning: a.Risk.Warning()}
	if a.Config.SMTP.Host != "" {
		opts.Mail = a.Notifier.SendNow
	}
	web, err := ui.New(ctx, a.DB, a.Config, a.Logger, opts)
	if err != nil {
		return err
	}
	go func() {
		if err := hub.Run(ctx); err != nil {
			a.Logger.Error("live updates stopped", "err", err)
		}
	}()
	if err := a.Notifier.Start(ctx); err != nil {
		return err
	}
	defer a.stopNotifier()
	go changes.Listen(ctx) // returns when ctx ends
	if err := a.announceSetup(ctx); err != nil {
		return err
	}
	a.server = &http.Server{
		Handler:           web.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
	// Open event streams would hold a graceful shutdown for its whole
	// timeout; end them first and let browsers reconnect elsewhere.
	a.server.RegisterOnShutdown(hub.Shutdown)
	go a.sweep(ctx)
	go a.integrateLog(ctx)

	errc := make(chan error, 1)
	go func() { errc <- a.server.Serve(a.listener) }()
	a.Logger.Info("serving", "url", a.URL(), "addr", a.listener.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if err := a.drain(web); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// exportCutGrace is how long a cut export has to end its response.
const exportCutGrace = 5 * time.Second

// drain stops accepting connections and waits for the requests in flight:
// SHUTDOWN_TIMEOUT for them all, or, while bulk exports stream, the
// longer EXPORT_DRAIN_TIMEOUT, at whose end the exports still running are
// cut (each aborts its connection: its client sees an error, not a file
// that looks whole). New exports are refused from the start. Every
// request finished or ended as broken is a drained shutdown: the process
// exits 0. Only a request that outlives all that is cut from outside (its
// connection closed), and the process exits 1.
func (a *App) drain(web *ui.Server) error {
	budget := a.Config.ShutdownTimeout
	exports := web.StopExports()
	if exports > 0 {
		budget = max(budget, a.Config.ExportDrainTimeout+exportCutGrace)
		cut := time.AfterFunc(a.Config.ExportDrainTimeout, web.CutExports)
		defer cut.Stop()
	}
	a.Logger.Info("shutting down: draining requests", "budget", budget, "exports", exports)
	sctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	if err := a.server.Shutdown(sctx); err != nil {
		a.server.Close()
		return fmt.Errorf("shutdown: requests still running %s after SIGTERM were cut off", budget)
	}
	return nil
}

// openLog lets the store sign the transparency log's checkpoints with the
// server's key, naming the log after BASE_URL's host the first time.
func (a *App) openLog(ctx context.Context, signer *audit.Signer) error {
	u, err := url.Parse(a.Config.BaseURL) // checked by config.Load
	if err != nil {
		return fmt.Errorf("BASE_URL: %w", err)
	}
	_, err = a.DB.SetLogKey(ctx, signer.PrivateKey(), u.Host+"/signoff-audit-log", a.Config.WitnessKeys)
	return err
}

// logPoll is how often the server looks at the transparency log's queue.
const logPoll = time.Second

// logBacklog is how many waiting events make the server integrate them
// before its checkpoint interval is up.
const logBacklog = 1000

// integrateLog integrates the transparency log until ctx ends: every
// LOG_CHECKPOINT_INTERVAL while events wait, or as soon as logBacklog of
// them do, each integration signing one checkpoint. (Every checkpoint is
// kept: once a second, a slow deployment would cost a checkpoint per
// event, 350 bytes each.) Exports do not wait for it: they integrate what
// their record needs. Each poll then seals the ended deployments the log
// holds whole. A failure is logged when it first happens and then once a
// minute while it lasts; a fork (an audit event that does not extend its
// chain as the log holds it) is an error, and the log grows no more.
func (a *App) integrateLog(ctx context.Context) {
	t := time.NewTicker(logPoll)
	defer t.Stop()
	var last string
	var logged, integrated time.Time
	for {
		err := a.integrateIfDue(ctx, &integrated)
		if err == nil {
			// Then the ended deployments the log holds whole are sealed
			// (docs/performance.md, "Bytes per deployment").
			_, err = a.DB.SealDeployments(ctx)
		}
		switch {
		case err == nil:
			last = ""
		case ctx.Err() != nil:
			return
		case err.Error() != last || time.Since(logged) > time.Minute:
			last, logged = err.Error(), time.Now()
			a.Logger.Error("transparency log: integration or sealing failed", "err", err, "fork", errors.Is(err, postgres.ErrLogFork))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// integrateIfDue integrates the log when its interval is up or its backlog
// is long, and notes in *last when it last signed a checkpoint (so the
// first event after a quiet spell is in the log within a poll).
func (a *App) integrateIfDue(ctx context.Context, last *time.Time) error {
	if time.Since(*last) < a.Config.LogCheckpointInterval {
		waiting, err := a.DB.LogWaiting(ctx, logBacklog)
		if err != nil || waiting < logBacklog {
			return err
		}
	}
	n, err := a.DB.IntegrateLog(ctx)
	if n > 0 {
		*last = time.Now()
	}
	return err
}

// announceSetup prints the one-time link that creates the first admin,
// when nobody can sign in yet.
func (a *App) announceSetup(ctx context.Context) error {
	token, err := a.DB.CreateSetupToken(ctx)
	if err != nil || token == "" {
		return err
	}
	link := a.Config.BaseURL + "/setup?token=" + token
	a.Logger.Warn("no people yet: open the setup link to create the first admin", "setup_url", link)
	fmt.Fprintf(os.Stderr, "\n  Signoff has no users yet. Create the first admin here (valid 24 h, once):\n\n    %s\n\n", link)
	return nil
}

// sweep deletes expired sessions and old failed-login records hourly.
func (a *App) sweep(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := a.DB.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
			a.Logger.Warn("sweep expired sessions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close releases the database and stops the embedded cluster.
func (a *App) Close() error {
	if a.listener != nil && a.server == nil {
		a.listener.Close()
	}
	if a.DB != nil {
		a.DB.Close()
	}
	if a.cluster != nil {
		return a.cluster.Stop()
	}
	return nil
}
