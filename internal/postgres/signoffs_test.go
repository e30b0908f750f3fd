package postgres_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// signTeam is who signs a smallTemplate deployment.
type signTeam struct {
	eng, dba, cto, other *signoff.User
}

func newSignTeam(t *testing.T, db *postgres.DB) signTeam {
	return signTeam{
		eng:   addUser(t, db, "Erin Engineer", "Deployment Engineer"),
		dba:   addUser(t, db, "Dara Dba", "Database Administrator"),
		cto:   addUser(t, db, "Chris Cto", "CTO/Technical Director"),
		other: addUser(t, db, "Olly Other"),
	}
}

// resolveSmall resolves every leaf of a smallTemplate deployment: the
// conditional ones N/A, the rest done.
func resolveSmall(t *testing.T, db *postgres.DB, d *signoff.Deployment, by *signoff.User) {
	t.Helper()
	for _, p := range smallLeaves {
		s := signoff.ItemDone
		if p == "1.1.1.2.2" || p == "1.2.2" {
			s = signoff.ItemNA
		}
		tick(t, db, d, p, s, by)
	}
}

// signEvent decodes the after of a signoff.sign event.
func signEvent(t *testing.T, ev signoff.Event) map[string]any {
	t.Helper()
	if ev.Action != signoff.ActSignoffSign {
		t.Fatalf("event %d is %s, not a signature", ev.Seq, ev.Action)
	}
	var after map[string]any
	if err := json.Unmarshal(payload(t, ev).After, &after); err != nil {
		t.Fatal(err)
	}
	return after
}

// slotState is a slot's state against the deployment's current rev.
func slotState(t *testing.T, db *postgres.DB, d *signoff.Deployment, pos int) signoff.SlotState {
	t.Helper()
	slots, err := db.Slots(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if s.Position == pos {
			return s.State(reload(t, db, d).ChecklistRev)
		}
	}
	t.Fatalf("no slot %d", pos)
	return ""
}

// assertNothingSigned checks a refused signature left no trace.
func assertNothingSigned(t *testing.T, db *postgres.DB, d *signoff.Deployment, seq int64) {
	t.Helper()
	if got := reload(t, db, d); got.AuditSeq != seq {
		t.Fatalf("refused signature wrote events: seq %d → %d", seq, got.AuditSeq)
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM signoffs WHERE deployment_id = $1 AND ended_at IS NULL`, d.ID); n != 0 {
		t.Fatalf("%d standing signatures after a refused one", n)
	}
}

func TestSignOnlyARoleHolderCanSign(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	team := newSignTeam(t, db)
	d := newSmallDeployment(t, db, team.eng, "voxflow-api")
	resolveSmall(t, db, d, team.eng)
	seq := reload(t, db, d).AuditSeq

	for _, u := range []*signoff.User{team.other, team.dba, team.cto} {
		_, err := signAs(db, d, 1, u)
		wantCode(t, err, signoff.EFORBIDDEN)
		if !strings.Contains(signoff.ErrorMessage(err), "Deployment Engineer") {
			t.Fatalf("message %q does not name the role", signoff.ErrorMessage(err))
		}
	}
	_, err := signAs(db, d, 9, team.eng)
	wantCode(t, err, signoff.ENOTFOUND)
	assertNothingSigned(t, db, d, seq)

	sig := mustSign(t, db, d, 1, team.eng)
	ev := lastEvent(t, db, d.ID)
	if sig.Slot != 1 || sig.Role != "Deployment Engineer" || sig.Signer.ID != team.eng.ID || sig.Signer.Name != team.eng.Name ||
		sig.Meaning != signoff.Meaning("Deployment Engineer") || !sig.SignedAt.Equal(ev.At) || sig.AuditSeq != ev.Seq ||
		sig.ChecklistRev != reload(t, db, d).ChecklistRev {
		t.Fatalf("signature = %+v (event %d at %s)", sig, ev.Seq, ev.At)
	}
	after := signEvent(t, ev)
	if after["printed_name"] != team.eng.Name || after["role"] != "Deployment Engineer" || after["meaning"] != sig.Meaning ||
		after["checklist_sha256"] != hex.EncodeToString(sig.ChecklistHash) || after["multiple_slots_allowed"] != nil {
		t.Fatalf("sign event after = %v", after)
	}
	if ev.Actor.ID != team.eng.ID {
		t.Fatalf("sign event actor = %+v", ev.Actor)
	}
	if slotState(t, db, d, 1) != signoff.SlotSigned {
		t.Fatalf("slot 1 is %s", slotState(t, db, d, 1))
	}
	// A fresh signature is not signed over.
	other := addUser(t, db, "Second Engineer", "Deployment Engineer")
	_, err = signAs(db, d, 1, other)
	wantCode(t, err, signoff.ECONFLICT)
	checkChain(t, db, d.ID)
}

// Wrong passwords at the signature count against the signer alone, with
// a stricter throttle than logins; and failed logins, which anyone can
// cause, never stop anyone from signing (the lockout an attacker found:
// ten wrong passwords for the CTO's address kept them from the final
// approval).
func TestSignWrongPasswordSignsNothingAndIsThrottledPerSigner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	team := newSignTeam(t, db)
	d := newSmallDeployment(t, db, team.eng, "voxflow-api")
	resolveSmall(t, db, d, team.eng)
	seq := reload(t, db, d).AuditSeq

	// Strangers fail to log in as the signer, from everywhere.
	for i := range 40 {
		_, err := db.Authenticate(ctx, team.eng.Email, "wrong password!", fmt.Sprintf("198.51.100.%d", i%4))
		if code := signoff.ErrorCode(err); code != signoff.EUNAUTHORIZED && code != signoff.ERATELIMIT {
			t.Fatal(err)
		}
	}
	for range postgres.ThrottleSigner.Free {
		_, err := db.Sign(ctx, postgres.SignInput{DeploymentID: d.ID, Slot: 1, UserID: team.eng.ID,
			Password: "wrong password!", Via: "web"})
		wantCode(t, err, signoff.EUNAUTHORIZED)
		if !strings.Contains(signoff.ErrorMessage(err), "nothing was signed") {
			t.Fatalf("message %q", signoff.ErrorMessage(err))
		}
	}
	assertNothingSigned(t, db, d, seq)
	_, err := db.Sign(ctx, postgres.SignInput{DeploymentID: d.ID, Slot: 1, UserID: team.eng.ID,
		Password: testPassword, Via: "web"})
	wantCode(t, err, signoff.ERATELIMIT)
	assertNothingSigned(t, db, d, seq)
	// Logins are another count: the signer still signs in from a clean address.
	if _, err := db.Authenticate(ctx, team.eng.Email, testPassword, "203.0.113.8"); err != nil {
		t.Fatalf("login after failed signatures: %v", err)
	}
	// Someone else is not limited by it.
	mustSign(t, db, d, 2, team.dba)
	// The wait ends; the right password signs.
	if _, err := db.Pool().Exec(ctx, `UPDATE auth_failures SET at = at - interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	mustSign(t, db, d, 1, team.eng)
}

func TestSignAuditorsAndDeactivatedPeopleCannotSign(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	team := newSignTeam(t, db)
	admin := addUser(t, db, "Ada Admin")
	auditor, err := db.CreateUser(ctx, signoff.NewUser{Email: "audrey@example.com", Name: "Audrey Auditor",
		Password: testPassword, IsAuditor: true, Roles: []string{"Deployment Engineer"}}, as(admin))
	if err != nil {
		t.Fatal(err)
	}
	d := newSmallDeployment(t, db, team.eng, "voxflow-api")
	resolveSmall(t, db, d, team.eng)
	seq := reload(t, db, d).AuditSeq

	_, err = signAs(db, d, 1, auditor)
	wantCode(t, err, signoff.EFORBIDDEN)
	assertNothingSigned(t, db, d, seq)

	// A deactivated person holds their roles no more, as far as signing
	// goes: refused before their password is even checked.
	if err := db.SetActive(ctx, team.eng.ID, false, as(admin)); err != nil {
		t.Fatal(err)
	}
	_, err = signAs(db, d, 1, team.eng)
	wantCode(t, err, signoff.EFORBIDDEN)
	assertNothingSigned(t, db, d, seq)
	if n := sqlInt(t, db, `SELECT count(*) FROM auth_failures`); n != 0 {
		t.Fatalf("refused signers were counted as %d failed password checks", n)
	}
}

func TestSignNeedsEveryItemResolved(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	team := newSignTeam(t, db)
	d := newSmallDeployment(t, db, team.eng, "voxflow-api")
	resolveSmall(t, db, d, team.eng)
	tick(t, db, d, "1.2.1", signoff.ItemOpen, team.eng)
	seq := reload(t, db, d).AuditSeq

	_, err := signAs(db, d, 1, team.eng)
	wantCode(t, err, signoff.ECONFLICT)
	if !strings.Contains(signoff.ErrorMessage(err), "1 of 6") {
		t.Fatalf("message %q does not count the open items", signoff.ErrorMessage(err))
	}
	assertNothingSigned(t, db, d, seq)
	tick(t, db, d, "1.2.1", signoff.ItemNA, team.eng)
	mustSign(t, db, d, 1, team.eng)
}

func TestSignOnePersonOneSlotUnlessTheTemplateAllowsMore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	admin := addUser(t, db, "Ada Admin")
	both := addUser(t, db, "Sam Small-Team", "Deployment Engineer", "Database Administrator")
	d := newSmallDeployment(t, db, both, "voxflow-api")
	resolveSmall(t, db, d, both)

	mustSign(t, db, d, 1, both)
	seq := reload(t, db, d).AuditSeq
	_, err := signAs(db, d, 2, both)
	wantCode(t, err, signoff.ECONFLICT)
	if !strings.Contains(signoff.ErrorMessage(err), "one person signs at most one slot") {
		t.Fatalf("message %q", signoff.ErrorMessage(err))
	}
	if got := reload(t, db, d); got.AuditSeq != seq {
		t.Fatalf("refused second slot wrote: seq %d → %d", seq, got.AuditSeq)
	}

	// The template's setting relaxes the rule for its deployments, and the
	// signature says so.
	if err := db.SetAllowMultipleSlots(ctx, smallSlug, true, as(admin)); err != nil {
		t.Fatal(err)
	}
	sig := mustSign(t, db, d, 2, both)
	after := signEvent(t, lastEvent(t, db, d.ID))
	if after["multiple_slots_allowed"] != true || sig.Slot != 2 {
		t.Fatalf("second slot signed %+v, event after %v", sig, after)
	}
	// And switching it off again restores the rule.
	if err := db.SetAllowMultipleSlots(ctx, smallSlug, false, as(admin)); err != nil {
		t.Fatal(err)
	}
	d2 := newSmallDeployment(t, db, both, "voxflow-web")
	resolveSmall(t, db, d2, both)
	mustSign(t, db, d2, 1, both)
	_, err = signAs(db, d2, 2, both)
	wantCode(t, err, signoff.ECONFLICT)
}

func TestSignFinalApprovalNeedsEveryOtherSlotSigned(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	team := newSignTeam(t, db)
	d := newSmallDeployment(t, db, team.eng, "voxflow-api")
	resolveSmall(t, db, d, team.eng)

	_, err := signAs(db, d, 3, team.cto)
	wantCode(t, err, signoff.ECONFLICT)
	mustSign(t, db, d, 1, team.eng)
	seq := reload(t, db, d).AuditSeq
	_, err = signAs(db, d, 3, team.cto)
	wantCode(t, err, signoff.ECONFLICT)
	msg := signoff.ErrorMessage(err)
	if !strings.Contains(msg, "waiting on Database Administrator") || strings.Contains(msg, "Deployment Engineer") {
		t.Fatalf("message %q should name only the waiting role", msg)
	}
	if got := reload(t, db, d); got.AuditSeq != seq || got.Locked() {
		t.Fatalf("refused final approval wrote: seq %d locked %v", got.AuditSeq, got.Locked())
	}
	// Stale signatures do not count.
	mustSign(t, db, d, 2, team.dba)
	tick(t, db, d, "1.2.1", signoff.ItemNA, team.eng)
	_, err = signAs(db, d, 3, team.cto)
	wantCode(t, err, signoff.ECONFLICT)
	if msg := signoff.ErrorMessage(err); !strings.Contains(msg, "Deployment Engineer, Database Administrator") {
		t.Fatalf("message %q should name both stale slots", msg)
	}
}

func TestSignFinalApprovalCompletesAndLocksEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	team := newSignTeam(t, db)
	admin, err := db.CreateUser(ctx, signoff.NewUser{Email: "ada@example.com", Name: "Ada Admin", Password: testPassword,
		IsAdmin: true, Roles: []string{"Deployment Engineer"}}, as(team.other))
	if err != nil {
		t.Fatal(err)
	}
	d := newSmallDeployment(t, db, team.eng, "voxflow-api")
	resolveSmall(t, db, d, team.eng)
	mustSign(t, db, d, 1, team.eng)
	mustSign(t, db, d, 2, team.dba)
	final := mustSign(t, db, d, 3, team.cto)

	got := reload(t, db, d)
	ev := lastEvent(t, db, d.ID)
	if got.Status != signoff.StatusCompleted || got.LockedAt == nil || got.CompletedAt == nil ||
		!got.LockedAt.Equal(ev.At) || !got.CompletedAt.Equal(ev.At) || !got.Locked() {
		t.Fatalf("after final approval: %+v", got)
	}
	after := signEvent(t, ev)
	if after["status"] != "completed" || after["locked"] != true || final.AuditSeq != ev.Seq {
		t.Fatalf("final sign event after = %v", after)
	}
	seq := got.AuditSeq

	_, err = db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.2.1", State: signoff.ItemOpen}, as(team.eng))
	wantCode(t, err, signoff.ELOCKED)
	_, err = db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1", State: signoff.ItemNA, NAReason: "x"}, as(team.eng))
	wantCode(t, err, signoff.ELOCKED)
	_, err = db.SetNote(ctx, d.ID, 1, "after the fact", as(team.eng))
	wantCode(t, err, signoff.ELOCKED)
	_, err = db.AddComment(ctx, d.ID, "1.2.1", "after the fact", as(team.eng))
	wantCode(t, err, signoff.ELOCKED)
	_, err = db.SetEvidence(ctx, d.ID, "1.2.1", "log.txt", as(team.eng))
	wantCode(t, err, signoff.ELOCKED)
	for _, s := range []signoff.Status{signoff.StatusLive, signoff.StatusAborted, signoff.StatusInProgress} {
		_, err = db.SetStatus(ctx, d.ID, s, "reason", as(team.eng))
		wantCode(t, err, signoff.ELOCKED)
	}
	// Holders of the slots' roles, with the right password, are refused
	// because of the lock, not for who they are.
	for slot, u := range map[int]*signoff.User{1: admin, 3: team.cto} {
		_, err = signAs(db, d, slot, u)
		wantCode(t, err, signoff.ELOCKED)
	}
	wantCode(t, db.Revoke(ctx, d.ID, 1, "changed my mind", team.eng, "web"), signoff.ELOCKED)
	wantCode(t, db.Revoke(ctx, d.ID, 3, "admin override", admin, "web"), signoff.ELOCKED)

	if got := reload(t, db, d); got.AuditSeq != seq || got.Status != signoff.StatusCompleted {
		t.Fatalf("locked deployment changed: seq %d → %d", seq, got.AuditSeq)
	}
	sigs, err := db.Signatures(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sigs {
		if s.EndedAt != nil {
			t.Fatalf("signature on slot %d ended after lock: %+v", s.Slot, s)
		}
	}
	if len(sigs) != 3 {
		t.Fatalf("%d signatures; want 3", len(sigs))
	}
	checkChain(t, db, d.ID)
}

func TestSignChangeAfterSigningMakesItStaleAndResigningSupersedes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	team := newSignTeam(t, db)
	d := newSmallDeployment(t, db, team.eng, "voxflow-api")
	resolveSmall(t, db, d, team.eng)

	first := mustSign(t, db, d, 1, team.eng)
	if s := slotState(t, db, d, 1); s != signoff.SlotSigned {
		t.Fatalf("slot 1 right after signing is %s", s)
	}
	tick(t, db, d, "1.2.1", signoff.ItemNA, team.dba)
	if s := slotState(t, db, d, 1); s != signoff.SlotStale {
		t.Fatalf("slot 1 after a tick is %s; want stale", s)
	}
	// A stale slot can be signed again (by its holder), which supersedes
	// the old signature.
	second := mustSign(t, db, d, 1, team.eng)
	if s := slotState(t, db, d, 1); s != signoff.SlotSigned {
		t.Fatalf("slot 1 after re-signing is %s", s)
	}
	var before map[string]any
	if err := json.Unmarshal(payload(t, lastEvent(t, db, d.ID)).Before, &before); err != nil {
		t.Fatal(err)
	}
	if before["state"] != "stale" || before["signature"] != float64(first.ID) {
		t.Fatalf("re-sign event before = %v", before)
	}
	sigs, err := db.Signatures(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 || sigs[0].ID != first.ID || sigs[1].ID != second.ID {
		t.Fatalf("signatures = %+v", sigs)
	}
	old := sigs[0]
	if old.EndedAt == nil || !old.EndedAt.Equal(second.SignedAt) || old.EndReason != "superseded" ||
		old.EndedBy == nil || old.EndedBy.ID != team.eng.ID {
		t.Fatalf("superseded signature = %+v", old)
	}
	if sigs[1].EndedAt != nil {
		t.Fatalf("new signature ended: %+v", sigs[1])
	}
	if bytes.Equal(first.ChecklistHash, second.ChecklistHash) {
		t.Fatal("the new signature attests to the same hash although the checklist changed")
	}
	// A note edit is a checklist change too.
	if _, err := db.SetNote(ctx, d.ID, 2, "helm rollback", as(team.dba)); err != nil {
		t.Fatal(err)
	}
	if s := slotState(t, db, d, 1); s != signoff.SlotStale {
		t.Fatalf("slot 1 after a note edit is %s; want stale", s)
	}
	// A comment is not.
	mustSign(t, db, d, 1, team.eng)
	if _, err := db.AddComment(ctx, d.ID, "1.2.1", "fyi", as(team.dba)); err != nil {
		t.Fatal(err)
	}
	if s := slotState(t, db, d, 1); s != signoff.SlotSigned {
		t.Fatalf("slot 1 after a comment is %s; want signed", s)
	}
	checkChain(t, db, d.ID)
}

func TestSignRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	team := newSignTeam(t, db)
	admin, err := db.CreateUser(ctx, signoff.NewUser{Email: "ada@example.com", Name: "Ada Admin", Password: testPassword,
		IsAdmin: true}, as(team.other))
	if err != nil {
		t.Fatal(err)
	}
	d := newSmallDeployment(t, db, team.eng, "voxflow-api")
	resolveSmall(t, db, d, team.eng)
	sig := mustSign(t, db, d, 1, team.eng)
	seq := reload(t, db, d).AuditSeq

	for _, reason := range []string{"", "  "} {
		wantCode(t, db.Revoke(ctx, d.ID, 1, reason, team.eng, "web"), signoff.EINVALID)
	}
	wantCode(t, db.Revoke(ctx, d.ID, 1, "not mine", team.dba, "web"), signoff.EFORBIDDEN)
	wantCode(t, db.Revoke(ctx, d.ID, 2, "unsigned", admin, "web"), signoff.ENOTFOUND)
	if got := reload(t, db, d); got.AuditSeq != seq || slotState(t, db, d, 1) != signoff.SlotSigned {
		t.Fatalf("refused revocations wrote: seq %d → %d", seq, got.AuditSeq)
	}

	if err := db.Revoke(ctx, d.ID, 1, "  Wrong build signed  ", team.eng, "web"); err != nil {
		t.Fatal(err)
	}
	ev := lastEvent(t, db, d.ID)
	var after struct {
		Revoked bool
		Reason  string
	}
	_ = json.Unmarshal(payload(t, ev).After, &after)
	if ev.Action != signoff.ActSignoffRevoke || ev.Target != "slot/1" || !after.Revoked || after.Reason != "Wrong build signed" {
		t.Fatalf("revoke event %s %s after %+v", ev.Action, ev.Target, after)
	}
	sigs, _ := db.Signatures(ctx, d.ID)
	if len(sigs) != 1 || sigs[0].ID != sig.ID || sigs[0].EndedAt == nil || !sigs[0].EndedAt.Equal(ev.At) ||
		sigs[0].EndReason != "Wrong build signed" || sigs[0].EndedBy == nil || sigs[0].EndedBy.ID != team.eng.ID {
		t.Fatalf("revoked signature = %+v", sigs)
	}
	if s := slotState(t, db, d, 1); s != signoff.SlotUnsigned {
		t.Fatalf("slot 1 after revoking is %s", s)
	}
	// Revoking is not a checklist change, and the slot can be signed again.
	if got := reload(t, db, d); got.ChecklistRev != sig.ChecklistRev {
		t.Fatalf("revoke bumped checklist_rev %d → %d", sig.ChecklistRev, got.ChecklistRev)
	}
	again := mustSign(t, db, d, 1, team.eng)
	// An admin may revoke anyone's.
	if err := db.Revoke(ctx, d.ID, 1, "admin: wrong person", admin, "web"); err != nil {
		t.Fatal(err)
	}
	sigs, _ = db.Signatures(ctx, d.ID)
	if len(sigs) != 2 || sigs[1].ID != again.ID || sigs[1].EndedBy == nil || sigs[1].EndedBy.ID != admin.ID {
		t.Fatalf("signatures after admin revoke = %+v", sigs)
	}
	checkChain(t, db, d.ID)
}

func TestSignChecklistHashIsTheStateAtSigning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	team := newSignTeam(t, db)
	d := newSmallDeployment(t, db, team.eng, "voxflow-api")
	resolveSmall(t, db, d, team.eng)
	if _, err := db.SetNote(ctx, d.ID, 1, "Nothing went wrong.\nReally.", as(team.eng)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1", State: signoff.ItemNA, NAReason: "n/a"}, as(team.eng)); err != nil {
		t.Fatal(err) // nothing open below: a no-op, still fine
	}
	sig := mustSign(t, db, d, 1, team.eng)

	want := currentStateHash(t, db, d)
	if !bytes.Equal(sig.ChecklistHash, want[:]) {
		t.Fatalf("signature hash %x; the checklist's state hash is %x", sig.ChecklistHash, want)
	}
	if replayed := stateHashAsOf(t, db, d, sig.AuditSeq); !bytes.Equal(sig.ChecklistHash, replayed[:]) {
		t.Fatalf("signature hash %x; replaying the audit log gives %x", sig.ChecklistHash, replayed)
	}
	// The stored row agrees with what Sign returned.
	slots, err := db.Slots(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(slots[0].Signature.ChecklistHash, sig.ChecklistHash) || slots[0].Signature.AuditSeq != sig.AuditSeq {
		t.Fatalf("stored signature %+v", slots[0].Signature)
	}
	// Later changes move the checklist on, but the signature still matches
	// the state as of its place in the log.
	tick(t, db, d, "1.2.1", signoff.ItemOpen, team.eng)
	if now := currentStateHash(t, db, d); bytes.Equal(now[:], sig.ChecklistHash) {
		t.Fatal("the state hash did not change with the checklist")
	}
	if replayed := stateHashAsOf(t, db, d, sig.AuditSeq); !bytes.Equal(sig.ChecklistHash, replayed[:]) {
		t.Fatalf("replay after a later change gives %x; want %x", replayed, sig.ChecklistHash)
	}
}

// The signature ceremony's password checks share the login's limit, and
// parallel wrong passwords cannot slip under it either.
func TestSignParallelWrongPasswordsStopAtTheLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 32})
	team := newSignTeam(t, db)
	d := newSmallDeployment(t, db, team.eng, "voxflow-api")
	resolveSmall(t, db, d, team.eng)
	seq := reload(t, db, d).AuditSeq
	warm := make([]func() error, 30)
	for i := range warm {
		warm[i] = func() error { return db.Ping(ctx) }
	}
	together(warm...)

	tries := make([]func() error, 30)
	for i := range tries {
		tries[i] = func() error {
			_, err := db.Sign(ctx, postgres.SignInput{DeploymentID: d.ID, Slot: 1, UserID: team.eng.ID,
				Password: fmt.Sprintf("wrong password %d", i), Via: "web"})
			return err
		}
	}
	checked, limited := 0, 0
	for i, err := range together(tries...) {
		switch signoff.ErrorCode(err) {
		case signoff.EUNAUTHORIZED:
			checked++
		case signoff.ERATELIMIT:
			limited++
		default:
			t.Fatalf("try %d: %v", i, err)
		}
	}
	if free := postgres.ThrottleSigner.Free; checked != free || limited != 30-free {
		t.Fatalf("%d wrong passwords checked, %d refused; want %d checked and %d refused",
			checked, limited, free, 30-free)
	}
	assertNothingSigned(t, db, d, seq)
	_, err := signAs(db, d, 1, team.eng)
	wantCode(t, err, signoff.ERATELIMIT)
	// Signing's throttle is the signer's own: logging in still works.
	if _, err = db.Authenticate(ctx, team.eng.Email, testPassword, "203.0.113.8"); err != nil {
		t.Fatal(err)
	}
	assertNothingSigned(t, db, d, seq)
}
