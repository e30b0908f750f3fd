package audit_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// The lifecycle deployment's particulars.
const (
	changedItem  = "1.1.1.1" // CPU: changed again and again after two signatures
	evidenceItem = "1.1.3.2" // SSL certificates obtained and installed
	commentItem  = "1.1.2.3" // Database connection tested
	fileText     = "-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n"
	revokeReason = "1.1.1.1 was reopened after the CPU alarm; I sign again once it is re-checked"
	evidenceText = "./verify-deployment.sh: 14 checks passed"
	commentText  = "Connection pool at 40, as agreed with the DBA"
)

var plannedAt = time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)

// lifecycleRun is a deployment that went through everything an export must
// tell, and its record at two moments.
type lifecycleRun struct {
	db   *postgres.DB
	team audittest.Team
	// stale is the record while the first two signatures were stale.
	stale *signoff.Record
	// final is the record once completed: the first signature revoked
	// (with a reason) and given again, the second replaced by a new one,
	// slots 3 and 4 signed by one person while an admin allowed it (and
	// the setting turned off again before the export).
	final *signoff.Record
}

// lifecycle builds that deployment through the store: planned, items
// resolved, gone live, a comment and evidence, two signatures, then the
// changed item unticked, ticked, marked N/A and ticked again (the two
// signatures go stale), a revocation with a reason, signatures given again,
// and the rest signed, final approval last.
var filePNG = append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)

func lifecycle(t *testing.T) *lifecycleRun {
	t.Helper()
	ctx := context.Background()
	db, _ := signedDeployment(t, audittest.Options{Fast: true})
	team := teamOf(t, db)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	planned := plannedAt
	d, err := audittest.Completed(ctx, db, team, audittest.Options{Service: "voxflow-api", Environment: "staging", Version: "v2.5.0-rc.1",
		PlannedAt: &planned, Unsigned: true, Notes: map[int]string{1: "2026-11-20"}})
	must(err)
	_, err = db.SetStatus(ctx, d.ID, signoff.StatusLive, "", team.As("DevOps Lead"))
	must(err)
	_, err = db.AddComment(ctx, d.ID, commentItem, commentText, team.As("DevOps Lead"))
	must(err)
	_, err = db.SetEvidence(ctx, d.ID, evidenceItem, evidenceText, team.As("Deployment Engineer"))
	must(err)
	// Evidence files and assignments: their events are in the record, the
	// files in the bulk ZIP.
	_, err = db.AddFile(ctx, d.ID, evidenceItem, postgres.Upload{Name: "cert-chain.txt", Data: []byte(fileText)}, team.As("Deployment Engineer"))
	must(err)
	_, err = db.AddCommentWithFile(ctx, d.ID, commentItem, "Screenshot of the pool.", postgres.Upload{Name: "pool.png", Data: filePNG}, team.As("DevOps Lead"))
	must(err)
	_, err = db.Assign(ctx, d.ID, commentItem, postgres.AssignTo{User: team["DevOps Lead"].ID}, team.As("DevOps Lead"))
	must(err)
	_, err = db.Assign(ctx, d.ID, "1.1", postgres.AssignTo{}, team.As("DevOps Lead"))
	must(err)
	sign := func(slot int, role string) {
		t.Helper()
		_, err := db.Sign(ctx, postgres.SignInput{DeploymentID: d.ID, Slot: slot, UserID: team[role].ID,
			Password: audittest.Password, Via: "web"})
		must(err)
	}
	// A request for changes withdrawn, and one ended by its maker's
	// signature.
	must(db.Reject(ctx, d.ID, 1, "Rollback plan missing", team["Deployment Engineer"], "web"))
	must(db.Withdraw(ctx, d.ID, 1, team["Deployment Engineer"], "web"))
	must(db.Reject(ctx, d.ID, 2, "Backup not verified yet", team["Database Administrator"], "web"))
	sign(1, "Deployment Engineer")
	sign(2, "Database Administrator")
	for _, c := range []struct {
		state  signoff.ItemState
		reason string
		role   string
	}{
		{signoff.ItemOpen, "", "Security Engineer"},
		{signoff.ItemDone, "", "DevOps Lead"},
		{signoff.ItemNA, "Single-core canary host", "Deployment Engineer"},
		{signoff.ItemDone, "", "Security Engineer"},
	} {
		_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: changedItem, State: c.state, NAReason: c.reason}, team.As(c.role))
		must(err)
	}
	run := &lifecycleRun{db: db, team: team}
	run.stale, err = db.SignedRecord(ctx, d.ID)
	must(err)

	must(db.Revoke(ctx, d.ID, 1, revokeReason, team["Deployment Engineer"], "web"))
	sign(1, "Deployment Engineer")
	sign(2, "Database Administrator") // replaces the stale signature
	// Marcus Lee, DevOps Lead, also stands in as Security Engineer, which
	// an admin allows for the time it takes.
	admin := signoff.EventActor{Name: "Admin", Via: "web"}
	must(db.GrantRole(ctx, team["DevOps Lead"].ID, "Security Engineer", admin))
	must(db.SetAllowMultipleSlots(ctx, audittest.SeedSlug, true, admin))
	_, err = db.Sign(ctx, postgres.SignInput{DeploymentID: d.ID, Slot: 3, UserID: team["DevOps Lead"].ID,
		Password: audittest.Password, Via: "web"})
	must(err)
	sign(4, "DevOps Lead")
	must(db.SetAllowMultipleSlots(ctx, audittest.SeedSlug, false, admin))
	for slot, role := range audittest.Roles[4:] {
		sign(slot+5, role)
	}
	run.final, err = db.SignedRecord(ctx, d.ID)
	must(err)
	if !run.final.Deployment.Locked() {
		t.Fatalf("the lifecycle deployment ended %s, not locked", run.final.Deployment.Status)
	}
	return run
}

// exports is one record in every format.
type exports struct {
	json []byte
	doc  *audit.Document
	csv  [][]string
	pdf  pdfPages
	md   string
}

func exportAll(t *testing.T, rec *signoff.Record) exports {
	t.Helper()
	var e exports
	e.json = exportJSON(t, rec)
	mustVerify(t, e.json, testSigner.Public())
	sameAsBulk(t, rec, e.json)
	e.doc = parse(t, e.json)
	var buf bytes.Buffer
	if err := audit.CSV(&buf, rec); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	e.csv = rows
	e.pdf = renderPDF(t, rec, false)
	buf.Reset()
	if err := audit.Markdown(&buf, rec, exportTime); err != nil {
		t.Fatal(err)
	}
	e.md = buf.String()
	return e
}

// statuses lists the sign-offs as "slot:status".
func statuses(doc *audit.Document) string {
	var out []string
	for _, so := range doc.Signoffs {
		out = append(out, so.Role+":"+so.Status)
	}
	return strings.Join(out, ", ")
}

func TestExportsAfterStaleRevokedAndResignedSignatures(t *testing.T) {
	t.Parallel()
	pdfTools(t)
	run := lifecycle(t)

	// While the two signatures are stale.
	e := exportAll(t, run.stale)
	if got := statuses(e.doc); got != "Deployment Engineer:stale, Database Administrator:stale" {
		t.Fatalf("stale export: sign-offs %s", got)
	}
	if s := e.doc.Slots; s[0].State != "stale" || s[1].State != "stale" || s[2].State != "unsigned" || s[0].SignoffSeq == nil {
		t.Fatalf("stale export: slots %+v", s[:3])
	}
	if !strings.Contains(e.pdf.all(), "(stale: the checklist changed after it)") {
		t.Error("stale export: the PDF does not call the signatures stale")
	}
	if !strings.Contains(e.md, "- **Deployment Engineer**: Alice Chen (stale: the checklist changed after this signature) Date: ") {
		t.Error("stale export: the Markdown does not call the signature stale")
	}

	// Completed: every signature ever given, in order, with what became of it.
	e = exportAll(t, run.final)
	want := "Deployment Engineer:revoked, Database Administrator:superseded, Deployment Engineer:standing, " +
		"Database Administrator:standing, Security Engineer:standing, DevOps Lead:standing, Product Manager:standing, " +
		"Engineering Manager:standing, Operations Manager:standing, CTO/Technical Director:standing"
	if got := statuses(e.doc); got != want {
		t.Fatalf("sign-offs\n got %s\nwant %s", got, want)
	}
	revoked, replaced := e.doc.Signoffs[0], e.doc.Signoffs[1]
	if revoked.EndReason != revokeReason || revoked.EndedBy == nil || revoked.EndedBy.Name != "Alice Chen" || revoked.EndedAt == nil {
		t.Errorf("revoked sign-off %+v", revoked)
	}
	if replaced.EndReason != "superseded" || replaced.EndedBy == nil || replaced.EndedBy.Name != "Dana Whitfield" ||
		*replaced.EndedAt != e.doc.Signoffs[3].SignedAt {
		t.Errorf("replaced sign-off %+v; its successor was signed at %s", replaced, e.doc.Signoffs[3].SignedAt)
	}
	for _, s := range e.doc.Slots {
		if s.State != "signed" || s.SignoffSeq == nil {
			t.Errorf("slot %d (%s) is %s", s.Position, s.Role, s.State)
		}
	}
	// The changed item: resolved once, then four more changes, each with
	// its author.
	var item *audit.Item
	for i := range e.doc.Items {
		if e.doc.Items[i].Path == changedItem {
			item = &e.doc.Items[i]
		}
	}
	var hist []string
	for _, h := range item.History {
		hist = append(hist, h.State+" by "+h.Actor.Name)
	}
	wantHist := "done by Dana Whitfield, open by Sam Patel, done by Marcus Lee, na by Alice Chen, done by Sam Patel"
	if got := strings.Join(hist, ", "); got != wantHist {
		t.Errorf("history of %s:\n got %s\nwant %s", changedItem, got, wantHist)
	}
	if item.State != "done" || item.StateBy == nil || item.StateBy.Name != "Sam Patel" || *item.StateAt != item.History[4].At {
		t.Errorf("item %s: %s by %+v at %v", changedItem, item.State, item.StateBy, item.StateAt)
	}
	if e.doc.Deployment.ChecklistRev != int64(len(e.doc.Items)-countParents(e.doc)+4+1) {
		t.Errorf("checklist_rev %d", e.doc.Deployment.ChecklistRev)
	}

	// CSV: every event, the item's five changes, the revocation and its reason.
	if len(e.csv) != len(run.final.Events)+1 {
		t.Fatalf("CSV has %d rows for %d events", len(e.csv), len(run.final.Events))
	}
	count := map[string]int{}
	for _, row := range e.csv[1:] {
		count[row[6]+" "+row[7]]++
		if row[6] == signoff.ActSignoffRevoke && !strings.Contains(row[9], revokeReason) {
			t.Errorf("CSV revocation row lacks the reason: %v", row)
		}
	}
	if count["item.state item/"+changedItem] != 5 || count["signoff.revoke slot/1"] != 1 || count["signoff.sign slot/1"] != 2 ||
		count["signoff.sign slot/2"] != 2 || count["item.comment item/"+commentItem] != 2 || count["item.evidence item/"+evidenceItem] != 1 ||
		count["item.file item/"+evidenceItem] != 1 || count["item.assign item/"+commentItem] != 1 || count["item.assign section/1.1"] != 1 {
		t.Errorf("CSV event counts %v", count)
	}

	// PDF: the whole story of the signatures on the audit trail.
	text := e.pdf.all()
	for _, w := range []string{
		"Deployment Engineer — Alice Chen, " + human(run.final.Signatures[0].SignedAt) + " (revoked " + human(*run.final.Signatures[0].EndedAt) + " by Alice Chen: " + revokeReason + ")",
		"Database Administrator — Dana Whitfield, " + human(run.final.Signatures[1].SignedAt) + " (superseded " + human(*run.final.Signatures[1].EndedAt) + " by a new signature)",
		"CTO/Technical Director — Rachel Kim, " + human(run.final.Signatures[9].SignedAt) + " (standing)",
		"Done · by Sam Patel, " + human(parseTime(t, *item.StateAt)),
		"Evidence: " + evidenceText,
	} {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF lacks %q", w)
		}
	}
	// Markdown: the standing signatures in the sign-off block, the ended
	// ones quoted at the end, and still a template with every item.
	for _, w := range []string{
		"- **Deployment Engineer**: Alice Chen Date: " + human(run.final.Signatures[2].SignedAt) + "\n",
		"> - Deployment Engineer: Alice Chen, signed " + human(run.final.Signatures[0].SignedAt) + " (audit event " +
			itoa(run.final.Signatures[0].AuditSeq) + "), revoked " + human(*run.final.Signatures[0].EndedAt) + " by Alice Chen: " + checklist.Escape(revokeReason) + ";",
		"> - Database Administrator: Dana Whitfield, signed " + human(run.final.Signatures[1].SignedAt) + " (audit event " +
			itoa(run.final.Signatures[1].AuditSeq) + "), superseded " + human(*run.final.Signatures[1].EndedAt) + " by a new signature;",
	} {
		if !strings.Contains(e.md, w) {
			t.Errorf("the Markdown lacks %q", w)
		}
	}
	if tpl, err := checklist.Parse([]byte(e.md)); err != nil || tpl.Counts().Items != 222 {
		t.Errorf("the Markdown export no longer imports with every item: %v", err)
	}
}

// Whether one person could sign several slots is the template's setting
// when each signature was given, not when the file was made.
func TestExportsStateTheSlotRulePerSignature(t *testing.T) {
	t.Parallel()
	pdfTools(t)
	run := lifecycle(t)
	e := exportAll(t, run.final)

	var got []string
	for _, so := range e.doc.Signoffs {
		if so.MultipleSlotsAllowed {
			got = append(got, so.Role+" by "+so.PrintedName)
		}
	}
	if strings.Join(got, ", ") != "Security Engineer by Marcus Lee, DevOps Lead by Marcus Lee" {
		t.Fatalf("sign-offs given while several slots were allowed: %v", got)
	}
	if bytes.Contains(e.json, []byte("allow_multiple_slots")) {
		t.Error("the JSON still states the template's setting at export time")
	}

	const one, several = "slot rule when signed: one person signs at most one slot",
		"slot rule when signed: the template allowed one person to sign more than one slot"
	// PDF: under each signature in the sign-off block, and on each line of
	// the audit trail.
	text := e.pdf.all()
	if n := strings.Count(text, several); n != 4 {
		t.Errorf("the PDF says %d times that several slots were allowed; want 4 (two slots, two places):\n%s", n, text)
	}
	if n := strings.Count(text, one); n != 6+8 {
		t.Errorf("the PDF says %d times that one slot was the rule; want 14 (six standing signatures, eight trail lines)", n)
	}
	block, _, _ := strings.Cut(text[strings.Index(text, "Security Engineer:"):], "DevOps Lead:")
	if !strings.Contains(block, "Marcus Lee") || !strings.Contains(block, several) {
		t.Errorf("the PDF's Security Engineer slot does not say several slots were allowed:\n%s", block)
	}
	// Markdown: on each standing signature's line, and each ended one.
	for _, role := range []string{"Security Engineer", "DevOps Lead"} {
		line := lineStarting(e.md, "> - **"+role+"**: Marcus Lee, ")
		if !strings.HasSuffix(line, "; "+several+".") {
			t.Errorf("Markdown, %s: %q", role, line)
		}
	}
	line := lineStarting(e.md, "> - **Product Manager**: Priya Nair, ")
	if !strings.HasSuffix(line, "; "+one+".") {
		t.Errorf("Markdown, Product Manager: %q", line)
	}
	if n := strings.Count(e.md, one); n != 8 {
		t.Errorf("the Markdown states one slot per person %d times; want 8 (six standing, two ended)", n)
	}
}

// lineStarting is the line that starts with prefix.
func lineStarting(s, prefix string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func countParents(doc *audit.Document) int {
	n := 0
	for _, it := range doc.Items {
		if it.HasChildren {
			n++
		}
	}
	return n
}

// pdfPages is a PDF's text, page by page, as pdftotext -layout reads it,
// with every run of white space (line breaks and the gaps between
// columns included) made one space, so a wrapped line reads as one.
type pdfPages []string

func (p pdfPages) all() string  { return strings.Join(p, " ") }
func (p pdfPages) last() string { return p[len(p)-1] }

// renderPDF makes the record's PDF, checks it renders (its first page is
// not blank) and returns its text page by page (pdfinfo counts the pages;
// pdftotext -f N -l N reads each).
func renderPDF(t *testing.T, rec *signoff.Record, core bool) pdfPages {
	t.Helper()
	var buf bytes.Buffer
	if err := audit.PDF(&buf, rec, exportTime, audit.PDFOptions{Fingerprint: testSigner.Fingerprint(), CoreFont: core}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "deployment.pdf")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-r", "60", "-f", "1", "-l", "1", "-png", "-singlefile", file, filepath.Join(dir, "page1")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	if ink := nonWhite(t, filepath.Join(dir, "page1.png")); ink < 2000 {
		t.Fatalf("page 1 is blank: %d non-white pixels", ink)
	}
	info, err := exec.Command("pdfinfo", file).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, info)
	}
	n := 0
	for _, l := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(l, "Pages:"); ok {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if n < 2 {
		t.Fatalf("pdfinfo: %d pages\n%s", n, info)
	}
	pages := make(pdfPages, n)
	// One pdftotext run, pages split at form feeds, checked against the
	// page count; the last page is also read alone with -f/-l.
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", "-layout", file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	split := strings.Split(strings.TrimSuffix(string(out), "\f"), "\f")
	if len(split) != n {
		t.Fatalf("pdftotext gives %d pages; pdfinfo says %d", len(split), n)
	}
	for i, page := range split {
		pages[i] = strings.Join(strings.Fields(page), " ")
	}
	last, err := exec.Command("pdftotext", "-enc", "UTF-8", "-layout", "-f", itoa(int64(n)), "-l", itoa(int64(n)), file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext -f %d: %v\n%s", n, err, last)
	}
	if strings.Join(strings.Fields(string(last)), " ") != pages[n-1] {
		t.Fatalf("page %d read alone differs from the whole document's last page", n)
	}
	return pages
}

// human writes a time as the PDF and Markdown exports do.
func human(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The bulk ZIP carries a deployment's evidence files beside its record,
// each under the SHA-256 its event recorded.
func TestBulkZipCarriesEvidenceFiles(t *testing.T) {
	t.Parallel()
	run := lifecycle(t)
	var buf bytes.Buffer
	if _, err := audit.WriteBulk(context.Background(), &buf, run.db, signoff.DeploymentFilter{}, testSigner, exportTime); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{} // the SHA-256s the events hold
	for _, e := range run.final.Events {
		p, err := signoff.DecodeEvent([]byte(e.Payload))
		if err != nil {
			t.Fatal(err)
		}
		switch b := p.Body.(type) {
		case *signoff.ItemFileEvent:
			recorded[b.After.SHA256] = true
		case *signoff.ItemCommentEvent:
			if b.After.SHA256 != "" {
				recorded[b.After.SHA256] = true
			}
		}
	}
	found := 0
	for _, f := range zr.File {
		if !strings.Contains(f.Name, "/files/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		sum := sha256.Sum256(data)
		if !recorded[hex.EncodeToString(sum[:])] {
			t.Errorf("%s: SHA-256 %x is not one the record's events hold", f.Name, sum)
		}
		found++
	}
	if found != 2 || len(recorded) != 2 {
		t.Fatalf("%d files in the ZIP, %d recorded; want 2 and 2", found, len(recorded))
	}
}

// sameAsBulk: the files the bulk ZIP makes from one replay of the events
// are the bytes each export makes alone, and the whole replay's account
// of the signatures is the signatures-only replay's.
func sameAsBulk(t *testing.T, rec *signoff.Record, json []byte) {
	t.Helper()
	if !audit.SignatureFactsAgree(rec) {
		t.Error("the whole replay and the signatures-only replay tell the signatures apart")
	}
	opt := audit.PDFOptions{Fingerprint: testSigner.Fingerprint()}
	bj, bp, bc, err := audit.RecordFiles(rec, testSigner, exportTime, opt)
	if err != nil {
		t.Fatal(err)
	}
	var pdf, csv bytes.Buffer
	if err := audit.PDF(&pdf, rec, exportTime, opt); err != nil {
		t.Fatal(err)
	}
	if err := audit.CSV(&csv, rec); err != nil {
		t.Fatal(err)
	}
	// fpdf does not write the same PDF twice byte for byte (it walks maps);
	// what the page says of the signatures comes from the facts compared
	// above, so the length is held.
	if !bytes.Equal(bj, json) || len(bp) != pdf.Len() || !bytes.Equal(bc, csv.Bytes()) {
		t.Errorf("the bulk files differ from the exports made alone: JSON %v, PDF %d and %d bytes, CSV %v",
			bytes.Equal(bj, json), len(bp), pdf.Len(), bytes.Equal(bc, csv.Bytes()))
	}
}
