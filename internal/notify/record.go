package notify

import (
	"context"
	"time"

	"github.com/signoff/signoff/internal/postgres"
)

// recordPatience is how long an attempt's outcome keeps being recorded
// while the database cannot take it (a restart, a failover, a full disk):
// well inside RescueAfter, so no other instance runs the job meanwhile.
const recordPatience = 2 * time.Minute

// recordOutcome records what an attempt did, trying again while the
// database is unavailable. An outcome not recorded fails the job, and its
// next attempt would send again what the receiver already has: a webhook
// answered 2xx, a mail the server took. So a database that is away for a
// moment delays the record, never repeats the delivery; only a process
// that dies first, or a database away longer than recordPatience, leaves
// the delivery to be sent again, as the identical request (the same
// X-Signoff-Delivery, the same Message-ID).
func (n *Notifier) recordOutcome(ctx context.Context, what string, id int64, record func(context.Context) error) error {
	ctx = context.WithoutCancel(ctx)
	deadline := time.Now().Add(recordPatience)
	wait := 100 * time.Millisecond
	for {
		err := record(ctx)
		if err == nil || !postgres.IsUnavailable(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		n.logger.Warn("recording an attempt's outcome failed; trying again", what, id, "err", err)
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
	}
}
