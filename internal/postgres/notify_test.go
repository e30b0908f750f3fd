package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

// The catch-up sweep finds exactly the deployments whose events are ahead
// of their notification cursor.
func TestNotificationsBehind(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	alice := addUser(t, db, "Alice Chen")
	a, b := newDeployment(t, db, alice), newDeployment(t, db, alice)
	behind := func() []int64 {
		t.Helper()
		ids, err := db.NotificationsBehind(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		return ids
	}
	if got := behind(); !slices.Equal(got, []int64{a.ID, b.ID}) {
		t.Fatalf("behind %v; want both new deployments", got)
	}
	catchUp := func(d *signoff.Deployment) {
		t.Helper()
		cur, err := db.Deployment(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		n, err := db.BeginNotify(ctx, d.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Rollback(ctx)
		if err := n.Advance(ctx, cur.AuditSeq, cur.Status); err != nil {
			t.Fatal(err)
		}
		if err := n.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	catchUp(a)
	if got := behind(); !slices.Equal(got, []int64{b.ID}) {
		t.Fatalf("behind %v; want only %d", got, b.ID)
	}
	if _, err := db.SetItemState(ctx, a.ID, signoff.ItemChange{Path: "1.1.1.1", State: signoff.ItemDone}, as(alice)); err != nil {
		t.Fatal(err)
	}
	if got := behind(); !slices.Equal(got, []int64{a.ID, b.ID}) {
		t.Fatalf("behind %v after a tick on %d; want both", got, a.ID)
	}
}
