package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// Webhooks reached internal services, and the delivery log showed what
// they answered. A delivery is now checked at the socket, after DNS: a
// webhook whose name leads inside (added when it led elsewhere: DNS
// rebinding), or that names an internal address outright, reaches
// nothing, and the log says why.
func TestWebhookDeliveryNeverReachesInside(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{inside: true})
	rc := newReceiver(t)
	port := strings.TrimPrefix(rc.srv.URL, "http://127.0.0.1:")
	admin := signoff.EventActor{Name: "test", Via: "cli"}
	// Added straight to the store, as if each had passed the check when
	// it was made and its name had moved since.
	for _, u := range []string{"http://localhost:" + port + "/hook", "http://127.0.0.1:" + port + "/hook", "http://[::ffff:127.0.0.1]:" + port + "/hook"} {
		if _, err := e.db.CreateWebhook(e.ctx, signoff.NewWebhook{URL: u, Events: []string{signoff.HookDeploymentCreated}}, admin); err != nil {
			t.Fatal(err)
		}
	}
	owner := e.user("Olivia Owner")
	e.start()
	e.deployment(owner)
	eventually(t, 30*time.Second, "every delivery to be tried", func() bool {
		for _, l := range e.deliveries() {
			if l.Attempts == 0 {
				return false
			}
		}
		return len(e.deliveries()) == 3
	})
	for _, l := range e.deliveries() {
		if l.Status == signoff.DeliveryDelivered || l.LastStatusCode != 0 || !strings.Contains(l.LastError, "is an internal address") {
			t.Errorf("delivery to %s: %s", l.WebhookURL, dump(l))
		}
	}
	if got := rc.all(); len(got) != 0 {
		t.Fatalf("the internal receiver got %d requests", len(got))
	}
}

// A receiver's answer is never kept: the log has the status, not the body
// (which an internal service would fill with what it holds).
func TestWebhookLogNeverShowsTheAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	rc.statuses = []int{500, 500, 500, 500, 500, 500, 500, 500, 500}
	rc.body = "postgres password=hunter2 internal secrets"
	e.hook(rc, signoff.WebhookJSON, signoff.HookDeploymentCreated)
	owner := e.user("Olivia Owner")
	e.start()
	e.deployment(owner)
	eventually(t, 30*time.Second, "the first attempt", func() bool {
		log := e.deliveries()
		return len(log) == 1 && log[0].Attempts > 0
	})
	l := e.deliveries()[0]
	if l.LastStatusCode != 500 || strings.Contains(l.LastError, "hunter2") || strings.Contains(l.LastError, "secrets") {
		t.Fatalf("logged delivery = %s", dump(l))
	}
}
