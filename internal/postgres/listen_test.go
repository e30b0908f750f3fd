package postgres_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signoff/signoff/internal/postgres"
)

// recorder is a handler that notes what it heard and each backlog call.
type recorder struct {
	name string
	log  chan string
}

func (r *recorder) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	r.log <- r.name + " " + n.Channel + " " + n.Payload
	return nil
}

func (r *recorder) HandleBacklog(_ context.Context, channel string, _ *pgx.Conn) error {
	r.log <- r.name + " backlog " + channel
	return nil
}

// One listening connection serves several handlers: each hears every
// notification on its channels, in the order added, and each handles its
// backlog when the listener connects.
func TestListenerSharesOneConnection(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := make(chan string, 20)
	hub, notifier := &recorder{name: "hub", log: log}, &recorder{name: "notifier", log: log}
	l := postgres.NewListener(db.Pool(), slog.New(slog.DiscardHandler))
	l.Handle("signoff_test_a", hub)
	l.Handle("signoff_test_b", hub)
	l.Handle("signoff_test_a", notifier)
	done := make(chan error, 1)
	go func() { done <- l.Listen(ctx) }()

	next := func() string {
		t.Helper()
		select {
		case s := <-log:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("nothing heard")
			return ""
		}
	}
	// Channels are listened to in no set order; a channel's handlers in
	// the order added.
	var backlog []string
	for range 3 {
		backlog = append(backlog, next())
	}
	a := slices.DeleteFunc(slices.Clone(backlog), func(s string) bool { return !strings.HasSuffix(s, "_a") })
	if !slices.Equal(a, []string{"hub backlog signoff_test_a", "notifier backlog signoff_test_a"}) ||
		!slices.Contains(backlog, "hub backlog signoff_test_b") {
		t.Fatalf("backlog calls %q", backlog)
	}
	if _, err := db.Pool().Exec(ctx, `SELECT pg_notify('signoff_test_a', '7:1'), pg_notify('signoff_test_b', 'x')`); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hub signoff_test_a 7:1", "notifier signoff_test_a 7:1", "hub signoff_test_b x"} {
		if got := next(); got != want {
			t.Fatalf("heard %q; want %q", got, want)
		}
	}
	var listening int
	if err := db.Pool().QueryRow(ctx, `
		SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND query ILIKE 'listen %'`).Scan(&listening); err != nil {
		t.Fatal(err)
	}
	if listening != 1 {
		t.Fatalf("%d connections listen; want one", listening)
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("a handler added after Listen was accepted; it would miss what came before")
			}
		}()
		l.Handle("signoff_test_c", hub)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return when its context ended")
	}
}
