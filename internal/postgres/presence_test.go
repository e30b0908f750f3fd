package postgres_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// Viewers are shared through the database: each instance adds and removes
// its connections, every instance lists the distinct people, each change is
// announced on PresenceChannel, and an instance that stops refreshing its
// rows drops out of the list and, later, out of the table.
func TestViewersAcrossInstances(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heard := make(chan string, 20)
	l := postgres.NewListener(db.Pool(), slog.New(slog.DiscardHandler))
	l.Handle(postgres.PresenceChannel, &recorder{name: "hub", log: heard})
	go l.Listen(ctx)
	next := func() string {
		t.Helper()
		select {
		case s := <-heard:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("no presence notification")
			return ""
		}
	}
	if got := next(); got != "hub backlog "+postgres.PresenceChannel {
		t.Fatalf("first heard %q; want the backlog call", got)
	}

	alice, bob := signoff.UserRef{ID: 1, Name: "Alice Chen"}, signoff.UserRef{ID: 2, Name: "Bob Singh"}
	list := func(fresh time.Duration) []signoff.UserRef {
		t.Helper()
		v, err := db.Viewers(ctx, 7, fresh)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		instance string
		conn     int64
		who      signoff.UserRef
	}{{"a", 1, alice}, {"a", 2, alice}, {"b", 1, bob}} {
		if err := db.AddViewer(ctx, c.instance, c.conn, 7, c.who); err != nil {
			t.Fatal(err)
		}
		if got := next(); got != "hub "+postgres.PresenceChannel+" 7" {
			t.Fatalf("heard %q; want deployment 7's presence", got)
		}
	}
	if got := list(time.Minute); !slices.Equal(got, []signoff.UserRef{alice, bob}) {
		t.Fatalf("viewers %v; want Alice once and Bob", got)
	}
	if err := db.RemoveViewer(ctx, "a", 1, 7); err != nil {
		t.Fatal(err)
	}
	next()
	if got := list(time.Minute); !slices.Equal(got, []signoff.UserRef{alice, bob}) {
		t.Fatalf("viewers %v; Alice still has a connection open", got)
	}

	// Instance b stops refreshing: b's rows go stale, then go.
	if _, err := db.Pool().Exec(ctx, `UPDATE live_viewers SET seen_at = now() - interval '1 hour' WHERE instance = 'b'`); err != nil {
		t.Fatal(err)
	}
	if got := list(time.Minute); !slices.Equal(got, []signoff.UserRef{alice}) {
		t.Fatalf("viewers %v; Bob's instance went quiet an hour ago", got)
	}
	if err := db.RefreshViewers(ctx, "a", 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM live_viewers WHERE instance = 'b'`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("instance b keeps %d rows after a heartbeat (%v)", rows, err)
	}
	if got := list(time.Minute); !slices.Equal(got, []signoff.UserRef{alice}) {
		t.Fatalf("viewers %v after a's heartbeat; want Alice", got)
	}
}

// DeploymentHead reads who watches the deployment with it, as Viewers
// does: each person once, only connections refreshed in time.
func TestDeploymentHeadReadsViewers(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	alice := addUser(t, db, "Alice Chen")
	d := newDeployment(t, db, alice)
	aliceRef := signoff.UserRef{ID: alice.ID, Name: alice.Name}
	head := func(fresh time.Duration) []signoff.UserRef {
		t.Helper()
		got, v, err := db.DeploymentHead(ctx, d.ID, fresh)
		if err != nil || got.ID != d.ID || got.Service != d.Service {
			t.Fatalf("head: %+v, %v", got, err)
		}
		return v
	}
	if v := head(time.Minute); len(v) != 0 {
		t.Fatalf("nobody watches yet; viewers %v", v)
	}
	bob := signoff.UserRef{ID: alice.ID + 1000, Name: "Bob Singh"}
	for _, c := range []struct {
		instance string
		conn     int64
		who      signoff.UserRef
	}{{"a", 1, bob}, {"a", 2, aliceRef}, {"b", 1, aliceRef}} {
		if err := db.AddViewer(ctx, c.instance, c.conn, d.ID, c.who); err != nil {
			t.Fatal(err)
		}
	}
	if v := head(time.Minute); !slices.Equal(v, []signoff.UserRef{aliceRef, bob}) {
		t.Fatalf("viewers %v; want Alice once and Bob", v)
	}
	if v := head(0); v != nil {
		t.Fatalf("viewers %v read although not asked for", v)
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE live_viewers SET seen_at = now() - interval '1 hour' WHERE instance = 'a' AND connection = 1`); err != nil {
		t.Fatal(err)
	}
	if v := head(time.Minute); !slices.Equal(v, []signoff.UserRef{aliceRef}) {
		t.Fatalf("viewers %v; Bob's connection went quiet an hour ago", v)
	}
	if _, _, err := db.DeploymentHead(ctx, d.ID+1000, time.Minute); signoff.ErrorCode(err) != signoff.ENOTFOUND {
		t.Fatalf("unknown deployment: %v", err)
	}
}
