package notify

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"github.com/riverqueue/river"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// run is one sync of one deployment: its transaction, what it read, and
// the jobs it adds.
type run struct {
	n     *Notifier
	tx    *postgres.NotifyTx
	d     *signoff.Deployment
	hooks []*signoff.Webhook
	jobs  []river.InsertManyParams
}

// sync brings a deployment's notifications up to date in one transaction:
// the events since the cursor become webhook deliveries, and the conditions
// that hold now are compared with those already told (unless no event came
// and force is off: then nothing changed). Whatever it decides commits with
// the cursor and the jobs that send it, or not at all, so running it twice,
// or at once on two instances, tells nothing twice.
func (n *Notifier) sync(ctx context.Context, deploymentID int64, force bool) error {
	tx, err := n.begin(ctx, deploymentID, force)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	events, err := tx.Events(ctx)
	if err != nil {
		return err
	}
	if len(events) == 0 && !force {
		return nil
	}
	r := &run{n: n, tx: tx}
	var cl *signoff.Checklist
	var slots []signoff.Slot
	if r.d, cl, slots, err = tx.State(ctx); err != nil {
		return err
	}
	if r.hooks, err = tx.Webhooks(ctx); err != nil {
		return err
	}

	status := tx.Status
	for _, ev := range events {
		var told []hookEvent
		if told, status, err = fromEvent(ev, status); err != nil {
			return err
		}
		for _, he := range told {
			if err := r.toWebhooks(ctx, he); err != nil {
				return err
			}
		}
	}
	if len(events) > 0 {
		last := events[len(events)-1]
		// A status change the replay does not know (a new kind of event)
		// is still told, once the cursor reaches the deployment's head.
		if last.Seq == r.d.AuditSeq && status != r.d.Status {
			he := hookEvent{Name: signoff.HookDeploymentStatus, Source: eventSource(r.d.ID, last.Seq),
				At: last.At, Actor: signoff.EventActor{ID: last.Actor.ID, Name: last.Actor.Name}, Status: r.d.Status,
				Data: map[string]any{"status": r.d.Status, "previous": status},
				Text: "is now " + strings.ToLower(r.d.Status.Label())}
			if err := r.toWebhooks(ctx, he); err != nil {
				return err
			}
			status = r.d.Status
		}
		if err := tx.Advance(ctx, last.Seq, status); err != nil {
			return err
		}
	}

	if err := r.reconcile(ctx, cl, slots); err != nil {
		return err
	}
	if len(r.jobs) > 0 {
		if _, err := n.client.InsertManyTx(ctx, tx.Tx(), r.jobs); err != nil {
			return fmt.Errorf("notify deployment %d: queue %d jobs: %w", deploymentID, len(r.jobs), err)
		}
	}
	return tx.Commit(ctx)
}

// begin starts a sync. A forced sync (Sync, the overdue scan) waits for
// the deployment like any transaction. Any other returns
// postgres.ErrNotifyBusy at once while another sync holds the deployment,
// so that it does not hold a connection just to wait: its caller looks
// again later.
func (n *Notifier) begin(ctx context.Context, deploymentID int64, force bool) (*postgres.NotifyTx, error) {
	return n.db.BeginNotify(ctx, deploymentID, !force)
}

// reconcile compares the conditions that hold now with the open notices:
// new ones are recorded and told, gone ones are cleared.
func (r *run) reconcile(ctx context.Context, cl *signoff.Checklist, slots []signoff.Slot) error {
	now := r.n.now().UTC()
	open, err := r.tx.OpenNotices(ctx)
	if err != nil {
		return err
	}
	due := signoff.Notices(r.d, cl, slots, now)
	isDue := make(map[string]bool, len(due))
	for _, nt := range due {
		isDue[nt.Kind+" "+nt.Subject] = true
	}
	isOpen := make(map[string]bool, len(open))
	var gone []int64
	for _, o := range open {
		isOpen[o.Kind+" "+o.Subject] = true
		if !isDue[o.Kind+" "+o.Subject] {
			gone = append(gone, o.ID)
		}
	}
	if err := r.tx.ClearNotices(ctx, gone, now); err != nil {
		return err
	}

	var overdue []signoff.Notice
	var firstOverdue int64
	for _, nt := range due {
		if isOpen[nt.Kind+" "+nt.Subject] {
			continue
		}
		id, err := r.tx.RecordNotice(ctx, nt.Kind, nt.Subject, now)
		if err != nil {
			return err
		}
		base := hookEvent{Source: "notice/" + strconv.FormatInt(id, 10), At: now, Actor: systemActor, Status: r.d.Status}
		switch nt.Kind {
		case signoff.NoticeSignable:
			if err := r.tellSignable(ctx, nt, base); err != nil {
				return err
			}
		case signoff.NoticeStale:
			if err := r.tellStale(ctx, nt, base); err != nil {
				return err
			}
		case signoff.NoticeRejected:
			if err := r.toOwner(ctx, nt.Kind, func(to postgres.Recipient) (string, string) {
				return rejectedMail(r.d, nt, to, r.n.deploymentURL(r.d.ID))
			}); err != nil {
				return err
			}
		case signoff.NoticeOverdue:
			// Items falling overdue together are told together.
			if firstOverdue == 0 {
				firstOverdue = id
			}
			overdue = append(overdue, nt)
		}
	}
	if len(overdue) > 0 {
		base := hookEvent{Source: "notice/" + strconv.FormatInt(firstOverdue, 10), At: now, Actor: systemActor, Status: r.d.Status}
		return r.tellOverdue(ctx, overdue, base)
	}
	return nil
}

func (r *run) tellSignable(ctx context.Context, nt signoff.Notice, he hookEvent) error {
	s := nt.Slot
	holders, err := r.tx.RoleHolders(ctx, s.Role, s.Position)
	if err != nil {
		return err
	}
	for _, to := range holders {
		subject, body := signableMail(r.d, nt, to, r.n.deploymentURL(r.d.ID))
		if err := r.email(ctx, nt.Kind, to, subject, body); err != nil {
			return err
		}
	}
	he.Name = signoff.HookSignoffReady
	he.Data = map[string]any{"slot": s.Position, "role": s.Role, "final": s.Final, "again": nt.Resign}
	he.Text = "is ready for its " + s.Role + " sign-off"
	return r.toWebhooks(ctx, he)
}

func (r *run) tellStale(ctx context.Context, nt signoff.Notice, he hookEvent) error {
	s := nt.Slot
	if err := r.toOwner(ctx, nt.Kind, func(to postgres.Recipient) (string, string) {
		return staleMail(r.d, nt, to, r.n.deploymentURL(r.d.ID))
	}); err != nil {
		return err
	}
	he.Name = signoff.HookSignoffStale
	he.Data = map[string]any{"slot": s.Position, "role": s.Role, "signature_id": s.Signature.ID,
		"printed_name": s.Signature.Signer.Name, "signed_at": s.Signature.SignedAt.UTC().Format(signoff.TimeFormat)}
	he.Text = "has a stale " + s.Role + " sign-off (" + s.Signature.Signer.Name + "): the checklist changed since"
	return r.toWebhooks(ctx, he)
}

func (r *run) tellOverdue(ctx context.Context, items []signoff.Notice, he hookEvent) error {
	if err := r.toOwner(ctx, signoff.NoticeOverdue, func(to postgres.Recipient) (string, string) {
		return overdueMail(r.d, items, to, r.n.deploymentURL(r.d.ID))
	}); err != nil {
		return err
	}
	list := make([]map[string]any, 0, len(items))
	for _, nt := range items {
		list = append(list, map[string]any{"path": nt.Item.Path, "title": nt.Item.Title(),
			"due_at": nt.DueAt.UTC().Format(signoff.TimeFormat)})
	}
	he.Name = signoff.HookItemsOverdue
	he.Data = map[string]any{"items": list}
	he.Text = "has " + strconv.Itoa(len(items)) + " " + plural(len(items), "item", "items") + " overdue"
	return r.toWebhooks(ctx, he)
}

// toOwner mails the deployment's owner, if still active.
func (r *run) toOwner(ctx context.Context, kind string, mail func(postgres.Recipient) (string, string)) error {
	to, ok, err := r.tx.ActiveUser(ctx, r.d.CreatedBy.ID)
	if err != nil || !ok {
		return err
	}
	subject, body := mail(to)
	return r.email(ctx, kind, to, subject, body)
}

// email records one mail, and its job when mail is configured; without
// SMTP it is recorded as skipped and nothing is sent.
func (r *run) email(ctx context.Context, kind string, to postgres.Recipient, subject, body string) error {
	e := &signoff.Email{Kind: kind, UserID: to.UserID, Address: to.Email, Subject: subject, Body: body,
		MessageID: "<" + newID() + "@" + r.n.host + ">", Status: signoff.DeliveryPending, CreatedAt: r.n.now()}
	if r.n.mailer == nil {
		e.Status, e.LastError = signoff.DeliverySkipped, "SMTP not configured"
	}
	if err := r.tx.AddEmail(ctx, e); err != nil {
		return err
	}
	if e.Status == signoff.DeliveryPending {
		r.jobs = append(r.jobs, river.InsertManyParams{Args: emailArgs{EmailID: e.ID}})
	}
	return nil
}

// toWebhooks records a delivery of he to every active webhook that wants
// it and existed when it happened, with the exact body to send.
func (r *run) toWebhooks(ctx context.Context, he hookEvent) error {
	for _, h := range r.hooks {
		if !h.Wants(he.Name) || h.CreatedAt.After(he.At) {
			continue
		}
		del := &signoff.WebhookDelivery{WebhookID: h.ID, DeliveryID: newID(), Event: he.Name,
			DeploymentID: r.d.ID, CreatedAt: r.n.now()}
		body, err := r.n.payload(h.Format, del.DeliveryID, r.d, he)
		if err != nil {
			return err
		}
		added, err := r.tx.AddDelivery(ctx, del, he.Source, body)
		if err != nil {
			return err
		}
		if added {
			r.jobs = append(r.jobs, river.InsertManyParams{Args: webhookArgs{DeliveryID: del.ID}})
		}
	}
	return nil
}

// newID returns a random UUID (version 4), the idempotency key of one
// delivery or mail.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
