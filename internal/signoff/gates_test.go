package signoff_test

import (
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

// gatedCase: three leaves, a go/no-go gate of one slot above the first,
// and a final group of two.
func gatedCase() (*signoff.Deployment, *signoff.Checklist, []signoff.Slot) {
	d := &signoff.Deployment{ID: 1, Status: signoff.StatusInProgress, ChecklistRev: 3, CreatedBy: signoff.UserRef{ID: 1, Name: "Olivia Owner"}}
	items := []signoff.Item{
		{Path: "1.1.1", Phase: 1, State: signoff.ItemDone},
		{Path: "2.1.1", Phase: 2, State: signoff.ItemOpen},
		{Path: "2.1.2", Phase: 2, State: signoff.ItemOpen},
	}
	slots := []signoff.Slot{
		{Position: 1, Group: "Go/No-Go", Role: "Deployment Engineer", Above: 1, GoNoGo: true},
		{Position: 2, Group: "Final", Role: "Engineering Manager", Final: true},
		{Position: 3, Group: "Final", Role: "CTO", Final: true},
	}
	return d, signoff.NewChecklist(nil, items, nil), slots
}

func person(id int64, roles ...string) *signoff.User {
	u := &signoff.User{ID: id, Name: "P", Active: true}
	for _, r := range roles {
		u.Roles = append(u.Roles, signoff.Role{Name: r})
	}
	return u
}

func TestGateStateAndSigning(t *testing.T) {
	d, cl, slots := gatedCase()
	eng := person(2, "Deployment Engineer")
	req := signoff.SignRequest{Deployment: d, Checklist: cl, Slots: slots, Slot: 1, Signer: eng}
	if err := signoff.CheckSign(req); err != nil {
		t.Fatalf("a gate over resolved items: %v", err)
	}
	// A gate's signature goes stale by a change above it only.
	slots[0].Signature = &signoff.Signature{ChecklistRev: 1, Signer: signoff.UserRef{ID: 2}}
	if st := slots[0].State(d.ChecklistRev); st != signoff.SlotSigned {
		t.Errorf("a gate signed before changes below it: %s", st)
	}
	slots[0].AboveChanged = true
	if st := slots[0].State(d.ChecklistRev); st != signoff.SlotStale {
		t.Errorf("a gate after a change above it: %s", st)
	}
	// A request for changes holds the slot for its maker.
	slots[0].Signature, slots[0].AboveChanged = nil, false
	slots[0].Rejection = &signoff.Rejection{By: signoff.UserRef{ID: 9, Name: "Nia"}}
	err := signoff.CheckSign(req)
	if signoff.ErrorCode(err) != signoff.ECONFLICT || !strings.Contains(signoff.ErrorMessage(err), "Nia asked for changes") {
		t.Errorf("signing over another's request for changes: %v", err)
	}
	slots[0].Rejection.By.ID = eng.ID
	if err := signoff.CheckSign(req); err != nil {
		t.Errorf("its maker signs: %v", err)
	}
}

func TestFinalGroupLocksOnItsLastSignature(t *testing.T) {
	d, _, slots := gatedCase()
	slots[0].Signature = &signoff.Signature{ChecklistRev: 3}
	if signoff.Locks(slots, 2, d.ChecklistRev) {
		t.Error("the first of two final signatures locks")
	}
	slots[2].Signature = &signoff.Signature{ChecklistRev: 3}
	if !signoff.Locks(slots, 2, d.ChecklistRev) {
		t.Error("the last final signature does not lock")
	}
	slots[2].Signature.ChecklistRev = 2 // stale: it must be given again first
	if signoff.Locks(slots, 2, d.ChecklistRev) {
		t.Error("a final signature locks beside a stale one")
	}
	if signoff.Locks(slots, 1, d.ChecklistRev) {
		t.Error("a gate's signature locks")
	}
}

func TestFinalSlotsAreTheLastGroup(t *testing.T) {
	tpl := &signoff.Template{
		Phases: []signoff.Phase{{Sections: []signoff.Section{{Items: []signoff.TemplateItem{{Text: "a"}, {Text: "b"}}}}}},
		SignoffGroups: []signoff.SignoffGroup{
			{Name: "Final review", Slots: []signoff.SignoffSlot{{Role: "A"}}, Above: 1, GoNoGo: true},
			{Name: "Sign-off", Slots: []signoff.SignoffSlot{{Role: "B"}, {Role: "C"}}, Above: 2, GoNoGo: true},
		},
	}
	final := signoff.FinalSlots(tpl)
	defs := tpl.Slots()
	if final[0] || !final[1] || !final[2] {
		t.Errorf("final slots %v: the last group, not the one named final", final)
	}
	if defs[0].Above != 1 || !defs[0].GoNoGo || defs[1].Above != 0 || defs[1].GoNoGo {
		t.Errorf("slot definitions %+v: the first a go/no-go gate, the last group neither gate nor go/no-go", defs)
	}
}

func TestWhoMayMoveAndGoLive(t *testing.T) {
	d, cl, slots := gatedCase()
	for _, c := range []struct {
		u  *signoff.User
		ok bool
	}{
		{person(1), true},        // the owner
		{person(5, "CTO"), true}, // a role holder
		{&signoff.User{ID: 6, Active: true, IsAdmin: true}, true},
		{person(7), false}, // a plain member
		{&signoff.User{ID: 8, Active: true, IsAuditor: true}, false},
	} {
		if err := signoff.CanMove(c.u, d, slots, signoff.StatusLive); (err == nil) != c.ok {
			t.Errorf("user %d going live: %v", c.u.ID, err)
		}
	}
	g := signoff.CheckGoLive(d, cl, slots)
	if err := g.Err(); err == nil || !strings.Contains(signoff.ErrorMessage(err), "Deployment Engineer (unsigned)") {
		t.Errorf("going live before the go/no-go gate: %v", err)
	}
	if g.Open != 0 || g.NeedsConfirmation() {
		t.Errorf("the item above the gate is done: %+v", g)
	}
	slots[0].Signature = &signoff.Signature{ChecklistRev: 1}
	if err := signoff.CheckGoLive(d, cl, slots).Err(); err != nil {
		t.Errorf("after the go/no-go gate: %v", err)
	}
	// Without a go/no-go gate, the first phase is what stands before.
	slots[0].GoNoGo = false
	cl.Items[0].State = signoff.ItemOpen
	if g := signoff.CheckGoLive(d, cl, slots); g.Open != 1 || !g.NeedsConfirmation() || g.Summary() != "1 pre-deployment item is open" {
		t.Errorf("without a go/no-go gate: %+v %q", g, g.Summary())
	}
}

func TestCheckSeenSaysWhatChanged(t *testing.T) {
	ev := func(seq int64, name, payload string) signoff.Event {
		return signoff.Event{Seq: seq, Actor: signoff.UserRef{Name: name}, Action: signoff.ActItemState, Target: "item/1.1.1", Payload: payload}
	}
	if err := signoff.CheckSeen(signoff.Seen{SHA256: []byte("a")}, []byte("a"), nil); err != nil {
		t.Fatalf("the same state: %v", err)
	}
	err := signoff.CheckSeen(signoff.Seen{SHA256: []byte("a")}, []byte("b"), []signoff.Event{ev(4, "Dana", "not json")})
	if signoff.ErrorCode(err) != signoff.ECONFLICT || !strings.Contains(signoff.ErrorMessage(err), "Dana changed item/1.1.1") {
		t.Fatalf("a changed state: %v", err)
	}
}
