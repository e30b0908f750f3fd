package signoff

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// Webhook formats.
const (
	WebhookJSON  = "json"  // Signoff's own JSON document
	WebhookSlack = "slack" // {"text": "..."}, for Slack-compatible incoming webhooks
)

// Webhook event names: what a webhook can be told about.
const (
	HookDeploymentCreated = "deployment.created"
	HookDeploymentStatus  = "deployment.status" // in progress, live, completed (locked), aborted
	HookSignoffSigned     = "signoff.signed"
	HookSignoffRevoked    = "signoff.revoked"
	HookSignoffStale      = "signoff.stale"
	HookSignoffReady      = "signoff.ready" // a slot can be signed now
	HookItemsOverdue      = "items.overdue"
)

// HookEvents lists every webhook event name, in the order forms show them.
var HookEvents = []string{
	HookDeploymentCreated, HookDeploymentStatus, HookSignoffReady, HookSignoffSigned,
	HookSignoffRevoked, HookSignoffStale, HookItemsOverdue,
}

// Webhook is an outgoing webhook: where to POST, how, and for which events.
type Webhook struct {
	ID        int64
	URL       string
	Format    string
	Events    []string // empty means every event
	Active    bool
	CreatedBy UserRef
	CreatedAt time.Time
	// Secret keys the HMAC signature of every delivery. It is shown to the
	// admin once, when the webhook is made, and read again only to sign.
	Secret string
}

// Wants reports whether the webhook subscribes to the event.
func (w *Webhook) Wants(event string) bool {
	return len(w.Events) == 0 || slices.Contains(w.Events, event)
}

// NewWebhook is what it takes to add a webhook. An empty Secret means one is
// generated.
type NewWebhook struct {
	URL    string
	Format string
	Secret string
	Events []string
}

// Validate checks the fields: an absolute http(s) URL, a known format and
// known events.
func (n *NewWebhook) Validate() error {
	n.URL = strings.TrimSpace(n.URL)
	n.Secret = strings.TrimSpace(n.Secret)
	if n.Format == "" {
		n.Format = WebhookJSON
	}
	if err := ValidateText("URL", n.URL, 1, 2000); err != nil {
		return err
	}
	u, err := url.Parse(n.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Errorf(EINVALID, "URL must be an http:// or https:// address such as https://hooks.example.com/signoff.")
	}
	if n.Format != WebhookJSON && n.Format != WebhookSlack {
		return Errorf(EINVALID, "Format must be json or slack.")
	}
	if n.Secret != "" {
		if err := ValidateText("Secret", n.Secret, 16, 200); err != nil {
			return err
		}
	}
	for _, e := range n.Events {
		if !slices.Contains(HookEvents, e) {
			return Errorf(EINVALID, "Unknown webhook event %q.", e)
		}
	}
	return nil
}

// Delivery states, for webhook deliveries and emails alike.
const (
	DeliveryPending   = "pending"   // waiting for its first or next attempt
	DeliveryDelivered = "delivered" // the receiver answered 2xx / the mail server accepted it
	DeliveryFailed    = "failed"    // every attempt failed, or it can never succeed
	DeliverySkipped   = "skipped"   // email only: SMTP is not configured
)

// WebhookDelivery is one event's delivery to one webhook, with its history:
// the delivery log.
type WebhookDelivery struct {
	ID             int64
	WebhookID      int64
	WebhookURL     string
	DeliveryID     string // the X-Signoff-Delivery header: the receiver's idempotency key
	Event          string
	DeploymentID   int64
	Status         string
	Attempts       int
	LastStatusCode int
	LastError      string
	CreatedAt      time.Time
	DeliveredAt    *time.Time
}

// Email is one notification mail to one person, with its history.
type Email struct {
	ID           int64
	DeploymentID int64
	Kind         string // a Notice kind
	UserID       int64
	Address      string
	Subject      string
	Body         string
	MessageID    string // "<…@host>", the same on every attempt
	Status       string
	Attempts     int
	LastError    string
	CreatedAt    time.Time
	SentAt       *time.Time
}
