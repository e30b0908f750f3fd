// Package notify tells people and systems what happens to deployments:
// mail over SMTP to the holders of a role when their sign-off becomes
// possible and to a deployment's owner when a sign-off goes stale or items
// fall overdue, and signed JSON (or Slack-compatible) webhooks for state
// changes.
//
// Nothing is sent from a request. Every deployment event adds a job to
// River's queue in PostgreSQL in the same transaction as the change
// (Enqueue, the store's OnEvent hook), so a committed change always has its
// job and a rolled-back one never does. A worker then syncs the deployment:
// under the deployment's notification cursor it turns the events since the
// cursor into webhook deliveries, compares the conditions that hold now
// (signoff.Notices) with those already told, and records the new
// notifications, mails and deliveries together with the jobs that send
// them, in one transaction; deciding twice never tells twice. Sender jobs
// deliver at least once and carry a stable idempotency key (the
// X-Signoff-Delivery header, the Message-ID), so the effect for a webhook
// receiver that keeps the keys it has seen is exactly once. Mail has no
// such receiver: a mail whose attempt was cut off after the server took it
// is sent again as the identical message, and its log says it may have
// arrived twice (sendEmail).
package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// Defaults.
const (
	DefaultWebhookTimeout = 10 * time.Second
	DefaultMailTimeout    = 2 * time.Minute
	DefaultScanInterval   = 30 * time.Second
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
	// MailTLS is the TLS configuration for SMTP (tests trust their own CA).
	MailTLS *tls.Config
	// Workers is how many jobs this instance runs at once (default 10).
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
}

// New builds a Notifier on db. It sends nothing until Start; register
// Enqueue with db.OnEvent so that changes queue their notifications.
func New(db *postgres.DB, cfg *config.Config, logger *slog.Logger, opt Options) (*Notifier, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("notifications: BASE_URL: %w", err)
	}
	n := &Notifier{
		db: db, logger: logger, baseURL: cfg.BaseURL, host: u.Hostname(), now: opt.Now,
		timeout: opt.WebhookTimeout, mailTimeout: opt.MailTimeout,
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
	n.http = &http.Client{
		Timeout: n.timeout,
		// A redirect is an answer, not a delivery: the URL should be fixed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if cfg.SMTP.Host != "" {
		if n.mailer, err = newMailer(cfg.SMTP, opt.MailTLS); err != nil {
			return nil, err
		}
	}
	scan := opt.ScanInterval
	if scan <= 0 {
		scan = DefaultScanInterval
	}
	slots := opt.Workers
	if slots <= 0 {
		slots = 10
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &syncWorker{n: n})
	river.AddWorker(workers, &scanWorker{n: n})
	river.AddWorker(workers, &emailWorker{n: n})
	river.AddWorker(workers, &webhookWorker{n: n})
	rc := &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: slots}},
		Workers: workers,
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(scan),
			func() (river.JobArgs, *river.InsertOpts) { return scanArgs{}, nil },
			&river.PeriodicJobOpts{ID: scanArgs{}.Kind(), RunOnStart: true})},
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

// Enqueue is the store's OnEvent hook: in the transaction of every
// deployment event it adds the job that syncs that deployment's
// notifications. System events (people, roles, templates) notify nobody.
func (n *Notifier) Enqueue(ctx context.Context, tx pgx.Tx, ev signoff.Event) error {
	if ev.DeploymentID == 0 {
		return nil
	}
	if _, err := n.client.InsertTx(ctx, tx, syncArgs{DeploymentID: ev.DeploymentID, Seq: ev.Seq}, nil); err != nil {
		return fmt.Errorf("queue notifications for deployment %d: %w", ev.DeploymentID, err)
	}
	return nil
}

// Start runs the workers (and, on the instance elected leader, the overdue
// scan) until Stop.
func (n *Notifier) Start(ctx context.Context) error {
	if err := n.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start notifications: %w", err)
	}
	n.logger.Info("notifications started", "mail", n.mailer != nil)
	return nil
}

// Stop lets running jobs finish (cancelling them after 15 s) and stops.
// A job cut short is run again later: nothing is lost.
func (n *Notifier) Stop(ctx context.Context) error {
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
