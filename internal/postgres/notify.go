package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signoff/signoff/internal/signoff"
)

// NotifyTx is one run of a deployment's notification bookkeeping, in one
// transaction that holds the deployment's notification cursor row: runs
// for the same deployment take turns, each sees what the previous one
// recorded, and what a run decides (notifications, mails, deliveries, the
// jobs that send them) commits together with the cursor or not at all.
//
// It is the one store type whose caller holds the transaction, because the
// caller (package notify) adds its queue's jobs to the same transaction.
type NotifyTx struct {
	db           *DB
	tx           pgx.Tx
	DeploymentID int64
	// Seq is the cursor: the deployment's events up to Seq are done.
	Seq int64
	// Status is the deployment's status as of Seq ("" before any event).
	Status signoff.Status
}

// ErrNotifyBusy is BeginNotify's answer, when told not to wait, while
// another run holds the deployment.
var ErrNotifyBusy = errors.New("another notification run holds this deployment")

// BeginNotify starts a run for a deployment. While another run holds it,
// BeginNotify waits for it to finish, or with nowait returns ErrNotifyBusy
// at once (so a worker does not hold a connection just to wait).
func (db *DB) BeginNotify(ctx context.Context, deploymentID int64, nowait bool) (*NotifyTx, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify deployment %d: begin: %w", deploymentID, err)
	}
	n := &NotifyTx{db: db, tx: tx, DeploymentID: deploymentID}
	var status *string
	_, err = tx.Exec(ctx, `
		INSERT INTO notification_cursors (deployment_id) VALUES ($1)
		ON CONFLICT (deployment_id) DO NOTHING`, deploymentID)
	if err == nil {
		lock := "FOR UPDATE"
		if nowait {
			lock = "FOR UPDATE NOWAIT"
		}
		err = tx.QueryRow(ctx, `
			SELECT seq, status FROM notification_cursors WHERE deployment_id = $1 `+lock,
			deploymentID).Scan(&n.Seq, &status)
	}
	if err != nil {
		tx.Rollback(ctx)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55P03" { // lock_not_available
			return nil, ErrNotifyBusy
		}
		if isForeignKeyViolation(err) {
			return nil, signoff.Errorf(signoff.ENOTFOUND, "Deployment %d not found.", deploymentID)
		}
		return nil, fmt.Errorf("notify deployment %d: lock cursor: %w", deploymentID, err)
	}
	if status != nil {
		n.Status = signoff.Status(*status)
	}
	return n, nil
}

// Tx is the transaction, for adding jobs to it.
func (n *NotifyTx) Tx() pgx.Tx { return n.tx }

// Commit commits the run.
func (n *NotifyTx) Commit(ctx context.Context) error {
	if err := n.tx.Commit(ctx); err != nil {
		return fmt.Errorf("notify deployment %d: commit: %w", n.DeploymentID, err)
	}
	return nil
}

// Rollback abandons the run; after Commit it does nothing.
func (n *NotifyTx) Rollback(ctx context.Context) { n.tx.Rollback(ctx) }

// Events returns the deployment's events after the cursor, in chain order.
func (n *NotifyTx) Events(ctx context.Context) ([]signoff.Event, error) {
	events, err := deploymentEvents(ctx, n.tx, n.DeploymentID, n.Seq, 0)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return events, nil
}

// Advance moves the cursor.
func (n *NotifyTx) Advance(ctx context.Context, seq int64, status signoff.Status) error {
	var st *string
	if status != "" {
		s := string(status)
		st = &s
	}
	if _, err := n.tx.Exec(ctx, `
		UPDATE notification_cursors SET seq = $2, status = $3 WHERE deployment_id = $1`,
		n.DeploymentID, seq, st); err != nil {
		return fmt.Errorf("notify deployment %d: advance cursor: %w", n.DeploymentID, err)
	}
	n.Seq, n.Status = seq, status
	return nil
}

// State reads the deployment as it is now, with its checklist and slots.
// The checklist comes without its template (Checklist.Template is nil):
// everything here runs on the run's one connection, since a second one
// taken from the pool while holding this one could wait for ever when
// every connection is held by a run waiting for this one's lock.
func (n *NotifyTx) State(ctx context.Context) (*signoff.Deployment, *signoff.Checklist, []signoff.Slot, error) {
	d, err := scanDeployment(n.tx.QueryRow(ctx, `SELECT `+deploymentColumns+deploymentJoins+` WHERE d.id = $1`, n.DeploymentID))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("notify deployment %d: read: %w", n.DeploymentID, err)
	}
	items, err := n.db.items(ctx, n.tx, d.ID, "")
	if err != nil {
		return nil, nil, nil, err
	}
	notes, err := n.db.notes(ctx, n.tx, d.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	slots, err := n.db.slots(ctx, n.tx, d.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	return d, signoff.NewChecklist(nil, items, notes), slots, nil
}

// OpenNotice is a notice told and still holding.
type OpenNotice struct {
	ID      int64
	Kind    string
	Subject string
}

// OpenNotices lists the deployment's notices that were told and have not
// been cleared.
func (n *NotifyTx) OpenNotices(ctx context.Context) ([]OpenNotice, error) {
	rows, err := n.tx.Query(ctx, `
		SELECT id, kind, subject FROM notifications
		WHERE deployment_id = $1 AND cleared_at IS NULL
		ORDER BY id`, n.DeploymentID)
	if err != nil {
		return nil, fmt.Errorf("notify deployment %d: open notices: %w", n.DeploymentID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpenNotice, error) {
		var o OpenNotice
		err := r.Scan(&o.ID, &o.Kind, &o.Subject)
		return o, err
	})
}

// RecordNotice records that a notice is told. A notice already open for
// the same subject is an error: the caller decides from OpenNotices under
// the same lock, so it never happens.
func (n *NotifyTx) RecordNotice(ctx context.Context, kind, subject string, at time.Time) (int64, error) {
	var id int64
	err := n.tx.QueryRow(ctx, `
		INSERT INTO notifications (deployment_id, kind, subject, created_at)
		VALUES ($1, $2, $3, $4)
		RETURNING id`, n.DeploymentID, kind, subject, at).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("notify deployment %d: record %s %s: %w", n.DeploymentID, kind, subject, err)
	}
	return id, nil
}

// ClearNotices marks notices as no longer holding.
func (n *NotifyTx) ClearNotices(ctx context.Context, ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := n.tx.Exec(ctx, `
		UPDATE notifications SET cleared_at = $3
		WHERE deployment_id = $1 AND id = ANY($2) AND cleared_at IS NULL`, n.DeploymentID, ids, at); err != nil {
		return fmt.Errorf("notify deployment %d: clear notices: %w", n.DeploymentID, err)
	}
	return nil
}

// Recipient is a person a mail goes to.
type Recipient struct {
	UserID int64
	Name   string
	Email  string
}

// RoleHolders lists the active people who could sign a slot of the role on
// this deployment: they hold the role, are no auditors, and (unless the
// template allows it) have not signed another of its slots.
func (n *NotifyTx) RoleHolders(ctx context.Context, role string, slot int) ([]Recipient, error) {
	rows, err := n.tx.Query(ctx, `
		SELECT u.id, u.name, u.email
		FROM users u
		JOIN user_roles ur ON ur.user_id = u.id
		JOIN roles r ON r.id = ur.role_id AND lower(r.name) = lower($2)
		WHERE u.active AND NOT u.is_auditor
		  AND NOT EXISTS (
		      SELECT 1
		      FROM signoffs s
		      JOIN deployments d ON d.id = s.deployment_id
		      JOIN template_versions v ON v.id = d.template_version_id
		      JOIN templates t ON t.id = v.template_id
		      WHERE s.deployment_id = $1 AND s.ended_at IS NULL AND s.slot <> $3
		        AND s.signer_id = u.id AND NOT t.allow_multiple_slots)
		ORDER BY u.id`, n.DeploymentID, role, slot)
	if err != nil {
		return nil, fmt.Errorf("notify deployment %d: holders of %s: %w", n.DeploymentID, role, err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Recipient])
}

// ActiveUser returns a person who may receive mail, or false when they are
// deactivated.
func (n *NotifyTx) ActiveUser(ctx context.Context, id int64) (Recipient, bool, error) {
	var r Recipient
	err := n.tx.QueryRow(ctx, `SELECT id, name, email FROM users WHERE id = $1 AND active`, id).
		Scan(&r.UserID, &r.Name, &r.Email)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("notify deployment %d: read user %d: %w", n.DeploymentID, id, err)
	}
	return r, true, nil
}

// AddEmail records a mail to send (status pending) or not to send (status
// skipped, with the reason in LastError). It sets e.ID.
func (n *NotifyTx) AddEmail(ctx context.Context, e *signoff.Email) error {
	err := n.tx.QueryRow(ctx, `
		INSERT INTO notification_emails
		    (deployment_id, kind, user_id, address, subject, body, message_id, status, last_error, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		RETURNING id`, n.DeploymentID, e.Kind, nullID(e.UserID), e.Address, e.Subject, e.Body, e.MessageID,
		e.Status, e.LastError, e.CreatedAt).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("notify deployment %d: add email: %w", n.DeploymentID, err)
	}
	return nil
}

// Webhooks lists the active webhooks (without secrets).
func (n *NotifyTx) Webhooks(ctx context.Context) ([]*signoff.Webhook, error) {
	hooks, err := n.db.webhooks(ctx, n.tx)
	if err != nil {
		return nil, err
	}
	var out []*signoff.Webhook
	for _, h := range hooks {
		if h.Active {
			out = append(out, h)
		}
	}
	return out, nil
}

// AddDelivery records a delivery to make, unless one for the same webhook,
// source and event exists: it reports whether it added one, and sets d.ID.
func (n *NotifyTx) AddDelivery(ctx context.Context, d *signoff.WebhookDelivery, source string, payload []byte) (bool, error) {
	err := n.tx.QueryRow(ctx, `
		INSERT INTO webhook_deliveries (webhook_id, delivery_id, source, event, deployment_id, payload, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (webhook_id, source, event) DO NOTHING
		RETURNING id`, d.WebhookID, d.DeliveryID, source, d.Event, nullID(d.DeploymentID), string(payload), d.CreatedAt).Scan(&d.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("notify deployment %d: add delivery: %w", n.DeploymentID, err)
	}
	return true, nil
}

// overdueSQL starts from the live deployments, which a partial index
// holds (migrations/0020): the sweep's cost follows how many are live,
// not how many there ever were.
const overdueSQL = `
		SELECT DISTINCT d.id
		FROM deployments d
		JOIN deployment_items i ON i.deployment_id = d.id
		WHERE d.status = 'live' AND d.locked_at IS NULL AND d.went_live_at IS NOT NULL
		  AND i.due_after IS NOT NULL AND NOT i.has_children AND i.state = 'open'
		  AND d.went_live_at + i.due_after < $1
		  AND NOT EXISTS (
		      SELECT 1 FROM notifications n
		      WHERE n.deployment_id = d.id AND n.kind = 'overdue'
		        AND n.subject = 'item/' || i.path AND n.cleared_at IS NULL)
		ORDER BY d.id`

// OverdueCandidates lists the live deployments with an open timed item past
// its due time at now that has not been told yet.
func (db *DB) OverdueCandidates(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := db.pool.Query(ctx, overdueSQL, now)
	if err != nil {
		return nil, fmt.Errorf("overdue deployments: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// NotificationsBehind lists the deployments with events their
// notifications have not caught up with (the catch-up sweep's work).
//
// It reads every deployment and every cursor: a hash join of two
// sequential scans, about 30 ms at 50,000 deployments (1,500 pages) on a
// 2-core machine, which the leader spends every sweep. No index helps: the
// condition compares two tables, and indexing audit_seq would make every
// change's update of its deployment row a non-HOT one, costing every tick
// to save the sweep.
func (db *DB) NotificationsBehind(ctx context.Context) ([]int64, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT d.id
		FROM deployments d
		LEFT JOIN notification_cursors c ON c.deployment_id = d.id
		WHERE d.audit_seq > coalesce(c.seq, 0)`)
	if err != nil {
		return nil, fmt.Errorf("deployments behind their notifications: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("deployments behind their notifications: %w", err)
	}
	return ids, nil
}

// Email reads a mail for sending.
func (db *DB) Email(ctx context.Context, id int64) (*signoff.Email, error) {
	e, err := scanEmail(db.pool.QueryRow(ctx, `SELECT `+emailColumns+` FROM notification_emails WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(fmt.Errorf("email %d: %w", id, err), "Email %d not found.", id)
	}
	return e, nil
}

// Emails lists the latest mails, newest first.
func (db *DB) Emails(ctx context.Context, limit int) ([]signoff.Email, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := db.pool.Query(ctx, `SELECT `+emailColumns+` FROM notification_emails ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list emails: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (signoff.Email, error) {
		e, err := scanEmail(r)
		if err != nil {
			return signoff.Email{}, err
		}
		return *e, nil
	})
}

const emailColumns = `id, deployment_id, kind, coalesce(user_id, 0), address, subject, body, message_id,
	status, attempts, last_error, created_at, sent_at`

func scanEmail(row pgx.Row) (*signoff.Email, error) {
	var e signoff.Email
	err := row.Scan(&e.ID, &e.DeploymentID, &e.Kind, &e.UserID, &e.Address, &e.Subject, &e.Body, &e.MessageID,
		&e.Status, &e.Attempts, &e.LastError, &e.CreatedAt, &e.SentAt)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// RecordEmail stores the outcome of an attempt to send a mail.
func (db *DB) RecordEmail(ctx context.Context, id int64, r DeliveryResult) error {
	_, err := db.pool.Exec(ctx, `
		UPDATE notification_emails
		SET status = $2, attempts = $3, last_error = $4,
		    sent_at = CASE WHEN $2 = 'delivered' THEN now() END
		WHERE id = $1`, id, r.Status, r.Attempts, truncate(r.Error, 1000))
	if err != nil {
		return fmt.Errorf("record email %d: %w", id, err)
	}
	return nil
}

// isForeignKeyViolation reports whether err is a foreign-key violation.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}
