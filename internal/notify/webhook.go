package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/riverqueue/river"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// Webhook headers.
const (
	HeaderDelivery  = "X-Signoff-Delivery"  // the delivery's id: the same on every attempt
	HeaderEvent     = "X-Signoff-Event"     // the event name
	HeaderSignature = "X-Signoff-Signature" // "sha256=" + hex HMAC-SHA256 of the body, keyed by the secret
)

// Payload is the JSON document a webhook in the json format receives.
type Payload struct {
	DeliveryID string             `json:"delivery_id"`
	Event      string             `json:"event"`
	Deployment PayloadDeployment  `json:"deployment"`
	Actor      signoff.EventActor `json:"actor"`
	At         string             `json:"at"`
	Data       any                `json:"data"`
}

// PayloadDeployment identifies the deployment in a payload.
type PayloadDeployment struct {
	ID          int64          `json:"id"`
	Service     string         `json:"service"`
	Environment string         `json:"environment"`
	Version     string         `json:"version"`
	Status      signoff.Status `json:"status"`
	URL         string         `json:"url"`
}

// payload renders the body one webhook receives for he.
func (n *Notifier) payload(format, deliveryID string, d *signoff.Deployment, he hookEvent) ([]byte, error) {
	link := n.deploymentURL(d.ID)
	if format == signoff.WebhookSlack {
		text := fmt.Sprintf("<%s|%s> %s", link, slackEscape(d.Name()), slackEscape(he.Text))
		return marshal(map[string]string{"text": text})
	}
	return marshal(Payload{
		DeliveryID: deliveryID, Event: he.Name,
		Deployment: PayloadDeployment{ID: d.ID, Service: d.Service, Environment: d.Environment,
			Version: d.Version, Status: he.Status, URL: link},
		Actor: he.Actor, At: he.At.UTC().Format(signoff.TimeFormat), Data: he.Data,
	})
}

// marshal encodes v as compact JSON, leaving <, > and & as they are.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode webhook payload: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Sign returns the X-Signoff-Signature value for body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// deliver is one attempt at one webhook delivery. The body and delivery id
// are the stored ones, so a receiver sees the same request every time. A
// delivery already made is not made again; one whose webhook was deleted
// fails without trying.
func (n *Notifier) deliver(ctx context.Context, id int64, attempt int, last bool) error {
	p, err := n.db.WebhookDelivery(ctx, id)
	if signoff.ErrorCode(err) == signoff.ENOTFOUND {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if p.Delivery.Status != signoff.DeliveryPending {
		return nil // done by an earlier attempt that was not recorded as finished
	}
	if p.Deleted || !p.Webhook.Active {
		return n.db.RecordDelivery(ctx, id, postgres.DeliveryResult{Status: signoff.DeliveryFailed,
			Attempts: p.Delivery.Attempts, Error: "the webhook was deleted"})
	}
	code, postErr := n.post(ctx, p)
	res := postgres.DeliveryResult{Status: signoff.DeliveryDelivered, Attempts: attempt, StatusCode: code}
	if postErr != nil {
		res.Status, res.Error = signoff.DeliveryPending, postErr.Error()
		if last {
			res.Status = signoff.DeliveryFailed
		}
	}
	if err := n.recordOutcome(ctx, "delivery", id, func(ctx context.Context) error { return n.db.RecordDelivery(ctx, id, res) }); err != nil {
		return err
	}
	if postErr != nil {
		n.logger.Warn("webhook not delivered", "delivery", p.Delivery.DeliveryID, "webhook", p.Webhook.ID,
			"attempt", attempt, "err", postErr)
	}
	return postErr
}

// post sends the request; anything but a 2xx answer is an error.
func (n *Notifier) post(ctx context.Context, p *postgres.PendingDelivery) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Webhook.URL, bytes.NewReader(p.Payload))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Signoff-Webhook/1")
	req.Header.Set(HeaderDelivery, p.Delivery.DeliveryID)
	req.Header.Set("Idempotency-Key", p.Delivery.DeliveryID) // the same, under the name some frameworks dedupe on
	req.Header.Set(HeaderEvent, p.Delivery.Event)
	req.Header.Set(HeaderSignature, Sign(p.Webhook.Secret, p.Payload))
	res, err := n.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST: %w", err)
	}
	defer res.Body.Close()
	// The answer's body is read (so the connection can be reused) but
	// never kept or shown: the delivery log would otherwise let an admin
	// read what a service answered.
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("the receiver answered %s", res.Status)
	}
	return res.StatusCode, nil
}
