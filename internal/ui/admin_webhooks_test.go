package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/internal/ui"
)

func TestWebhooksAdminPage(t *testing.T) {
	t.Parallel()
	a := newAppWith(t, appConfig{opts: func(o *ui.Options) { o.WebhookResolver = tableDNS{"hooks.example.com": "93.184.215.14"} }})
	admin := a.user("Ada Admin", true, false)
	alice := a.user("Alice Chen", false, false)
	c := a.login(admin)

	if res := a.login(alice).get("/admin/webhooks"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("non-admin: status %d", res.StatusCode)
	}
	page := c.get("/admin/webhooks")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, "Add a webhook") ||
		!strings.Contains(page.Body, `data-testid="mail-off"`) || !strings.Contains(page.Body, `href="/admin/webhooks" aria-current="page"`) {
		t.Fatalf("page: %d\n%s", page.StatusCode, page.Body)
	}

	// Only http(s) URLs; the form keeps what was typed.
	res := c.post("/admin/webhooks", url.Values{"url": {"ftp://example.com/x"}, "event": {"signoff.signed"}}, false)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, "http:// or https://") ||
		!strings.Contains(res.Body, `value="ftp://example.com/x"`) {
		t.Fatalf("bad URL: %d", res.StatusCode)
	}

	// Added: the generated secret is shown once.
	res = c.post("/admin/webhooks", url.Values{"url": {"https://hooks.example.com/a"}, "format": {"slack"},
		"event": {"signoff.signed", "items.overdue"}}, false)
	if res.StatusCode != http.StatusCreated || !strings.Contains(res.Body, `data-testid="webhook-secret"`) ||
		!strings.Contains(res.Body, "whsec_") {
		t.Fatalf("create: %d", res.StatusCode)
	}
	hooks, err := a.db.Webhooks(context.Background())
	if err != nil || len(hooks) != 1 {
		t.Fatalf("webhooks = %v, %v", hooks, err)
	}
	h := hooks[0]
	if h.Format != signoff.WebhookSlack || strings.Join(h.Events, ",") != "signoff.signed,items.overdue" {
		t.Fatalf("stored webhook = %+v", h)
	}
	page = c.get("/admin/webhooks")
	if strings.Contains(page.Body, "whsec_") || !strings.Contains(page.Body, "https://hooks.example.com/a") ||
		!strings.Contains(page.Body, "signoff.signed, items.overdue") {
		t.Fatalf("list after create shows the secret, or not the webhook")
	}

	// The delivery log lists deliveries with their outcome.
	d := a.deployment(admin)
	tx, err := a.db.BeginNotify(context.Background(), d.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	del := &signoff.WebhookDelivery{WebhookID: h.ID, DeliveryID: "0f6e5c1e-delivery", Event: signoff.HookSignoffSigned,
		DeploymentID: d.ID, CreatedAt: time.Now()}
	if _, err := tx.AddDelivery(context.Background(), del, "event/1", []byte(`{"text":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.db.RecordDelivery(context.Background(), del.ID, postgres.DeliveryResult{Status: signoff.DeliveryPending, Attempts: 2, StatusCode: 502, Error: "the receiver answered 502 Bad Gateway"}); err != nil {
		t.Fatal(err)
	}
	page = c.get("/admin/webhooks")
	for _, want := range []string{`data-testid="delivery" data-status="pending"`, "0f6e5c1e-delivery", "502 Bad Gateway", "2 attempts · HTTP 502"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("delivery log lacks %q", want)
		}
	}

	// Deleted: gone from the list, recorded in the audit log.
	res = c.post("/admin/webhooks/"+itoa(h.ID)+"/delete", nil, false)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	if hooks, _ := a.db.Webhooks(context.Background()); len(hooks) != 0 {
		t.Fatalf("webhook still listed after delete")
	}
	events, err := a.db.Events(context.Background(), 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
		if strings.Contains(e.Payload, "whsec_") {
			t.Errorf("the audit log holds a webhook secret: %s", e.Payload)
		}
	}
	if !strings.Contains(strings.Join(actions, " "), "webhook.create webhook.delete") {
		t.Errorf("system events = %v", actions)
	}
	if res := c.post("/admin/webhooks/"+itoa(h.ID)+"/delete", nil, false); res.StatusCode != http.StatusNotFound {
		t.Errorf("deleting twice: %d", res.StatusCode)
	}
}
