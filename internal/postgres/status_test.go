package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

func TestStatusTransitionsFollowCanMoveTo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")

	// The moves people may ask for, written out so the test does not just
	// mirror the code under test; CanMoveTo must agree with it too.
	allowed := map[[2]signoff.Status]bool{
		{signoff.StatusDraft, signoff.StatusInProgress}:   true,
		{signoff.StatusDraft, signoff.StatusLive}:         true,
		{signoff.StatusDraft, signoff.StatusAborted}:      true,
		{signoff.StatusInProgress, signoff.StatusLive}:    true,
		{signoff.StatusInProgress, signoff.StatusAborted}: true,
		{signoff.StatusLive, signoff.StatusAborted}:       true,
	}
	// How to bring a fresh deployment to each starting status.
	pathTo := map[signoff.Status][]signoff.Status{
		signoff.StatusDraft:      nil,
		signoff.StatusInProgress: {signoff.StatusInProgress},
		signoff.StatusLive:       {signoff.StatusInProgress, signoff.StatusLive},
		signoff.StatusAborted:    {signoff.StatusAborted},
	}
	for _, from := range []signoff.Status{signoff.StatusDraft, signoff.StatusInProgress, signoff.StatusLive, signoff.StatusAborted} {
		for _, to := range signoff.Statuses {
			d := newSmallDeployment(t, db, alice, fmt.Sprintf("svc-%s-%s", from, to))
			for _, s := range pathTo[from] {
				if _, err := db.SetStatus(ctx, d.ID, s, "reason", as(alice)); err != nil {
					t.Fatalf("set up %s: move to %s: %v", from, s, err)
				}
			}
			d = reload(t, db, d)
			if d.Status != from {
				t.Fatalf("set up: status %s; want %s", d.Status, from)
			}
			rule := d.CanMoveTo(to)
			if (rule == nil) != allowed[[2]signoff.Status{from, to}] {
				t.Fatalf("CanMoveTo(%s → %s) = %v; the product allows it: %v", from, to, rule, allowed[[2]signoff.Status{from, to}])
			}
			got, err := db.SetStatus(ctx, d.ID, to, "because", as(alice))
			if rule != nil {
				if signoff.ErrorCode(err) != signoff.ErrorCode(rule) {
					t.Fatalf("%s → %s: error %v; want code %s", from, to, err, signoff.ErrorCode(rule))
				}
				if after := reload(t, db, d); after.Status != from || after.AuditSeq != d.AuditSeq {
					t.Fatalf("%s → %s refused but wrote: status %s seq %d", from, to, after.Status, after.AuditSeq)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s → %s: %v", from, to, err)
			}
			if got.Status != to || got.AuditSeq != d.AuditSeq+1 {
				t.Fatalf("%s → %s: status %s seq %d", from, to, got.Status, got.AuditSeq)
			}
			ev := lastEvent(t, db, d.ID)
			p := payload(t, ev)
			var before, after struct{ Status signoff.Status }
			_ = json.Unmarshal(p.Before, &before)
			_ = json.Unmarshal(p.After, &after)
			if ev.Action != signoff.ActDeploymentStatus || before.Status != from || after.Status != to {
				t.Fatalf("%s → %s: event %s before %s after %s", from, to, ev.Action, p.Before, p.After)
			}
		}
	}
}

func TestStatusCompletionOnlyByFinalApproval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	_, err := db.SetStatus(ctx, d.ID, signoff.StatusCompleted, "", as(alice))
	wantCode(t, err, signoff.ECONFLICT)
	_, err = db.SetStatus(ctx, d.ID+99, signoff.StatusLive, "", as(alice))
	wantCode(t, err, signoff.ENOTFOUND)
	if got := reload(t, db, d); got.Status != signoff.StatusDraft || got.CompletedAt != nil || got.AuditSeq != 1 {
		t.Fatalf("after refused moves: %+v", got)
	}
}

func TestStatusAbortNeedsAReason(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	for _, reason := range []string{"", "   \n"} {
		_, err := db.SetStatus(ctx, d.ID, signoff.StatusAborted, reason, as(alice))
		wantCode(t, err, signoff.EINVALID)
	}
	if got := reload(t, db, d); got.Status != signoff.StatusDraft || got.AbortedAt != nil || got.AuditSeq != 1 {
		t.Fatalf("abort without reason wrote: %+v", got)
	}
	got, err := db.SetStatus(ctx, d.ID, signoff.StatusAborted, "  Upstream outage  ", as(alice))
	if err != nil {
		t.Fatal(err)
	}
	ev := lastEvent(t, db, d.ID)
	var after struct{ Status, Reason string }
	_ = json.Unmarshal(payload(t, ev).After, &after)
	if got.Status != signoff.StatusAborted || got.AbortedAt == nil || !got.AbortedAt.Equal(ev.At) ||
		after.Status != "aborted" || after.Reason != "Upstream outage" {
		t.Fatalf("aborted: %+v, event after %+v", got, after)
	}
}

func TestStatusGoingLiveSetsWentLiveAt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	tick(t, db, d, "1.2.1", signoff.ItemDone, alice)
	if got := reload(t, db, d); got.WentLiveAt != nil {
		t.Fatalf("went_live_at set before going live: %v", got.WentLiveAt)
	}
	got, err := db.SetStatus(ctx, d.ID, signoff.StatusLive, "", as(alice))
	if err != nil {
		t.Fatal(err)
	}
	ev := lastEvent(t, db, d.ID)
	if got.Status != signoff.StatusLive || got.WentLiveAt == nil || !got.WentLiveAt.Equal(ev.At) {
		t.Fatalf("live: status %s went_live_at %v (event at %s)", got.Status, got.WentLiveAt, ev.At)
	}
	// Going live is not a checklist change: signatures stay fresh.
	if got.ChecklistRev != 1 {
		t.Fatalf("checklist_rev = %d; want 1", got.ChecklistRev)
	}
}

func TestStatusAbortedDeploymentRefusesChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen", "Deployment Engineer")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	for _, p := range smallLeaves {
		tick(t, db, d, p, signoff.ItemDone, alice)
	}
	if _, err := db.SetStatus(ctx, d.ID, signoff.StatusAborted, "rollback", as(alice)); err != nil {
		t.Fatal(err)
	}
	seq := reload(t, db, d).AuditSeq

	_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.2.1", State: signoff.ItemOpen}, as(alice))
	wantCode(t, err, signoff.ECONFLICT)
	_, err = db.SetNote(ctx, d.ID, 1, "late note", as(alice))
	wantCode(t, err, signoff.ECONFLICT)
	_, err = db.AddComment(ctx, d.ID, "1.2.1", "late comment", as(alice))
	wantCode(t, err, signoff.ECONFLICT)
	_, err = signAs(db, d, 1, alice)
	wantCode(t, err, signoff.ECONFLICT)
	_, err = db.SetStatus(ctx, d.ID, signoff.StatusLive, "", as(alice))
	wantCode(t, err, signoff.ECONFLICT)
	if got := reload(t, db, d); got.AuditSeq != seq || got.Status != signoff.StatusAborted {
		t.Fatalf("aborted deployment changed: seq %d → %d, status %s", seq, got.AuditSeq, got.Status)
	}
	if it := item(t, db, d, "1.2.1"); it.State != signoff.ItemDone {
		t.Fatalf("item changed on an aborted deployment: %+v", it)
	}
}
