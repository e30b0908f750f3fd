package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/notify"
	"github.com/signoff/signoff/internal/signoff"
)

// A webhook answered 2xx whose outcome cannot be recorded at once (the
// database refuses writes for a moment) is recorded once it can, and not
// sent again: the receiver sees one request.
func TestWebhookAnsweredWhileTheDatabaseRefusesWritesIsNotSentAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	var name string
	if err := e.db.Pool().QueryRow(e.ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	readOnly := func(on bool) {
		q := fmt.Sprintf(`BEGIN READ WRITE; ALTER DATABASE %q SET default_transaction_read_only = %v; COMMIT`, name, on)
		if _, err := e.db.Pool().Exec(context.Background(), q); err != nil {
			t.Error(err)
		}
		e.db.Pool().Reset() // connections made from now on see it
	}
	var requests atomic.Int32
	var ids = make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		ids <- r.Header.Get(notify.HeaderDelivery)
		if r.Header.Get("Idempotency-Key") != r.Header.Get(notify.HeaderDelivery) {
			t.Errorf("Idempotency-Key %q; want the delivery id", r.Header.Get("Idempotency-Key"))
		}
		// The receiver takes the delivery; as it answers, the database
		// stops taking writes, for a second and a half.
		readOnly(true)
		time.AfterFunc(1500*time.Millisecond, func() { readOnly(false) })
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	if _, err := e.db.CreateWebhook(e.ctx, signoff.NewWebhook{URL: srv.URL, Format: signoff.WebhookJSON,
		Secret: "0123456789abcdef0123", Events: []string{signoff.HookDeploymentCreated}}, signoff.EventActor{Name: "test", Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	owner := e.user("Olivia Owner")
	e.start()
	e.deployment(owner)
	eventually(t, 30*time.Second, "the delivery to be recorded", func() bool {
		log := e.deliveries()
		return len(log) == 1 && log[0].Status == signoff.DeliveryDelivered
	})
	time.Sleep(500 * time.Millisecond) // a repeat, if any, would be on its way (retries come after 100 ms here)
	if n := requests.Load(); n != 1 {
		t.Fatalf("the receiver got %d requests; want 1", n)
	}
	if l := e.deliveries()[0]; l.Attempts != 1 || l.LastStatusCode != http.StatusNoContent {
		t.Fatalf("logged delivery = %s", dump(l))
	}
}
