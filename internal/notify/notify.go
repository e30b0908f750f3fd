// Package notify tells people and systems what happens to deployments:
// mail over SMTP to the holders of a role when their sign-off becomes
// possible and to a deployment's owner when a sign-off goes stale or items
// fall overdue, and signed JSON (or Slack-compatible) webhooks for state
// changes.
//
// Nothing is sent from a request, and nothing is added to a change's
// transaction for it: the change already bumps its deployment's audit_seq,
// and the deployment's notification cursor records how far notifications
// got, so a deployment whose audit_seq is ahead of its cursor is work to
// do, durably, from the moment the change commits. Every instance listens
// for the NOTIFY each committed change sends and syncs the deployment
// after a short coalescing delay (SyncDelay), on a few workers, coalescing
// bursts (syncQueue); a catch-up sweep syncs every deployment behind its
// cursor when the listener (re)connects and, on the elected leader, every
// SweepInterval, so a crash, a lost NOTIFY or a reconnect delays a
// notification but never loses it (wake.go).
//
// A sync, under the deployment's notification cursor (a row lock), turns
// the events since the cursor into webhook deliveries, compares the
// conditions that hold now (signoff.Notices) with those already told, and
// records the new notifications, mails and deliveries together with the
// cursor and the jobs that send them, in one transaction; deciding twice,
// or on two instances at once, never tells twice. Sender jobs (River's
// queue in PostgreSQL) deliver at least once and carry a stable
// idempotency key (the X-Signoff-Delivery header, the Message-ID), so the
// effect for a webhook receiver that keeps the keys it has seen is exactly
// once. Mail has no such receiver: a mail whose attempt was cut off after
// the server took it is sent again as the identical message, and its log
// says it may have arrived twice (sendEmail).
package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/netguard"
	"github.com/signoff/signoff/internal/postgres"
)

// Defaults.
const (
	DefaultWebhookTimeout = 10 * time.Second
	DefaultMailTimeout    = 2 * time.Minute
	DefaultScanInterval   = 30 * time.Second
	// DefaultSyncDelay is how long a change waits before its deployment
	// is synced: the changes made meanwhile are synced with it, so a busy
	// deployment is synced about once a second. A sync of the seed
	// checklist costs about as much as 5 to 7 ticks (it reads the whole
	// checklist): for a deployment ticked 50 times a second, syncing it
	// once a second adds about a tenth to the cost of its ticks, 4 times
	// a second about half.
	DefaultSyncDelay = time.Second
	// DefaultSweepInterval is how often the leader syncs every deployment
	// that is behind its notification cursor (a NOTIFY was missed).
	DefaultSweepInterval = 15 * time.Second
	// DefaultSyncWorkers is how many deployments an instance syncs at once.
	DefaultSyncWorkers = 2
	// MaxAttempts caps the tries of one mail or webhook delivery. The
	// backoff (RetryDelay: n⁴ seconds after the n-th failure) spreads 8
	// attempts over about 78 minutes.
	MaxAttempts = 8
	// RescueAfter is how long a job may run before it is taken for the job
	// of a dead process and run again. Every job here is bounded well below
	// it (a webhook by its timeout + 5 s, a mail by its timeout).
	RescueAfter = 3 * time.Minute
)

// Options tune a Notifier; the zero value is production's.
type Options struct {
	// Now is the clock that decides when items are overdue.
	Now func() time.Time
	// WebhookTimeout bounds one webhook request.
	WebhookTimeout time.Duration
	// MailTimeout bounds one attempt at one mail, from connecting to the
	// server's answer (default DefaultMailTimeout).
	MailTimeout time.Duration
	// ScanInterval is how often the leader looks for items falling overdue.
	ScanInterval time.Duration
	// SyncDelay is how long after hearing of a change a deployment is
	// synced; changes heard meanwhile are synced with it, so a deployment
	// is synced at most about once per SyncDelay (default
	// DefaultSyncDelay).
	SyncDelay time.Duration
	// SweepInterval is how often the leader syncs every deployment behind
	// its notification cursor (default DefaultSweepInterval). Every
	// instance also sweeps when its listener (re)connects.
	SweepInterval time.Duration
	// SyncWorkers is how many deployments this instance syncs at once
	// (default DefaultSyncWorkers); each holds a database connection.
	SyncWorkers int
	// MailTLS is the TLS configuration for SMTP (tests trust their own CA).
	MailTLS *tls.Config
	// Workers is how many jobs (deliveries, mails) this instance runs at
	// once (default 10).
	Workers int
	// River adjusts the queue client's configuration before it is made
	// (tests shorten its timings).
	River func(*river.Config)
}

// Notifier decides and sends notifications.
type Notifier struct {
	db          *postgres.DB
	logger      *slog.Logger
	baseURL     string
	host        string // for Message-IDs
	now         func() time.Time
	mailer      *mailer // nil when SMTP_HOST is unset: mail is recorded as skipped
	http        *http.Client
	timeout     time.Duration // one webhook request
	mailTimeout time.Duration // one mail attempt
	client      *river.Client[pgx.Tx]
	syncDelay   time.Duration
	syncs       *syncQueue

	// Between Start and Stop: the listener's and queue's context, and
	// what Stop waits for.
	cancel   context.CancelFunc
	shared   bool // hears changes on the instance's shared listener (ListenOn)
	stop     chan struct{}
	listened chan struct{}
	drained  chan struct{}
}

// New builds a Notifier on db. It syncs and sends nothing until Start;
// changes committed before then are synced once it starts.
func New(db *postgres.DB, cfg *config.Config, logger *slog.Logger, opt Options) (*Notifier, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("notifications: BASE_URL: %w", err)
	}
	n := &Notifier{
		db: db, logger: logger, baseURL: cfg.BaseURL, host: u.Hostname(), now: opt.Now,
		timeout: opt.WebhookTimeout, mailTimeout: opt.MailTimeout, syncDelay: opt.SyncDelay,
	}
	if n.now == nil {
		n.now = time.Now
	}
	if n.timeout <= 0 {
		n.timeout = DefaultWebhookTimeout
	}
	if n.mailTimeout <= 0 {
		n.mailTimeout = DefaultMailTimeout
	}
	// Deliveries never reach inside the network: every connection is
	// checked at the socket, after DNS (netguard), and no proxy from the
	// environment stands in between to resolve names out of its sight.
	guard := netguard.New(cfg.WebhookAllowedNetworks)
	n.http = &http.Client{
		Timeout: n.timeout,
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, Control: guard.Control}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          20,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: n.timeout,
		},
		// A redirect is an answer, not a delivery: the URL should be fixed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if cfg.SMTP.Host != "" {
		if n.mailer, err = newMailer(cfg.SMTP, opt.MailTLS); err != nil {
			return nil, err
		}
	}
	if n.syncDelay <= 0 {
		n.syncDelay = DefaultSyncDelay
	}
	scan := opt.ScanInterval
	if scan <= 0 {
		scan = DefaultScanInterval
	}
	sweep := opt.SweepInterval
	if sweep <= 0 {
		sweep = DefaultSweepInterval
	}
	syncWorkers := opt.SyncWorkers
	if syncWorkers <= 0 {
		syncWorkers = DefaultSyncWorkers
	}
	// A failed sync is tried again after 1 s, then at least as often as
	// the leader's sweep would find it anyway.
	n.syncs = newSyncQueue(n, syncWorkers, sweep)
	slots := opt.Workers
	if slots <= 0 {
		slots = 10
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &syncWorker{n: n})
	river.AddWorker(workers, &scanWorker{n: n})
	river.AddWorker(workers, &catchUpWorker{n: n})
	river.AddWorker(workers, &emailWorker{n: n})
	river.AddWorker(workers, &webhookWorker{n: n})
	rc := &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: slots}},
		Workers: workers,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(scan),
				func() (river.JobArgs, *river.InsertOpts) { return scanArgs{}, nil },
				&river.PeriodicJobOpts{ID: scanArgs{}.Kind(), RunOnStart: true}),
			// Not on start: every instance sweeps once its listener listens.
			river.NewPeriodicJob(river.PeriodicInterval(sweep),
				func() (river.JobArgs, *river.InsertOpts) { return catchUpArgs{}, nil },
				&river.PeriodicJobOpts{ID: catchUpArgs{}.Kind()}),
		},
		Logger:               slog.New(quietHandler{logger.Handler()}).With("component", "queue"),
		SoftStopTimeout:      15 * time.Second,
		JobTimeout:           time.Minute,
		RetryPolicy:          retryPolicy{},
		RescueStuckJobsAfter: RescueAfter,
	}
	if opt.River != nil {
		opt.River(rc)
	}
	if n.client, err = river.NewClient(riverpgxv5.New(db.Pool()), rc); err != nil {
		return nil, fmt.Errorf("notifications: job queue: %w", err)
	}
	return n, nil
}

// MailEnabled reports whether SMTP is configured.
func (n *Notifier) MailEnabled() bool { return n.mailer != nil }

// Start runs the job workers (and, on the instance elected leader, the
// overdue scan and the catch-up sweep), the listener and the sync workers
// until Stop. Once the listener listens it sweeps: changes committed while
// no notifier ran are synced then.
func (n *Notifier) Start(ctx context.Context) error {
	if err := n.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start notifications: %w", err)
	}
	var lctx context.Context
	lctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	n.stop, n.listened, n.drained = make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(n.listened)
		n.listen(lctx)
	}()
	go func() {
		defer close(n.drained)
		n.syncs.run(lctx, n.stop)
	}()
	n.logger.Info("notifications started", "mail", n.mailer != nil)
	return nil
}

// Stop stops listening, runs the syncs already asked for, lets running
// jobs finish (cancelling them after 15 s) and stops. What ctx cuts short
// (a sync, a job) runs again later: a deployment still behind its cursor
// is found by the next sweep, a job cut short is run again.
func (n *Notifier) Stop(ctx context.Context) error {
	if n.cancel != nil {
		close(n.stop)
		select {
		case <-n.drained:
		case <-ctx.Done():
		}
		n.cancel()
		<-n.listened
		<-n.drained
		n.cancel = nil
	}
	if err := n.client.Stop(ctx); err != nil {
		return fmt.Errorf("stop notifications: %w", err)
	}
	return nil
}

// QueueDepth counts the jobs waiting to run, for the metrics; -1 when the
// database does not answer.
func (n *Notifier) QueueDepth() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depth, err := n.db.QueueDepth(ctx)
	if err != nil {
		n.logger.Warn("queue depth", "err", err)
		return -1
	}
	return depth
}

// Sync brings a deployment's notifications up to date now, whether or not
// anything changed since the last sync.
func (n *Notifier) Sync(ctx context.Context, deploymentID int64) error {
	return n.sync(ctx, deploymentID, true)
}

// ScanOverdue syncs every live deployment with an item fallen overdue that
// was not told yet. The leader runs it every ScanInterval.
func (n *Notifier) ScanOverdue(ctx context.Context) error {
	ids, err := n.db.OverdueCandidates(ctx, n.now())
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if err := n.sync(ctx, id, true); err != nil {
			errs = append(errs, err) // the others still get their turn
		}
	}
	return errors.Join(errs...)
}

// deploymentURL is where people open a deployment.
func (n *Notifier) deploymentURL(id int64) string {
	return fmt.Sprintf("%s/deployments/%d", n.baseURL, id)
}

// quietHandler passes on River's warnings and errors only: its info lines
// (job counts whenever they change, maintenance runs) are noise in the
// app's log. Failed attempts are logged by the workers themselves.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h quietHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(a)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}
