package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// gateTeam signs the gated template the docs show
// (docs/examples/gated-release.md): a go/no-go gate of two slots after 3
// items, a verification gate of one after 5, a final group of two after
// all 7.
type gateTeam struct {
	eng, pm, sec, em, cto, member *signoff.User
}

const (
	slotGoEng = iota + 1
	slotGoPM
	slotVerify
	slotFinalEM
	slotFinalCTO
)

func newGatedDeployment(t *testing.T, db *postgres.DB) (*signoff.Deployment, gateTeam) {
	t.Helper()
	src, err := os.ReadFile("../../docs/examples/gated-release.md")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tpl, _, err := db.ImportTemplate(ctx, src, "", signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	team := gateTeam{
		eng:    addUser(t, db, "Erin Engineer", "Deployment Engineer"),
		pm:     addUser(t, db, "Priya Product", "Product Manager"),
		sec:    addUser(t, db, "Sol Security", "Security Engineer"),
		em:     addUser(t, db, "Emil Manager", "Engineering Manager"),
		cto:    addUser(t, db, "Chris Cto", "CTO/Technical Director"),
		member: addUser(t, db, "Mo Member"),
	}
	d, err := db.CreateDeployment(ctx, signoff.NewDeployment{
		TemplateSlug: tpl.Slug, Service: "voxflow-api", Environment: "production", Version: "v2.5.0",
	}, as(team.eng))
	if err != nil {
		t.Fatal(err)
	}
	return d, team
}

// gatedLeaves are the deployment's leaves in document order.
func gatedLeaves(t *testing.T, db *postgres.DB, d *signoff.Deployment) []string {
	t.Helper()
	items, err := db.Items(context.Background(), d.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		if !it.HasChildren {
			out = append(out, it.Path)
		}
	}
	if len(out) != 7 {
		t.Fatalf("the gated template has %d leaves, want 7: %v", len(out), out)
	}
	return out
}

// A gate attests to the items above it and is signed once they are
// resolved; the final group of two stays open after its first signature
// and locks the deployment with its last.
func TestGatesAndAFinalGroupOfTwo(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	d, team := newGatedDeployment(t, db)
	leaves := gatedLeaves(t, db, d)

	slots, err := db.Slots(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		wantFinal := s.Position >= slotFinalEM
		if s.Final != wantFinal || s.GoNoGo != (s.Position <= slotGoPM) {
			t.Errorf("slot %d (%s): final %v, go/no-go %v", s.Position, s.Role, s.Final, s.GoNoGo)
		}
	}

	_, err = signAs(db, d, slotGoEng, team.eng)
	wantCode(t, err, signoff.ECONFLICT)
	if msg := signoff.ErrorMessage(err); !strings.Contains(msg, "above this sign-off") || !strings.Contains(msg, "3 of 3") {
		t.Fatalf("a gate over open items: %q", msg)
	}
	for _, p := range leaves[:3] {
		tick(t, db, d, p, signoff.ItemDone, team.eng)
	}
	mustSign(t, db, d, slotGoEng, team.eng)
	mustSign(t, db, d, slotGoPM, team.pm)
	_, err = signAs(db, d, slotVerify, team.sec)
	wantCode(t, err, signoff.ECONFLICT)
	for _, p := range leaves[3:5] {
		tick(t, db, d, p, signoff.ItemDone, team.eng)
	}
	// The go/no-go signatures attest to the first three items only: a
	// change below the gate leaves them standing, a change above stales.
	mustSign(t, db, d, slotVerify, team.sec)
	if st := slotState(t, db, d, slotGoEng); st != signoff.SlotSigned {
		t.Fatalf("the go/no-go signature after changes below it: %s", st)
	}
	_, err = signAs(db, d, slotFinalEM, team.em)
	wantCode(t, err, signoff.ECONFLICT) // the monitoring items are open
	for _, p := range leaves[5:] {
		tick(t, db, d, p, signoff.ItemDone, team.eng)
	}
	tick(t, db, d, leaves[4], signoff.ItemOpen, team.eng)
	tick(t, db, d, leaves[4], signoff.ItemDone, team.eng)
	if st := slotState(t, db, d, slotVerify); st != signoff.SlotStale {
		t.Fatalf("the verification gate after a change above it: %s", st)
	}
	if st := slotState(t, db, d, slotGoEng); st != signoff.SlotSigned {
		t.Fatalf("the go/no-go gate after a change below it: %s", st)
	}
	_, err = signAs(db, d, slotFinalEM, team.em)
	wantCode(t, err, signoff.ECONFLICT) // the verification gate is stale
	mustSign(t, db, d, slotVerify, team.sec)

	mustSign(t, db, d, slotFinalEM, team.em)
	if got := reload(t, db, d); got.Locked() || got.Status == signoff.StatusCompleted {
		t.Fatalf("the first of two final signatures locked the deployment: %+v", got)
	}
	if after := signEvent(t, lastEvent(t, db, d.ID)); after["locked"] != nil {
		t.Fatalf("the first final signature's event says locked: %v", after)
	}
	mustSign(t, db, d, slotFinalCTO, team.cto)
	got := reload(t, db, d)
	if !got.Locked() || got.Status != signoff.StatusCompleted {
		t.Fatalf("the last final signature did not lock: %+v", got)
	}
	if after := signEvent(t, lastEvent(t, db, d.ID)); after["locked"] != true {
		t.Fatalf("the last final signature's event: %v", after)
	}
	checkChain(t, db, d.ID)
}

// The final approval is the last group, whatever the names: a group
// called "Semi-final review" is an ordinary one.
func TestFinalApprovalIsTheLastGroupNotAName(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	src := strings.Replace(smallTemplate, "### Technical Sign-off", "### Semi-final review", 1)
	src = strings.Replace(src, "# Small Release Checklist", "# Semi Final Checklist", 1)
	tpl, _, err := db.ImportTemplate(ctx, []byte(src), "", signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	team := newSignTeam(t, db)
	d, err := db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: tpl.Slug, Service: "s", Environment: "production", Version: "v1"}, as(team.eng))
	if err != nil {
		t.Fatal(err)
	}
	resolveSmall(t, db, d, team.eng)
	mustSign(t, db, d, 1, team.eng)
	if reload(t, db, d).Locked() {
		t.Fatal("a signature in the \"Semi-final review\" group locked the deployment")
	}
	mustSign(t, db, d, 2, team.dba)
	mustSign(t, db, d, 3, team.cto)
	if !reload(t, db, d).Locked() {
		t.Fatal("the last group's signature did not lock")
	}
}

// A signature binds the state the signer was shown: a checklist changed
// since answers a conflict naming the change, and nothing is signed.
func TestSignRefusesAChecklistChangedSinceItWasShown(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	team := newSignTeam(t, db)
	d := newSmallDeployment(t, db, team.eng, "voxflow-api")
	resolveSmall(t, db, d, team.eng)
	shown := reload(t, db, d)
	hash := currentStateHash(t, db, d)
	seen := &signoff.Seen{SHA256: hash[:], AuditSeq: shown.AuditSeq}

	tick(t, db, d, "1.2.1", signoff.ItemNA, team.dba) // someone else, meanwhile
	seq := reload(t, db, d).AuditSeq
	_, err := db.Sign(context.Background(), postgres.SignInput{DeploymentID: d.ID, Slot: 1, UserID: team.eng.ID,
		Password: testPassword, Via: "web", Seen: seen})
	wantCode(t, err, signoff.ECONFLICT)
	if msg := signoff.ErrorMessage(err); !strings.Contains(msg, "Dara Dba marked N/A item 1.2.1") || !strings.Contains(msg, "nothing was signed") {
		t.Fatalf("message %q should say who changed what", msg)
	}
	assertNothingSigned(t, db, d, seq)

	// Shown the state as it now is, the signer signs.
	hash = currentStateHash(t, db, d)
	sig, err := db.Sign(context.Background(), postgres.SignInput{DeploymentID: d.ID, Slot: 1, UserID: team.eng.ID,
		Password: testPassword, Via: "web", Seen: &signoff.Seen{SHA256: hash[:], AuditSeq: seq}})
	if err != nil {
		t.Fatal(err)
	}
	if string(sig.ChecklistHash) != string(hash[:]) {
		t.Fatal("the signature is not bound to the state shown")
	}
}

// Going live and aborting are for the owner, role holders and admins;
// going live waits for the go/no-go gate; an abort records who and why.
func TestWhoMayMoveADeploymentAndTheGoNoGoGate(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	d, team := newGatedDeployment(t, db)
	leaves := gatedLeaves(t, db, d)
	auditor := addUser(t, db, "Ada Auditor")
	if _, err := db.Pool().Exec(ctx, `UPDATE users SET is_auditor = true WHERE id = $1`, auditor.ID); err != nil {
		t.Fatal(err)
	}
	seq := reload(t, db, d).AuditSeq
	for _, u := range []*signoff.User{team.member, auditor} {
		_, err := db.SetStatus(ctx, d.ID, signoff.StatusLive, "", as(u))
		wantCode(t, err, signoff.EFORBIDDEN)
		_, err = db.SetStatus(ctx, d.ID, signoff.StatusAborted, "no", as(u))
		wantCode(t, err, signoff.EFORBIDDEN)
	}
	// A role holder (not the owner) may, once the go/no-go gate is signed.
	_, err := db.SetStatus(ctx, d.ID, signoff.StatusLive, "", as(team.sec))
	wantCode(t, err, signoff.ECONFLICT)
	if msg := signoff.ErrorMessage(err); !strings.Contains(msg, "go/no-go") || !strings.Contains(msg, "Deployment Engineer (unsigned), Product Manager (unsigned)") {
		t.Fatalf("going live before the go/no-go gate: %q", msg)
	}
	if got := reload(t, db, d); got.AuditSeq != seq || got.Status != signoff.StatusDraft {
		t.Fatalf("refused moves changed the deployment: %+v", got)
	}
	for _, p := range leaves[:3] {
		tick(t, db, d, p, signoff.ItemDone, team.eng)
	}
	mustSign(t, db, d, slotGoEng, team.eng)
	g, err := db.GoLive(ctx, reload(t, db, d))
	if err != nil || len(g.Waiting) != 1 || g.Open != 0 {
		t.Fatalf("go-live check with one go/no-go slot signed: %+v, %v", g, err)
	}
	mustSign(t, db, d, slotGoPM, team.pm)
	if _, err := db.SetStatus(ctx, d.ID, signoff.StatusLive, "", as(team.sec)); err != nil {
		t.Fatalf("a role holder going live after the go/no-go gate: %v", err)
	}
	if _, err := db.SetStatus(ctx, d.ID, signoff.StatusAborted, "Smoke tests failed in eu-west.", as(team.cto)); err != nil {
		t.Fatal(err)
	}
	got := reload(t, db, d)
	if got.AbortedBy == nil || got.AbortedBy.ID != team.cto.ID || got.AbortReason != "Smoke tests failed in eu-west." || got.AbortedAt == nil {
		t.Fatalf("an aborted deployment should say who, when and why: %+v", got)
	}
	checkChain(t, db, d.ID)
}

// A request for changes: a role holder refuses their slot with a comment
// (one event); it holds the slot against other holders until its maker
// withdraws it (one event) or signs (which ends it).
func TestRejectAndWithdraw(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	d, team := newGatedDeployment(t, db)
	leaves := gatedLeaves(t, db, d)
	for _, p := range leaves[:3] {
		tick(t, db, d, p, signoff.ItemDone, team.eng)
	}
	other := addUser(t, db, "Pat Product", "Product Manager")
	seq := reload(t, db, d).AuditSeq
	wantCode(t, db.Reject(ctx, d.ID, slotGoPM, "Not yet.", team.member, "web"), signoff.EFORBIDDEN)
	wantCode(t, db.Reject(ctx, d.ID, slotGoPM, "   ", team.pm, "web"), signoff.EINVALID)
	wantCode(t, db.Withdraw(ctx, d.ID, slotGoPM, team.pm, "web"), signoff.ENOTFOUND)
	if got := reload(t, db, d).AuditSeq; got != seq {
		t.Fatalf("refused requests wrote events: seq %d → %d", seq, got)
	}

	if err := db.Reject(ctx, d.ID, slotGoPM, "Link the change ticket first.", team.pm, "web"); err != nil {
		t.Fatal(err)
	}
	ev := lastEvent(t, db, d.ID)
	if ev.Seq != seq+1 || ev.Action != signoff.ActSignoffReject || ev.Target != "slot/2" {
		t.Fatalf("the request for changes recorded %d %s %s", ev.Seq, ev.Action, ev.Target)
	}
	wantCode(t, db.Reject(ctx, d.ID, slotGoPM, "Me too.", other, "web"), signoff.ECONFLICT)
	_, err := signAs(db, d, slotGoPM, other)
	wantCode(t, err, signoff.ECONFLICT)
	wantCode(t, db.Withdraw(ctx, d.ID, slotGoPM, other, "web"), signoff.EFORBIDDEN)
	g, err := db.GoLive(ctx, reload(t, db, d))
	if err != nil || len(g.Waiting) != 2 || !strings.Contains(g.Waiting[1], "changes requested by Priya Product") {
		t.Fatalf("go-live with a request for changes: %+v, %v", g, err)
	}

	if err := db.Withdraw(ctx, d.ID, slotGoPM, team.pm, "web"); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, db, d.ID); ev.Action != signoff.ActSignoffWithdraw || ev.Seq != seq+2 {
		t.Fatalf("the withdrawal recorded %d %s", ev.Seq, ev.Action)
	}
	// Made again, it ends with its maker's signature.
	if err := db.Reject(ctx, d.ID, slotGoPM, "One more look.", team.pm, "web"); err != nil {
		t.Fatal(err)
	}
	mustSign(t, db, d, slotGoPM, team.pm)
	slots, err := db.Slots(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rj := slots[slotGoPM-1].Rejection; rj != nil {
		t.Fatalf("a request for changes stands after its maker signed: %+v", rj)
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM signoff_rejections WHERE deployment_id = $1 AND end_reason = 'signed'`, d.ID); n != 1 {
		t.Fatalf("%d requests ended by a signature, want 1", n)
	}
	checkChain(t, db, d.ID)
}
