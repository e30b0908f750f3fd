package notify

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/signoff/signoff/internal/postgres"
)

// The jobs. Their arguments name rows, never content: what to send is
// decided once and stored, so every attempt sends the same bytes.

// syncArgs asks for a deployment's notifications to be brought up to date.
// The app queues none (the listener and the sweep find the deployments to
// sync); jobs left in the queue by versions that queued one per change
// still run. Seq is for the record only: a sync takes every event since
// the cursor.
type syncArgs struct {
	DeploymentID int64 `json:"deployment_id"`
	Seq          int64 `json:"seq"`
}

func (syncArgs) Kind() string { return "signoff.deployment_sync" }

// scanArgs asks for the overdue scan (a periodic job).
type scanArgs struct{}

func (scanArgs) Kind() string { return "signoff.overdue_scan" }

func (scanArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

// emailArgs sends one mail (a notification_emails row).
type emailArgs struct {
	EmailID int64 `json:"email_id"`
}

func (emailArgs) Kind() string { return "signoff.email" }

func (emailArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: MaxAttempts} }

// webhookArgs makes one webhook delivery (a webhook_deliveries row).
type webhookArgs struct {
	DeliveryID int64 `json:"delivery_id"`
}

func (webhookArgs) Kind() string { return "signoff.webhook" }

func (webhookArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: MaxAttempts} }

type syncWorker struct {
	river.WorkerDefaults[syncArgs]
	n *Notifier
}

func (w *syncWorker) Work(ctx context.Context, job *river.Job[syncArgs]) error {
	err := w.n.sync(ctx, job.Args.DeploymentID, false)
	if errors.Is(err, postgres.ErrNotifyBusy) {
		return river.JobSnooze(time.Second) // look again once the other sync is done
	}
	return err
}

type scanWorker struct {
	river.WorkerDefaults[scanArgs]
	n *Notifier
}

func (w *scanWorker) Work(ctx context.Context, job *river.Job[scanArgs]) error {
	return w.n.ScanOverdue(ctx)
}

type emailWorker struct {
	river.WorkerDefaults[emailArgs]
	n *Notifier
}

func (w *emailWorker) Work(ctx context.Context, job *river.Job[emailArgs]) error {
	return w.n.sendEmail(ctx, job.Args.EmailID, job.Attempt, job.Attempt >= job.MaxAttempts)
}

func (w *emailWorker) Timeout(*river.Job[emailArgs]) time.Duration { return w.n.mailTimeout }

type webhookWorker struct {
	river.WorkerDefaults[webhookArgs]
	n *Notifier
}

func (w *webhookWorker) Work(ctx context.Context, job *river.Job[webhookArgs]) error {
	return w.n.deliver(ctx, job.Args.DeliveryID, job.Attempt, job.Attempt >= job.MaxAttempts)
}

// Timeout leaves the request its own timeout, plus time to record it.
func (w *webhookWorker) Timeout(*river.Job[webhookArgs]) time.Duration {
	return w.n.timeout + 5*time.Second
}
