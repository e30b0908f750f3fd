package notify_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/notify"
	"github.com/signoff/signoff/internal/signoff"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// hook adds a webhook pointing at rc and tells rc its secret.
func (e *env) hook(rc *receiver, format string, events ...string) *signoff.Webhook {
	e.t.Helper()
	admin := signoff.EventActor{Name: "test", Via: "cli"}
	w, err := e.db.CreateWebhook(e.ctx, signoff.NewWebhook{URL: rc.url("/hook"), Format: format, Events: events}, admin)
	if err != nil {
		e.t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = w.Secret
	rc.mu.Unlock()
	return w
}

// deliveries reads the delivery log, oldest first.
func (e *env) deliveries() []signoff.WebhookDelivery {
	e.t.Helper()
	log, err := e.db.WebhookDeliveries(e.ctx, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(log)
	return log
}

func TestWebhooksSignedJSONForStateChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	e.hook(rc, signoff.WebhookJSON)
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	dave := e.user("Dave Dba", "Database Administrator")
	carl := e.user("Carl Cto", "CTO/Technical Director")
	e.start()

	// Each step is left to be told before the next, so that every
	// condition in between is seen.
	var d *signoff.Deployment
	steps := []func(){
		func() { d = e.deployment(owner) },
		func() { e.resolve(d, owner, "1.1.1", "1.1.2", "1.1.3") },
		func() {
			if _, err := e.db.SetStatus(e.ctx, d.ID, signoff.StatusLive, "", as(owner)); err != nil {
				t.Fatal(err)
			}
		},
		func() { e.resolve(d, owner, "2.1.1", "2.1.2") },
		func() { e.sign(d, 1, dana) },
		func() { e.sign(d, 2, dave) },
		func() {
			if err := e.db.Revoke(e.ctx, d.ID, 2, "wrong backup checked", dave, "web"); err != nil {
				t.Fatal(err)
			}
		},
		func() { e.sign(d, 2, dave) },
		func() { e.sign(d, 3, carl) },
	}
	for _, step := range steps {
		step()
		e.drain()
	}

	want := []string{
		"deployment.created",
		"deployment.status",              // in progress: the first tick
		"deployment.status",              // live
		"signoff.ready", "signoff.ready", // slots 1 and 2, once everything is ticked
		"signoff.signed", "signoff.signed",
		"signoff.ready",                    // the final approval
		"signoff.revoked", "signoff.ready", // slot 2 can be signed again
		"signoff.signed",
		"signoff.ready",                       // the final approval, again
		"signoff.signed", "deployment.status", // completed and locked
	}
	got := rc.events()
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("events received:\n  %v\nwant (in any order):\n  %v", got, want)
	}
	var statuses []string
	for _, r := range rc.all() {
		if !r.SignatureOK {
			t.Errorf("delivery %s (%s): bad signature %q", r.DeliveryID, r.Event, r.Signature)
		}
		if r.ContentType != "application/json" {
			t.Errorf("content type %q", r.ContentType)
		}
		var p notify.Payload
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatalf("payload: %v\n%s", err, r.Body)
		}
		if p.DeliveryID != r.DeliveryID || p.Event != r.Event {
			t.Errorf("payload ids %q/%q vs headers %q/%q", p.DeliveryID, p.Event, r.DeliveryID, r.Event)
		}
		wantDep := notify.PayloadDeployment{ID: d.ID, Service: "voxflow-api", Environment: "production", Version: "v2.4.0",
			Status: p.Deployment.Status, URL: "https://signoff.example.com/deployments/" + itoa(d.ID)}
		if p.Deployment != wantDep || p.At == "" {
			t.Errorf("payload deployment = %+v, at %q", p.Deployment, p.At)
		}
		if p.Event == signoff.HookDeploymentStatus {
			data := p.Data.(map[string]any)
			statuses = append(statuses, data["previous"].(string)+"→"+data["status"].(string))
			if data["status"] != string(p.Deployment.Status) {
				t.Errorf("status event %v but deployment.status %s", data, p.Deployment.Status)
			}
		}
		if p.Event == signoff.HookSignoffRevoked {
			data := p.Data.(map[string]any)
			if data["reason"] != "wrong backup checked" || data["printed_name"] != "Dave Dba" || p.Actor.Name != "Dave Dba" {
				t.Errorf("revoked payload: %s", r.Body)
			}
		}
	}
	if want := []string{"draft→in_progress", "in_progress→live", "live→completed"}; !slices.Equal(statuses, want) {
		t.Errorf("status changes = %v; want %v", statuses, want)
	}
	// The delivery log: every delivery delivered at the first attempt.
	log := e.deliveries()
	if len(log) != len(want) {
		t.Fatalf("%d deliveries logged; want %d", len(log), len(want))
	}
	for _, l := range log {
		if l.Status != signoff.DeliveryDelivered || l.Attempts != 1 || l.LastStatusCode != 200 || l.DeliveredAt == nil {
			t.Errorf("logged delivery = %s", dump(l))
		}
	}
	if effects := rc.effects(); len(effects) != len(want) {
		t.Errorf("%d distinct deliveries applied; want %d", len(effects), len(want))
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestWebhookSlackFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	e.hook(rc, signoff.WebhookSlack, signoff.HookDeploymentCreated, signoff.HookSignoffStale)
	owner := e.user("Olivia Owner")
	dana := e.user("Dana Engineer", "Deployment Engineer")
	e.start()
	d := e.deployment(owner)
	e.drain()
	e.resolve(d, owner)
	e.sign(d, 1, dana)
	e.set(d, "1.1.1", signoff.ItemOpen, owner)
	e.drain()

	got := rc.all()
	if len(got) != 2 {
		t.Fatalf("received %v; want the creation and the stale sign-off only", rc.events())
	}
	link := "https://signoff.example.com/deployments/" + itoa(d.ID)
	wantTexts := []string{
		"<" + link + "|voxflow-api v2.4.0 → production> was created by Olivia Owner",
		"<" + link + "|voxflow-api v2.4.0 → production> has a stale Deployment Engineer sign-off (Dana Engineer): the checklist changed since",
	}
	for i, r := range got {
		var body map[string]string
		if err := json.Unmarshal(r.Body, &body); err != nil || len(body) != 1 {
			t.Fatalf("slack body %s: %v", r.Body, err)
		}
		if body["text"] != wantTexts[i] {
			t.Errorf("text = %q\nwant   %q", body["text"], wantTexts[i])
		}
		if !r.SignatureOK || r.DeliveryID == "" {
			t.Errorf("slack delivery lacks its signature or id: %+v", r)
		}
	}
}

func TestWebhookRetriedAfterFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	rc.statuses = []int{500, 503}
	e.hook(rc, signoff.WebhookJSON, signoff.HookDeploymentCreated)
	owner := e.user("Olivia Owner")
	e.start()
	e.deployment(owner)
	eventually(t, 30*time.Second, "the third attempt", func() bool {
		log := e.deliveries()
		return len(log) == 1 && log[0].Status == signoff.DeliveryDelivered
	})
	got := rc.all()
	if len(got) != 3 {
		t.Fatalf("%d requests; want 500, 503, then 200", len(got))
	}
	for _, r := range got[1:] {
		if r.DeliveryID != got[0].DeliveryID || string(r.Body) != string(got[0].Body) || r.Signature != got[0].Signature {
			t.Fatalf("a retry differs from the first attempt:\n%+v\n%+v", got[0], r)
		}
	}
	l := e.deliveries()[0]
	if l.Attempts != 3 || l.LastStatusCode != 200 || l.LastError != "" {
		t.Errorf("logged delivery = %s", dump(l))
	}
	if effects := rc.effects(); len(effects) != 1 || effects[got[0].DeliveryID] != 1 {
		t.Errorf("effects = %v", effects)
	}
}

func TestWebhookFailedAttemptIsLogged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	rc.statuses = []int{500, 500, 500, 500, 500, 500, 500, 500, 500}
	e.hook(rc, signoff.WebhookJSON, signoff.HookDeploymentCreated)
	owner := e.user("Olivia Owner")
	e.start()
	e.deployment(owner)
	eventually(t, 120*time.Second, "the delivery to fail for good", func() bool {
		log := e.deliveries()
		return len(log) == 1 && log[0].Status == signoff.DeliveryFailed
	})
	l := e.deliveries()[0]
	if l.Attempts != notify.MaxAttempts || l.LastStatusCode != 500 || !strings.Contains(l.LastError, "500") {
		t.Errorf("logged delivery = %s", dump(l))
	}
	if n := len(rc.all()); n != notify.MaxAttempts {
		t.Errorf("%d requests; want %d", n, notify.MaxAttempts)
	}
}

func TestDeletedWebhookGetsNothingMore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	w := e.hook(rc, signoff.WebhookJSON)
	owner := e.user("Olivia Owner")
	n := e.notifier(e.db, e.options()) // not working yet
	// The delivery is decided, then the webhook deleted before it is made.
	d := e.deployment(owner)
	if err := n.Sync(e.ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeleteWebhook(e.ctx, w.ID, as(owner)); err != nil {
		t.Fatal(err)
	}
	e.deployment(owner)
	e.run(n)
	e.drain()
	if got := rc.all(); len(got) != 0 {
		t.Fatalf("a deleted webhook received %v", rc.events())
	}
	log := e.deliveries()
	if len(log) != 1 || log[0].Status != signoff.DeliveryFailed || log[0].LastError != "the webhook was deleted" {
		t.Fatalf("delivery log = %s", dump(log))
	}
}

func TestWebhookURLMustBeHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, u := range []string{"ftp://example.com/x", "file:///etc/passwd", "example.com/hook", "http://", "javascript:alert(1)"} {
		_, err := e.db.CreateWebhook(e.ctx, signoff.NewWebhook{URL: u}, signoff.EventActor{Name: "test", Via: "cli"})
		if signoff.ErrorCode(err) != signoff.EINVALID {
			t.Errorf("URL %q: err = %v; want invalid", u, err)
		}
	}
	_, err := e.db.CreateWebhook(e.ctx, signoff.NewWebhook{URL: "https://x.example/h", Events: []string{"nope"}}, signoff.EventActor{Name: "test", Via: "cli"})
	if signoff.ErrorCode(err) != signoff.EINVALID {
		t.Errorf("unknown event: err = %v", err)
	}
}

// Every deployment's events reach a webhook, not only the first
// deployment's: each deployment has an event 1, 2, … of its own.
func TestEveryDeploymentsEventsReachWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rc := newReceiver(t)
	e.hook(rc, signoff.WebhookJSON, signoff.HookDeploymentCreated, signoff.HookDeploymentStatus)
	owner := e.user("Olivia Owner")
	e.start()
	for range 3 {
		d := e.deployment(owner)
		e.resolve(d, owner, leaves[0])
	}
	e.drain()
	want := []string{"deployment.created", "deployment.created", "deployment.created",
		"deployment.status", "deployment.status", "deployment.status"}
	if got := sorted(rc.events()); !slices.Equal(got, want) {
		t.Fatalf("events received = %v; want %v", got, want)
	}
}
