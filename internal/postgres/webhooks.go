package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// CreateWebhook adds an outgoing webhook and returns it with its secret,
// generated when none was given: the one time anyone sees it.
func (db *DB) CreateWebhook(ctx context.Context, n signoff.NewWebhook, actor signoff.EventActor) (*signoff.Webhook, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if n.Secret == "" {
		b := make([]byte, 24)
		rand.Read(b)
		n.Secret = "whsec_" + hex.EncodeToString(b)
	}
	if n.Events == nil {
		n.Events = []string{}
	}
	w := &signoff.Webhook{URL: n.URL, Format: n.Format, Events: n.Events, Active: true, Secret: n.Secret,
		CreatedBy: signoff.UserRef{ID: actor.ID, Name: actor.Name}}
	ev, err := db.changeSystem(ctx, "create webhook", func(tx pgx.Tx) (*signoff.Change, error) {
		err := tx.QueryRow(ctx, `
			INSERT INTO webhooks (url, secret, format, events, created_by)
			VALUES ($1, $2, $3, $4, $5)
			RETURNING id, created_at`, n.URL, n.Secret, n.Format, n.Events, nullID(actor.ID)).Scan(&w.ID, &w.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("create webhook: %w", err)
		}
		// The secret stays out of the audit log: the log is for reading.
		ch := signoff.NewChange(actor, signoff.WebhookTarget(w.ID),
			&signoff.WebhookCreateEvent{After: signoff.WebhookCreateAfter{URL: w.URL, Format: w.Format, Events: w.Events}})
		return &ch, nil
	})
	if err != nil {
		return nil, err
	}
	if ev.Seq == 0 { // an earlier form with the same key made it
		return nil, signoff.Errorf(signoff.ECONFLICT, "This form was already sent, and the webhook was added then (see the list); "+
			"a secret generated for it was shown once, in the answer to that.")
	}
	return w, nil
}

// DeleteWebhook stops a webhook: nothing more is sent to it, and deliveries
// still waiting fail. Its rows stay for the delivery log.
func (db *DB) DeleteWebhook(ctx context.Context, id int64, actor signoff.EventActor) error {
	_, err := db.changeSystem(ctx, "delete webhook", func(tx pgx.Tx) (*signoff.Change, error) {
		var url string
		err := tx.QueryRow(ctx, `
			UPDATE webhooks SET active = false, deleted_at = now()
			WHERE id = $1 AND deleted_at IS NULL
			RETURNING url`, id).Scan(&url)
		if err != nil {
			return nil, notFound(fmt.Errorf("delete webhook %d: %w", id, err), "Webhook %d not found.", id)
		}
		ch := signoff.NewChange(actor, signoff.WebhookTarget(id),
			&signoff.WebhookDeleteEvent{Before: signoff.WebhookDeleteBefore{URL: url}})
		return &ch, nil
	})
	return err
}

// Webhooks lists the webhooks not deleted, oldest first, without secrets.
func (db *DB) Webhooks(ctx context.Context) ([]*signoff.Webhook, error) {
	return db.webhooks(ctx, db.pool)
}

func (db *DB) webhooks(ctx context.Context, q querier) ([]*signoff.Webhook, error) {
	rows, err := q.Query(ctx, `
		SELECT w.id, w.url, w.format, w.events, w.active, coalesce(w.created_by, 0), coalesce(u.name, ''), w.created_at
		FROM webhooks w
		LEFT JOIN users u ON u.id = w.created_by
		WHERE w.deleted_at IS NULL
		ORDER BY w.id`)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*signoff.Webhook, error) {
		var w signoff.Webhook
		err := r.Scan(&w.ID, &w.URL, &w.Format, &w.Events, &w.Active, &w.CreatedBy.ID, &w.CreatedBy.Name, &w.CreatedAt)
		return &w, err
	})
}

// WebhookDeliveries lists the latest deliveries, newest first: the
// delivery log.
func (db *DB) WebhookDeliveries(ctx context.Context, limit int) ([]signoff.WebhookDelivery, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := db.pool.Query(ctx, `
		SELECT `+deliveryColumns+`
		FROM webhook_deliveries d
		JOIN webhooks w ON w.id = d.webhook_id
		ORDER BY d.created_at DESC, d.id DESC
		LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (signoff.WebhookDelivery, error) {
		d, err := scanDelivery(r)
		if err != nil {
			return signoff.WebhookDelivery{}, err
		}
		return *d, nil
	})
}

const deliveryColumns = `
	d.id, d.webhook_id, w.url, d.delivery_id, d.event, coalesce(d.deployment_id, 0), d.status,
	d.attempts, coalesce(d.last_status_code, 0), d.last_error, d.created_at, d.delivered_at`

func scanDelivery(row pgx.Row, extra ...any) (*signoff.WebhookDelivery, error) {
	var d signoff.WebhookDelivery
	dest := []any{&d.ID, &d.WebhookID, &d.WebhookURL, &d.DeliveryID, &d.Event, &d.DeploymentID, &d.Status,
		&d.Attempts, &d.LastStatusCode, &d.LastError, &d.CreatedAt, &d.DeliveredAt}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	return &d, nil
}

// PendingDelivery is what the sender needs for one attempt: the delivery,
// the exact body to send, and the webhook with its secret.
type PendingDelivery struct {
	Delivery signoff.WebhookDelivery
	Payload  []byte
	Webhook  signoff.Webhook
	Deleted  bool // the webhook was deleted since
}

// WebhookDelivery reads a delivery for sending.
func (db *DB) WebhookDelivery(ctx context.Context, id int64) (*PendingDelivery, error) {
	var p PendingDelivery
	var payload string
	var deletedAt *time.Time
	d, err := scanDelivery(db.pool.QueryRow(ctx, `
		SELECT `+deliveryColumns+`, d.payload, w.secret, w.format, w.active, w.deleted_at
		FROM webhook_deliveries d
		JOIN webhooks w ON w.id = d.webhook_id
		WHERE d.id = $1`, id), &payload, &p.Webhook.Secret, &p.Webhook.Format, &p.Webhook.Active, &deletedAt)
	if err != nil {
		return nil, notFound(fmt.Errorf("webhook delivery %d: %w", id, err), "Webhook delivery %d not found.", id)
	}
	p.Delivery, p.Payload, p.Deleted = *d, []byte(payload), deletedAt != nil
	p.Webhook.ID, p.Webhook.URL = d.WebhookID, d.WebhookURL
	return &p, nil
}

// DeliveryResult is the outcome of one attempt.
type DeliveryResult struct {
	Status     string // signoff.DeliveryPending (will retry), Delivered or Failed
	Attempts   int
	StatusCode int // 0 when no response came
	Error      string
}

// RecordDelivery stores the outcome of an attempt in the delivery log.
func (db *DB) RecordDelivery(ctx context.Context, id int64, r DeliveryResult) error {
	_, err := db.pool.Exec(ctx, `
		UPDATE webhook_deliveries
		SET status = $2, attempts = $3, last_status_code = nullif($4, 0), last_error = $5,
		    delivered_at = CASE WHEN $2 = 'delivered' THEN now() END
		WHERE id = $1`, id, r.Status, r.Attempts, r.StatusCode, truncate(r.Error, 1000))
	if err != nil {
		return fmt.Errorf("record webhook delivery %d: %w", id, err)
	}
	return nil
}

// truncate keeps s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
