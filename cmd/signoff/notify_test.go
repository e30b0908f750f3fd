package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/notify"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
)

// TestAppSendsWebhooks: the running app queues a change's notifications
// with the change and sends them in the background.
func TestAppSendsWebhooks(t *testing.T) {
	t.Parallel()
	got := make(chan string, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- r.Header.Get(notify.HeaderEvent)
	}))
	t.Cleanup(receiver.Close)
	a := startApp(t, pgtest.URL(t))
	alice := a.user("Alice Chen")
	if _, err := a.DB.CreateWebhook(context.Background(), signoff.NewWebhook{URL: receiver.URL,
		Events: []string{signoff.HookDeploymentCreated}}, byUser(alice)); err != nil {
		t.Fatal(err)
	}
	a.deployment(alice, "voxflow-api", "v2.4.0")
	select {
	case ev := <-got:
		if ev != signoff.HookDeploymentCreated {
			t.Fatalf("event %q", ev)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook from the running app")
	}
	if depth := a.Notifier.QueueDepth(); depth < 0 {
		t.Errorf("queue depth = %d", depth)
	}
}
