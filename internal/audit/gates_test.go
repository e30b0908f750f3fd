package audit_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// gatedRecord runs the gated template the docs show through the store: a
// request for changes on the go/no-go gate, withdrawn; the gate signed;
// the items below it changed (the gate stays signed); the verification
// gate signed, then an item above it changed (it goes stale).
func gatedRecord(t *testing.T, db *postgres.DB) *signoff.Record {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.ReadFile("../../docs/examples/gated-release.md")
	must(err)
	tpl, _, err := db.ImportTemplate(ctx, src, "", signoff.EventActor{Name: "test", Via: "cli"})
	must(err)
	team := teamOf(t, db)
	d, err := db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: tpl.Slug, Service: "gated", Environment: "production", Version: "v1"},
		team.As("Deployment Engineer"))
	must(err)
	items, err := db.Items(ctx, d.ID, "")
	must(err)
	tick := func(i int, state signoff.ItemState) {
		t.Helper()
		_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: items[i].Path, State: state}, team.As("Deployment Engineer"))
		must(err)
	}
	sign := func(slot int, role string) {
		t.Helper()
		_, err := db.Sign(ctx, postgres.SignInput{DeploymentID: d.ID, Slot: slot, UserID: team[role].ID, Password: audittest.Password, Via: "web"})
		must(err)
	}
	for i := range 3 {
		tick(i, signoff.ItemDone)
	}
	must(db.Reject(ctx, d.ID, 2, "Change ticket not linked", team["Product Manager"], "web"))
	must(db.Withdraw(ctx, d.ID, 2, team["Product Manager"], "web"))
	sign(1, "Deployment Engineer")
	sign(2, "Product Manager")
	tick(3, signoff.ItemDone)
	tick(4, signoff.ItemDone)
	sign(3, "Security Engineer")
	tick(4, signoff.ItemOpen)
	rec, err := db.SignedRecord(ctx, d.ID)
	must(err)
	return rec
}

// A gated record's slots say which gates stand and which went stale, the
// requests for changes are listed, and it verifies.
func TestGatedRecordVerifies(t *testing.T) {
	t.Parallel()
	db, _ := signedDeployment(t, audittest.Options{Fast: true})
	rec := gatedRecord(t, db)
	e := exportAll(t, rec)
	file := e.json
	// The Markdown export fills the gates' blanks where they stand.
	if !strings.Contains(e.md, "- **Deployment Engineer**: ") || !strings.Contains(e.md, "## Go/No-Go") ||
		strings.Index(e.md, "## Go/No-Go") > strings.Index(e.md, "## Execution") {
		t.Errorf("the Markdown export of a gated deployment:\n%s", e.md)
	}
	if !strings.Contains(e.pdf.all(), "Go/No-Go") {
		t.Error("the PDF does not name the go/no-go gate")
	}
	mustVerify(t, file, testSigner.Public())
	doc := parse(t, file)
	var states []string
	for _, s := range doc.Slots {
		states = append(states, s.State)
	}
	if want := []string{"signed", "signed", "stale", "unsigned", "unsigned"}; len(states) != 5 ||
		states[0] != want[0] || states[1] != want[1] || states[2] != want[2] || states[3] != want[3] {
		t.Fatalf("slot states %v, want %v", states, want)
	}
	if len(doc.Rejections) != 1 || doc.Rejections[0].Status != "withdrawn" || doc.Rejections[0].Comment != "Change ticket not linked" ||
		doc.Rejections[0].EndedAt == nil {
		t.Fatalf("rejections %+v", doc.Rejections)
	}
	// The slot states are backed by the events: edited and signed again,
	// the record no longer verifies.
	edited := parse(t, file)
	edited.Slots[2].State = "signed"
	if _, err := audit.Verify(reseal(t, edited, testSigner), testSigner.Public()); err == nil {
		t.Fatal("a stale gate edited to signed verified")
	}
	edited = parse(t, file)
	edited.Rejections[0].Status = "standing"
	if _, err := audit.Verify(reseal(t, edited, testSigner), testSigner.Public()); err == nil {
		t.Fatal("a withdrawn request edited to standing verified")
	}
}
