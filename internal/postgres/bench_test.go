package postgres_test

import (
	"context"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

// BenchmarkTick measures one tick end to end: a transaction that locks the
// deployment, changes one item and appends one audit event.
func BenchmarkTick(b *testing.B) {
	ctx := context.Background()
	db := openDB(b)
	alice := addUser(b, db, "Alice Chen")
	d := newDeployment(b, db, alice)
	states := [2]signoff.ItemState{signoff.ItemDone, signoff.ItemOpen}
	i := 0
	for b.Loop() {
		ev, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1.1", State: states[i%2]}, as(alice))
		if err != nil {
			b.Fatal(err)
		}
		if ev.Seq == 0 {
			b.Fatal("a tick recorded nothing")
		}
		i++
	}
}
