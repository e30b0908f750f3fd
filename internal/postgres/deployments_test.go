package postgres_test

import (
	"context"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

func TestCreateDeploymentSnapshotsSeed(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen", "Deployment Engineer")
	d := newDeployment(t, db, alice)
	ctx := context.Background()
	cl, err := db.Checklist(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(cl.Items) != 222 {
		t.Fatalf("items = %d; want 222", len(cl.Items))
	}
	if len(cl.Notes) != 6 {
		t.Fatalf("notes = %d; want 6", len(cl.Notes))
	}
	slots, err := db.Slots(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(slots) != 8 || !slots[7].Final || slots[0].Final || slots[7].Role != "CTO/Technical Director" {
		t.Fatalf("slots = %+v", slots)
	}
	if d.Status != signoff.StatusDraft || d.AuditSeq != 1 {
		t.Fatalf("new deployment status %s seq %d", d.Status, d.AuditSeq)
	}
	p := cl.Progress(0, 0)
	if p.Total != 179 || p.Resolved() != 0 {
		t.Fatalf("progress = %+v; want 179 open tasks", p)
	}
}

func TestTickRecordsWhoAndWhen(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newDeployment(t, db, alice)
	ctx := context.Background()
	ev, err := eventOf(db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1.1", State: signoff.ItemDone}, as(alice)))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 2 || ev.Action != signoff.ActItemState {
		t.Fatalf("event = %+v", ev)
	}
	items, err := db.Items(ctx, d.ID, "1.1.1")
	if err != nil {
		t.Fatal(err)
	}
	it := items[1]
	if it.Path != "1.1.1.1" || it.State != signoff.ItemDone || it.StateBy == nil || it.StateBy.Name != "Alice Chen" || it.StateAt == nil {
		t.Fatalf("item = %+v", it)
	}
	got, _ := db.Deployment(ctx, d.ID)
	if got.Status != signoff.StatusInProgress || got.ChecklistRev != 1 {
		t.Fatalf("after first tick: status %s rev %d", got.Status, got.ChecklistRev)
	}
	// Ticking again changes nothing and records nothing.
	ev, err = eventOf(db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1.1", State: signoff.ItemDone}, as(alice)))
	if err != nil || ev.Seq != 0 {
		t.Fatalf("repeat tick: %+v, %v", ev, err)
	}
	// N/A needs a reason, and a bad request changes nothing.
	_, err = db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1.2", State: signoff.ItemNA}, as(alice))
	wantCode(t, err, signoff.EINVALID)
	_, err = db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "9.9.9", State: signoff.ItemDone}, as(alice))
	wantCode(t, err, signoff.ENOTFOUND)
	got, _ = db.Deployment(ctx, d.ID)
	if got.AuditSeq != 2 {
		t.Fatalf("failed requests wrote events: seq %d", got.AuditSeq)
	}
}
