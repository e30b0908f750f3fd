package postgres_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// itemChange decodes the before and after of an item.state event.
func itemChange(t *testing.T, ev signoff.Event) (before, after itemStatePayload) {
	t.Helper()
	p := payload(t, ev)
	if err := json.Unmarshal(p.Before, &before); err != nil {
		t.Fatalf("event %d before %s: %v", ev.Seq, p.Before, err)
	}
	if err := json.Unmarshal(p.After, &after); err != nil {
		t.Fatalf("event %d after %s: %v", ev.Seq, p.After, err)
	}
	return before, after
}

func TestItemTickAndUntickRecordWhoWhenAndOneEventEach(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	bob := addUser(t, db, "Bob Ortiz")
	d := newSmallDeployment(t, db, alice, "voxflow-api")

	ev := tick(t, db, d, "1.1.2", signoff.ItemDone, alice)
	if ev.Seq != 2 || ev.Action != signoff.ActItemState || ev.Target != "item/1.1.2" || ev.Actor.ID != alice.ID {
		t.Fatalf("tick event = %+v", ev)
	}
	before, after := itemChange(t, ev)
	if before.State != signoff.ItemOpen || after.State != signoff.ItemDone {
		t.Fatalf("tick event before %+v after %+v", before, after)
	}
	it := item(t, db, d, "1.1.2")
	if it.State != signoff.ItemDone || it.StateBy == nil || it.StateBy.ID != alice.ID || it.StateBy.Name != alice.Name ||
		it.StateAt == nil || !it.StateAt.Equal(ev.At) {
		t.Fatalf("ticked item = %+v (event at %s)", it, ev.At)
	}
	if got := reload(t, db, d); got.AuditSeq != 2 || got.ChecklistRev != 1 {
		t.Fatalf("after tick: seq %d rev %d; want 2 and 1", got.AuditSeq, got.ChecklistRev)
	}

	// Unticking is allowed, and recorded with the new person and time.
	ev = tick(t, db, d, "1.1.2", signoff.ItemOpen, bob)
	if ev.Seq != 3 || ev.Actor.ID != bob.ID {
		t.Fatalf("untick event = %+v", ev)
	}
	before, after = itemChange(t, ev)
	if before.State != signoff.ItemDone || after.State != signoff.ItemOpen {
		t.Fatalf("untick event before %+v after %+v", before, after)
	}
	it = item(t, db, d, "1.1.2")
	if it.State != signoff.ItemOpen || it.StateBy == nil || it.StateBy.ID != bob.ID || it.StateAt == nil || !it.StateAt.Equal(ev.At) {
		t.Fatalf("unticked item = %+v", it)
	}
	evs := checkChain(t, db, d.ID)
	if len(evs) != 3 {
		t.Fatalf("%d events; want create + tick + untick", len(evs))
	}
	if got := reload(t, db, d); got.ChecklistRev != 2 {
		t.Fatalf("checklist_rev = %d; want 2", got.ChecklistRev)
	}
}

func TestItemRepeatingTheSameStateIsANoOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")

	// Open → open on a fresh item changes nothing.
	ev, err := eventOf(db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.2.1", State: signoff.ItemOpen}, as(alice)))
	if err != nil || ev.Seq != 0 {
		t.Fatalf("open → open: %+v, %v", ev, err)
	}
	if got := reload(t, db, d); got.AuditSeq != 1 || got.Status != signoff.StatusDraft || got.ChecklistRev != 0 {
		t.Fatalf("a no-op wrote: seq %d status %s rev %d", got.AuditSeq, got.Status, got.ChecklistRev)
	}

	tick(t, db, d, "1.2.1", signoff.ItemDone, alice)
	first := item(t, db, d, "1.2.1")
	ev, err = eventOf(db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.2.1", State: signoff.ItemDone}, as(alice)))
	if err != nil || ev.Seq != 0 {
		t.Fatalf("done → done: %+v, %v", ev, err)
	}
	if again := item(t, db, d, "1.2.1"); !again.StateAt.Equal(*first.StateAt) {
		t.Fatalf("a no-op moved state_at from %s to %s", first.StateAt, again.StateAt)
	}

	// N/A with the same reason (after trimming) is a no-op too; a new
	// reason is a change.
	na := signoff.ItemChange{Path: "1.2.2", State: signoff.ItemNA, NAReason: "no load test rig"}
	if ev, err = eventOf(db.SetItemState(ctx, d.ID, na, as(alice))); err != nil || ev.Seq != 3 {
		t.Fatalf("N/A: %+v, %v", ev, err)
	}
	na.NAReason = "  no load test rig \n"
	if ev, err = eventOf(db.SetItemState(ctx, d.ID, na, as(alice))); err != nil || ev.Seq != 0 {
		t.Fatalf("same N/A again: %+v, %v", ev, err)
	}
	na.NAReason = "covered by staging"
	if ev, err = eventOf(db.SetItemState(ctx, d.ID, na, as(alice))); err != nil || ev.Seq != 4 {
		t.Fatalf("N/A with a new reason: %+v, %v", ev, err)
	}
	if got := reload(t, db, d); got.AuditSeq != 4 || got.ChecklistRev != 3 {
		t.Fatalf("seq %d rev %d; want 4 and 3", got.AuditSeq, got.ChecklistRev)
	}
	checkChain(t, db, d.ID)
}

func TestItemNARequiresAReasonAndAFailedRequestWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")

	for name, c := range map[string]signoff.ItemChange{
		"no reason":         {Path: "1.2.2", State: signoff.ItemNA},
		"blank reason":      {Path: "1.2.2", State: signoff.ItemNA, NAReason: " \t\n"},
		"reason too long":   {Path: "1.2.2", State: signoff.ItemNA, NAReason: strings.Repeat("x", signoff.MaxReasonLen+1)},
		"NUL in reason":     {Path: "1.2.2", State: signoff.ItemNA, NAReason: "a\x00b"},
		"bad UTF-8":         {Path: "1.2.2", State: signoff.ItemNA, NAReason: "a\xffb"},
		"unknown state":     {Path: "1.2.2", State: "skipped"},
		"parent without it": {Path: "1.1.1", State: signoff.ItemNA},
	} {
		_, err := db.SetItemState(ctx, d.ID, c, as(alice))
		if signoff.ErrorCode(err) != signoff.EINVALID {
			t.Errorf("%s: error %v; want %s", name, err, signoff.EINVALID)
		}
	}
	got := reload(t, db, d)
	if got.AuditSeq != 1 || got.ChecklistRev != 0 || got.Status != signoff.StatusDraft {
		t.Fatalf("failed requests wrote: seq %d rev %d status %s", got.AuditSeq, got.ChecklistRev, got.Status)
	}
	for _, path := range []string{"1.2.2", "1.1.1.1", "1.1.1.2.1"} {
		if it := item(t, db, d, path); it.State != signoff.ItemOpen || it.NAReason != "" || it.StateBy != nil || it.StateAt != nil {
			t.Fatalf("failed request changed item %s: %+v", path, it)
		}
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM audit_events WHERE deployment_id = $1`, d.ID); n != 1 {
		t.Fatalf("%d audit rows; want only the create event", n)
	}
}

func TestItemNAOnParentCascadesToOpenLeavesInOneEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")

	compiled := tick(t, db, d, "1.1.1.1", signoff.ItemDone, alice)
	ev, err := eventOf(db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1", State: signoff.ItemNA, NAReason: " hotfix, no build "}, as(alice)))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 3 || ev.Target != "item/1.1.1" {
		t.Fatalf("cascade event = %+v", ev)
	}
	before, after := itemChange(t, ev)
	if before.State != signoff.ItemOpen || after.State != signoff.ItemNA || after.NAReason != "hotfix, no build" {
		t.Fatalf("cascade before %+v after %+v", before, after)
	}
	// Only the open leaves below, in document order: not the done one, not
	// the nested parent.
	if want := []string{"1.1.1.2.1", "1.1.1.2.2"}; !slices.Equal(after.Items, want) {
		t.Fatalf("cascade lists %v; want %v", after.Items, want)
	}
	for _, path := range after.Items {
		it := item(t, db, d, path)
		if it.State != signoff.ItemNA || it.NAReason != "hotfix, no build" || it.StateBy == nil || it.StateBy.ID != alice.ID || !it.StateAt.Equal(ev.At) {
			t.Fatalf("cascaded item = %+v", it)
		}
	}
	if it := item(t, db, d, "1.1.1.1"); it.State != signoff.ItemDone || !it.StateAt.Equal(compiled.At) {
		t.Fatalf("the done leaf was touched: %+v", it)
	}
	if it := item(t, db, d, "1.1.2"); it.State != signoff.ItemOpen {
		t.Fatalf("a sibling outside the parent was touched: %+v", it)
	}
	// The parents themselves keep their stored state: theirs follows.
	for _, path := range []string{"1.1.1", "1.1.1.2"} {
		if it := item(t, db, d, path); it.State != signoff.ItemOpen {
			t.Fatalf("parent %s stored state %s", path, it.State)
		}
	}
	got := reload(t, db, d)
	if got.AuditSeq != 3 || got.ChecklistRev != 2 {
		t.Fatalf("seq %d rev %d; want one event and one rev for the cascade", got.AuditSeq, got.ChecklistRev)
	}
	// Again: nothing open below any more, so nothing happens.
	ev, err = eventOf(db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1", State: signoff.ItemNA, NAReason: "again"}, as(alice)))
	if err != nil || ev.Seq != 0 {
		t.Fatalf("repeat cascade: %+v, %v", ev, err)
	}
	if got := reload(t, db, d); got.AuditSeq != 3 {
		t.Fatalf("repeat cascade wrote: seq %d", got.AuditSeq)
	}
	checkChain(t, db, d.ID)
}

func TestItemTickingAParentIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	for _, path := range []string{"1.1.1", "1.1.1.2"} {
		for _, state := range []signoff.ItemState{signoff.ItemDone, signoff.ItemOpen} {
			_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: path, State: state}, as(alice))
			wantCode(t, err, signoff.EINVALID)
			if !strings.Contains(signoff.ErrorMessage(err), "sub-items") {
				t.Fatalf("message %q does not say why", signoff.ErrorMessage(err))
			}
		}
	}
	if got := reload(t, db, d); got.AuditSeq != 1 || got.ChecklistRev != 0 {
		t.Fatalf("refused ticks wrote: seq %d rev %d", got.AuditSeq, got.ChecklistRev)
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM deployment_items WHERE deployment_id = $1 AND state <> 'open'`, d.ID); n != 0 {
		t.Fatalf("%d items changed", n)
	}
}

func TestItemUnknownPathIsNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	for _, path := range []string{"9.9.9", "1.1", "", "1.1.1.%", "1.1.1.1.1"} {
		_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: path, State: signoff.ItemDone}, as(alice))
		wantCode(t, err, signoff.ENOTFOUND)
	}
	// A parent N/A with an unknown path cascades nowhere.
	_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1", State: signoff.ItemNA, NAReason: "x"}, as(alice))
	wantCode(t, err, signoff.ENOTFOUND)
	if got := reload(t, db, d); got.AuditSeq != 1 {
		t.Fatalf("unknown paths wrote: seq %d", got.AuditSeq)
	}
}

func TestItemUnknownDeploymentIsNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	_, err := db.SetItemState(ctx, d.ID+1000, signoff.ItemChange{Path: "1.1.2", State: signoff.ItemDone}, as(alice))
	wantCode(t, err, signoff.ENOTFOUND)
	_, err = db.Deployment(ctx, d.ID+1000)
	wantCode(t, err, signoff.ENOTFOUND)
	_, err = db.AddComment(ctx, d.ID+1000, "1.1.2", "hello", as(alice))
	wantCode(t, err, signoff.ENOTFOUND)
	_, err = db.SetNote(ctx, d.ID+1000, 1, "hello", as(alice))
	wantCode(t, err, signoff.ENOTFOUND)
	if n := sqlInt(t, db, `SELECT count(*) FROM audit_events WHERE deployment_id IS NOT NULL`); n != 1 {
		t.Fatalf("%d deployment events; want only the create", n)
	}
}

func TestItemFirstChangeMovesDraftToInProgress(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	if d.Status != signoff.StatusDraft {
		t.Fatalf("new deployment is %s", d.Status)
	}
	tick(t, db, d, "1.2.1", signoff.ItemDone, alice)
	if got := reload(t, db, d); got.Status != signoff.StatusInProgress {
		t.Fatalf("after the first tick: %s", got.Status)
	}
	// The move rides on the tick's event: no separate status event.
	evs := checkChain(t, db, d.ID)
	if len(evs) != 2 || evs[1].Action != signoff.ActItemState {
		t.Fatalf("events = %d, last %s", len(evs), evs[len(evs)-1].Action)
	}
	// Later changes leave the status alone.
	tick(t, db, d, "1.2.1", signoff.ItemOpen, alice)
	if got := reload(t, db, d); got.Status != signoff.StatusInProgress {
		t.Fatalf("after an untick: %s", got.Status)
	}
}

func TestItemEffectiveParentStateFollowsChildren(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")

	effective := func(path string) signoff.ItemState {
		t.Helper()
		cl, err := db.Checklist(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		it := cl.Item(path)
		if it == nil {
			t.Fatalf("no item %s", path)
		}
		return cl.Effective(it)
	}
	want := func(path string, s signoff.ItemState) {
		t.Helper()
		if got := effective(path); got != s {
			t.Fatalf("effective %s = %s; want %s", path, got, s)
		}
	}
	want("1.1.1", signoff.ItemOpen)
	tick(t, db, d, "1.1.1.1", signoff.ItemDone, alice)
	want("1.1.1", signoff.ItemOpen) // 1.1.1.2's children are open
	tick(t, db, d, "1.1.1.2.1", signoff.ItemNA, alice)
	want("1.1.1.2", signoff.ItemOpen)
	tick(t, db, d, "1.1.1.2.2", signoff.ItemNA, alice)
	want("1.1.1.2", signoff.ItemNA) // all N/A
	want("1.1.1", signoff.ItemDone) // one done, the rest N/A
	tick(t, db, d, "1.1.1.2.1", signoff.ItemDone, alice)
	want("1.1.1.2", signoff.ItemDone)
	tick(t, db, d, "1.1.1.1", signoff.ItemOpen, alice)
	want("1.1.1", signoff.ItemOpen) // unticking a leaf reopens its parent

	cl, err := db.Checklist(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	// Progress counts leaves only: 6 tasks, 1 done, 1 N/A.
	if p := cl.Progress(0, 0); p.Total != len(smallLeaves) || p.Done != 1 || p.NA != 1 {
		t.Fatalf("progress = %+v", p)
	}
	if p := cl.Progress(1, 2); p.Total != 2 || p.Resolved() != 0 {
		t.Fatalf("section 1.2 progress = %+v", p)
	}
}

func TestNoteEditRecordsBeforeAndAfterAndBumpsRev(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	bob := addUser(t, db, "Bob Ortiz")
	d := newSmallDeployment(t, db, alice, "voxflow-api")

	ev, err := db.SetNote(ctx, d.ID, 1, "Disk filled up on node 3.\n\n", as(alice))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 2 || ev.Action != signoff.ActNoteEdit || ev.Target != "note/1" {
		t.Fatalf("note event = %+v", ev)
	}
	p := payload(t, ev)
	var before, after struct{ Name, Value string }
	if err := json.Unmarshal(p.Before, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(p.After, &after); err != nil {
		t.Fatal(err)
	}
	if before.Name != "Issues Encountered" || before.Value != "" || after.Value != "Disk filled up on node 3." {
		t.Fatalf("note event before %+v after %+v", before, after)
	}
	got := reload(t, db, d)
	if got.ChecklistRev != 1 || got.AuditSeq != 2 {
		t.Fatalf("after a note edit: rev %d seq %d", got.ChecklistRev, got.AuditSeq)
	}

	ev, err = db.SetNote(ctx, d.ID, 1, "Disk filled up on node 3; resized.", as(bob))
	if err != nil {
		t.Fatal(err)
	}
	p = payload(t, ev)
	_ = json.Unmarshal(p.Before, &before)
	_ = json.Unmarshal(p.After, &after)
	if before.Value != "Disk filled up on node 3." || after.Value != "Disk filled up on node 3; resized." {
		t.Fatalf("second edit before %+v after %+v", before, after)
	}
	cl, err := db.Checklist(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	n := cl.Notes[0]
	if n.Value != "Disk filled up on node 3; resized." || n.UpdatedBy == nil || n.UpdatedBy.ID != bob.ID || n.UpdatedAt == nil || !n.UpdatedAt.Equal(ev.At) {
		t.Fatalf("note = %+v", n)
	}
	if got := reload(t, db, d); got.ChecklistRev != 2 {
		t.Fatalf("rev %d; want 2", got.ChecklistRev)
	}
	checkChain(t, db, d.ID)
}

func TestNoteNoOpEditRecordsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")

	// An empty note set to empty, and a value set again (trailing space
	// is trimmed), record nothing.
	if ev, err := db.SetNote(ctx, d.ID, 2, "  \n", as(alice)); err != nil || ev.Seq != 0 {
		t.Fatalf("empty → empty: %+v, %v", ev, err)
	}
	if _, err := db.SetNote(ctx, d.ID, 2, "Roll back with helm", as(alice)); err != nil {
		t.Fatal(err)
	}
	at := *func() *signoff.Note { cl, _ := db.Checklist(ctx, d); return &cl.Notes[1] }().UpdatedAt
	if ev, err := db.SetNote(ctx, d.ID, 2, "Roll back with helm \n", as(alice)); err != nil || ev.Seq != 0 {
		t.Fatalf("same value again: %+v, %v", ev, err)
	}
	got := reload(t, db, d)
	if got.AuditSeq != 2 || got.ChecklistRev != 1 {
		t.Fatalf("no-op edits wrote: seq %d rev %d", got.AuditSeq, got.ChecklistRev)
	}
	cl, err := db.Checklist(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if !cl.Notes[1].UpdatedAt.Equal(at) {
		t.Fatalf("a no-op edit moved updated_at")
	}
	// A missing field and invalid text are refused without writing.
	_, err = db.SetNote(ctx, d.ID, 9, "x", as(alice))
	wantCode(t, err, signoff.ENOTFOUND)
	_, err = db.SetNote(ctx, d.ID, 1, "a\x00b", as(alice))
	wantCode(t, err, signoff.EINVALID)
	_, err = db.SetNote(ctx, d.ID, 1, strings.Repeat("é", signoff.MaxNoteLen+1), as(alice))
	wantCode(t, err, signoff.EINVALID)
	if got := reload(t, db, d); got.AuditSeq != 2 {
		t.Fatalf("refused edits wrote: seq %d", got.AuditSeq)
	}
}

func TestCommentsAddAndList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	bob := addUser(t, db, "Bob Ortiz")
	d := newSmallDeployment(t, db, alice, "voxflow-api")

	ev, err := db.AddComment(ctx, d.ID, "1.1.2", "  Tagged as v1.0.0.  ", as(alice))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 2 || ev.Action != signoff.ActItemComment || ev.Target != "item/1.1.2" {
		t.Fatalf("comment event = %+v", ev)
	}
	var after struct {
		Comment int64
		Body    string
	}
	if err := json.Unmarshal(payload(t, ev).After, &after); err != nil {
		t.Fatal(err)
	}
	if after.Body != "Tagged as v1.0.0." || after.Comment == 0 {
		t.Fatalf("comment event after = %+v", after)
	}
	if _, err := db.AddComment(ctx, d.ID, "1.1.2", "Signed tag, too.", as(bob)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddComment(ctx, d.ID, "1.2.1", "Smoke test flaky once.", as(bob)); err != nil {
		t.Fatal(err)
	}

	cs, err := db.Comments(ctx, d.ID, "1.1.2")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].ID != after.Comment || cs[0].Body != "Tagged as v1.0.0." || cs[0].Author.ID != alice.ID ||
		cs[0].Author.Name != alice.Name || cs[0].ItemPath != "1.1.2" || !cs[0].CreatedAt.Equal(ev.At) ||
		cs[1].Body != "Signed tag, too." || cs[1].Author.ID != bob.ID {
		t.Fatalf("comments on 1.1.2 = %+v", cs)
	}
	all, err := db.Comments(ctx, d.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[2].ItemPath != "1.2.1" {
		t.Fatalf("all comments = %+v", all)
	}
	if it := item(t, db, d, "1.1.2"); it.CommentCount != 2 {
		t.Fatalf("comment count = %d", it.CommentCount)
	}
	// Comments are remarks, not checklist state: no rev bump, no start.
	got := reload(t, db, d)
	if got.ChecklistRev != 0 || got.AuditSeq != 4 || got.Status != signoff.StatusDraft {
		t.Fatalf("after comments: rev %d seq %d status %s", got.ChecklistRev, got.AuditSeq, got.Status)
	}
	checkChain(t, db, d.ID)
}

func TestCommentValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	for name, body := range map[string]string{
		"empty":        "",
		"blank":        " \n\t ",
		"too long":     strings.Repeat("é", signoff.MaxCommentLen+1),
		"invalid UTF8": "bad \xc3\x28 byte",
		"NUL":          "nul \x00 inside",
	} {
		_, err := db.AddComment(ctx, d.ID, "1.1.2", body, as(alice))
		if signoff.ErrorCode(err) != signoff.EINVALID || !strings.Contains(signoff.ErrorMessage(err), "Comment") {
			t.Errorf("%s: error %v; want %s naming the field", name, err, signoff.EINVALID)
		}
	}
	if got := reload(t, db, d); got.AuditSeq != 1 {
		t.Fatalf("invalid comments wrote events: seq %d", got.AuditSeq)
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM item_comments`); n != 0 {
		t.Fatalf("%d comments stored", n)
	}
	// The limit counts characters, not bytes.
	if _, err := db.AddComment(ctx, d.ID, "1.1.2", strings.Repeat("é", signoff.MaxCommentLen), as(alice)); err != nil {
		t.Fatalf("a comment of exactly %d characters: %v", signoff.MaxCommentLen, err)
	}
}

func TestCommentOnUnknownItemIsNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	for _, path := range []string{"7.7.7", "1.1.2.1", ""} {
		_, err := db.AddComment(ctx, d.ID, path, "hello", as(alice))
		wantCode(t, err, signoff.ENOTFOUND)
	}
	if got := reload(t, db, d); got.AuditSeq != 1 {
		t.Fatalf("refused comment wrote: seq %d", got.AuditSeq)
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM item_comments`); n != 0 {
		t.Fatalf("%d comments stored", n)
	}
}

// TestItemSetAndReadAnswersWithTheStateItLeft: a tick returns its item's
// block, the counts and the deployment as the change left them, read in
// the round trip that commits it.
func TestItemSetAndReadAnswersWithTheStateItLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")

	u, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.2", State: signoff.ItemDone}, as(alice))
	if err != nil {
		t.Fatal(err)
	}
	ev := u.Event
	if ev.Seq != 2 || u.Deployment.AuditSeq != 2 || u.Deployment.Status != signoff.StatusInProgress {
		t.Fatalf("event %d; context of deployment at seq %d, %s", ev.Seq, u.Deployment.AuditSeq, u.Deployment.Status)
	}
	if len(u.Block) == 0 || u.Block[0].Path != signoff.TopPath("1.1.2") {
		t.Fatalf("context items start at %+v; want the top-level block", u.Block)
	}
	var got *signoff.Item
	for i := range u.Block {
		if u.Block[i].Path == "1.1.2" {
			got = &u.Block[i]
		}
	}
	if got == nil || got.State != signoff.ItemDone || got.StateBy == nil || got.StateBy.ID != alice.ID || !got.StateAt.Equal(ev.At) {
		t.Fatalf("ticked item in the context = %+v", got)
	}
	done := 0
	for _, p := range u.Progress {
		done += p.Done
	}
	if done != 1 || len(u.Slots) == 0 {
		t.Fatalf("context counts %d done (want 1), %d slots", done, len(u.Slots))
	}

	// A repeat records nothing and still answers with the state.
	u, err = db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.2", State: signoff.ItemDone}, as(alice))
	if err != nil || u == nil || u.Changed() || u.Deployment.AuditSeq != 2 {
		t.Fatalf("repeat: %v, update %+v", err, u)
	}
	checkChain(t, db, d.ID)
}

// TestItemFailedTicksReturnTheirConnections: ticks refused halfway (a
// parent ticked, an unknown item, a locked deployment, a cancelled
// request) roll back and give their connection back clean, many more
// times than the pool has connections.
func TestItemFailedTicksReturnTheirConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 2})
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	for range 10 {
		_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1", State: signoff.ItemDone}, as(alice))
		wantCode(t, err, signoff.EINVALID) // a parent
		_, err = db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "9.9.9", State: signoff.ItemDone}, as(alice))
		wantCode(t, err, signoff.ENOTFOUND)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := db.SetItemState(cancelled, d.ID, signoff.ItemChange{Path: "1.1.2", State: signoff.ItemDone}, as(alice)); err == nil {
			t.Fatal("a cancelled tick succeeded")
		}
	}
	if got := reload(t, db, d); got.AuditSeq != 1 || got.ChecklistRev != 0 {
		t.Fatalf("refused ticks changed the deployment: seq %d rev %d", got.AuditSeq, got.ChecklistRev)
	}
	if st := db.Pool().Stat(); st.AcquiredConns() != 0 {
		t.Fatalf("%d connections still held after the refused ticks", st.AcquiredConns())
	}
	// And the pool still works, in a clean state.
	tick(t, db, d, "1.1.2", signoff.ItemDone, alice)
	checkChain(t, db, d.ID)

	// A locked deployment refuses, and still gives the connection back.
	resolveAll(t, db, d, alice)
	for slot := 1; slot <= 3; slot++ {
		u := addUser(t, db, "Signer "+strconv.Itoa(slot), "Deployment Engineer", "Database Administrator", "CTO/Technical Director")
		mustSign(t, db, d, slot, u)
	}
	for range 5 {
		_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.2", State: signoff.ItemOpen}, as(alice))
		wantCode(t, err, signoff.ELOCKED)
	}
	if st := db.Pool().Stat(); st.AcquiredConns() != 0 {
		t.Fatalf("%d connections still held after ticks on a locked deployment", st.AcquiredConns())
	}
}
