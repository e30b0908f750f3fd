package audit_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"image/png"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/signoff"
)

func TestCSV(t *testing.T) {
	t.Parallel()
	_, rec := signedDeployment(t, audittest.Options{})
	var buf bytes.Buffer
	if err := audit.CSV(&buf, rec); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(rec.Events)+1 || strings.Join(rows[0], ",") != strings.Join(audit.CSVHeader, ",") {
		t.Fatalf("%d rows, header %v; want %d events", len(rows), rows[0], len(rec.Events))
	}
	last := rows[len(rows)-1]
	if last[6] != signoff.ActSignoffSign || last[4] != "Rachel Kim" || last[11] != hex.EncodeToString(rec.Events[len(rec.Events)-1].Hash) {
		t.Fatalf("last row %v", last)
	}
	// An N/A reason that a spreadsheet would run as a formula arrives
	// inside the after JSON, which starts with "{": harmless. A cell that
	// starts with one is defused.
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Fatalf("cell %q starts a formula", cell)
			}
		}
	}
	for in, want := range map[string]string{"=1+2": "'=1+2", "+cmd": "'+cmd", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)",
		"\t=1": "'\t=1", "plain": "plain", "": ""} {
		if got := audit.SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q; want %q", in, got, want)
		}
	}
	// An actor whose name is a formula is defused in the CSV.
	rec.Events[0].Payload = strings.Replace(rec.Events[0].Payload, `"name":"Alice Chen"`, `"name":"=cmd|' /C calc'!A0"`, 1)
	buf.Reset()
	if err := audit.CSV(&buf, rec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `'=cmd|`) {
		t.Fatalf("formula name not defused:\n%s", buf.String()[:400])
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	_, rec := signedDeployment(t, audittest.Options{})
	var buf bytes.Buffer
	if err := audit.Markdown(&buf, rec, exportTime); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{
		"# VoxFlow Production Deployment Checklist\n",
		"- [x] **Production server provisioned** with adequate resources\n",
		"  - [x] CPU: Minimum 4 cores, recommended 8+ cores — done by ",
		"  - [x] High availability configured (if required) — N/A: " + checklist.Escape(formulaNA) + " (",
		"- **Deployment Engineer**: Alice Chen Date: ",
		"— “I approve this deployment as Deployment Engineer\\.” Checklist SHA-256 `",
		"- **CTO/Technical Director**: Rachel Kim Date: ",
		"**Deployment Date**: 2026\\-11\\-20\n",
		"**Special Considerations**: \n" + checklist.Escape(unicodeNote) + "\n",
		"> **Deployment ",
		"**Lessons Learned**: \n_____",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	if strings.Contains(md, "- [ ]") {
		t.Error("a completed deployment's Markdown has an open item")
	}
	// Take out what the export adds and the template's own bytes are left.
	if !strings.HasPrefix(md, "# VoxFlow Production Deployment Checklist\n\n> **Deployment") ||
		!strings.Contains(md, "\n---\n\nThis checklist should be completed for every production deployment.") {
		t.Errorf("the export is not the template's Markdown filled in:\n%s", md[:300])
	}
	// It is still a task list the importer reads, with every item (the
	// filled sign-off lines are no longer blank slots).
	tpl, err := checklist.Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("the Markdown export does not parse: %v", err)
	}
	if c := tpl.Counts(); c.Items != 222 {
		t.Fatalf("the Markdown export parses to %d items", c.Items)
	}
}

// pdfTools fails the test, rather than skipping it, when poppler-utils is
// missing: the PDF must be seen to render.
func pdfTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"pdftoppm", "pdftotext"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install poppler-utils (apt-get install poppler-utils) to test the PDF export", tool)
		}
	}
}

func TestPDFRenders(t *testing.T) {
	t.Parallel()
	pdfTools(t)
	_, rec := signedDeployment(t, audittest.Options{})
	d, cl := rec.Deployment, rec.Checklist
	var done, na *signoff.Item
	for i := range cl.Items {
		it := &cl.Items[i]
		switch {
		case it.HasChildren:
		case done == nil && it.State == signoff.ItemDone:
			done = it
		case na == nil && it.State == signoff.ItemNA:
			na = it
		}
	}
	head := hex.EncodeToString(rec.Events[len(rec.Events)-1].Hash)
	for _, core := range []bool{false, true} {
		pages := renderPDF(t, rec, core)
		arrow, emoji := "Index build → ~6 min on prod ?", "?"
		if core {
			arrow = "Index build -> ~6 min on prod ?"
		}
		// The header, on the first page: service, environment, version and
		// the dates.
		for _, want := range []string{
			"VoxFlow Production Deployment Checklist Deployment record · exported " + human(exportTime),
			"Service voxflow-api Environment production Version v2.4.0 Status Completed",
			"Template VoxFlow Production Deployment Checklist, version 1",
			"Created " + human(d.CreatedAt) + " by Alice Chen",
			"Completed " + human(*d.CompletedAt) + " Locked " + human(*d.LockedAt),
		} {
			if !strings.Contains(pages[0], want) {
				t.Errorf("core font %v: page 1 lacks %q:\n%s", core, want, pages[0])
			}
		}
		// Items: who resolved each and when, and the N/A reason.
		text := pages.all()
		for _, want := range []string{
			"Done · by " + done.StateBy.Name + ", " + human(*done.StateAt),
			`N/A: =HYPERLINK("http://evil.example","click") not needed ` + emoji + " · by " + na.StateBy.Name + ", " + human(*na.StateAt),
			"Production server provisioned", "Rachel Kim", "Dana Whitfield",
			"I approve this deployment as CTO/Technical Director.", "Deployment Sign-off", "Technical Sign-off", arrow,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("core font %v: the PDF's text lacks %q", core, want)
			}
		}
		// The last page ties the paper to the signed record: the whole head
		// hash and the key's fingerprint, each on one line.
		last := pages.last()
		for _, want := range []string{"Checkpoint", "Audit events " + strconv.Itoa(len(rec.Events)),
			"Head SHA-256 " + head, "Key fingerprint " + testSigner.Fingerprint()} {
			if !strings.Contains(last, want) {
				t.Errorf("core font %v: the last page (%d of %d) lacks %q:\n%s", core, len(pages), len(pages), want, last)
			}
		}
	}
}

// nonWhite counts the pixels of a PNG that are not white.
func nonWhite(t *testing.T, file string) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				n++
			}
		}
	}
	return n
}

// Whatever text people type, the PDF is made: emoji, control characters,
// invalid UTF-8, right-to-left and CJK script degrade, never fail.
func TestPDFSurvivesAnyText(t *testing.T) {
	t.Parallel()
	_, rec := signedDeployment(t, audittest.Options{})
	nasty := "😀🚀 \x01\x7f\u202e RTL \u05e9\u05dc\u05d5\u05dd 漢字 \xff\xfe \uFFFD\t→ ✓ " + strings.Repeat("long-word-", 40)
	rec.Deployment.Service = nasty
	rec.Checklist.Notes[2].Value = nasty
	rec.Checklist.Items[1].NAReason = nasty
	rec.Checklist.Items[1].State = signoff.ItemNA
	rec.Checklist.Items[1].Evidence = strings.Repeat(nasty, 50)
	for _, core := range []bool{false, true} {
		if err := audit.PDF(io.Discard, rec, exportTime, audit.PDFOptions{CoreFont: core}); err != nil {
			t.Fatalf("core font %v: %v", core, err)
		}
	}
}

func TestBulkZip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, first := signedDeployment(t, audittest.Options{Fast: true})
	team := audittest.Team{}
	for _, role := range audittest.Roles {
		users, _ := db.Users(ctx)
		for _, u := range users {
			if u.HasRole(role) {
				team[role] = u
			}
		}
	}
	// Two more completed, one left unsigned (not in the ZIP), one staging.
	if _, err := audittest.Completed(ctx, db, team, audittest.Options{Service: "billing-worker", Environment: "production", Version: "v0.9.1", Fast: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := audittest.Completed(ctx, db, team, audittest.Options{Service: "voxflow-web", Environment: "staging", Version: "v1.2.0", Fast: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := audittest.Completed(ctx, db, team, audittest.Options{Service: "voxflow-web", Environment: "production", Version: "v1.3.0", Fast: true, Unsigned: true}); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	n, err := audit.WriteBulk(ctx, &buf, db, signoff.DeploymentFilter{Environment: "production"}, testSigner, exportTime)
	if err != nil || n != 2 {
		t.Fatalf("WriteBulk = %d, %v; want 2 deployments", n, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
		names = append(names, f.Name)
	}
	base := audit.FileBase(first.Deployment)
	want := []string{base + ".json", base + ".pdf", base + ".csv"}
	if len(names) != 7 || names[6] != "manifest.json" || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Fatalf("files %v", names)
	}
	var m audit.Manifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.Deployments != 2 || len(m.Files) != 6 || m.Filter.Environment != "production" || m.KeyFingerprint != testSigner.Fingerprint() {
		t.Fatalf("manifest %+v", m)
	}
	for _, mf := range m.Files {
		sum := sha256.Sum256(files[mf.Name])
		if hex.EncodeToString(sum[:]) != mf.SHA256 || int64(len(files[mf.Name])) != mf.Size {
			t.Fatalf("%s: manifest sha256/size do not match the file", mf.Name)
		}
		if strings.HasSuffix(mf.Name, ".json") {
			mustVerify(t, files[mf.Name], testSigner.Public())
		}
	}
}

// TestMarkdownEscapesValues: what people typed cannot become structure in
// the Markdown export: no forged heading, box, link or HTML.
func TestMarkdownEscapesValues(t *testing.T) {
	t.Parallel()
	_, rec := signedDeployment(t, audittest.Options{})
	d := *rec.Deployment
	d.Service = "api\n## Forged phase\n- [x] forged item"
	rec.Deployment = &d
	cl := *rec.Checklist
	cl.Notes = append([]signoff.Note(nil), cl.Notes...)
	cl.Notes[0].Value = "2026-11-20\n# Forged title"
	cl.Notes[2].Value = "fine\n\n- [ ] forged box\n<script>alert(1)</script>\n[x](javascript:alert(1))"
	rec.Checklist = &cl
	var buf bytes.Buffer
	if err := audit.Markdown(&buf, rec, exportTime); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, forged := range []string{"\n## Forged", "\n# Forged", "- [x] forged", "- [ ] forged", "<script>", "](javascript:"} {
		if strings.Contains(md, forged) {
			t.Errorf("the export holds %q", forged)
		}
	}
	tpl, err := checklist.Parse(buf.Bytes())
	if err != nil || tpl.Counts().Items != 222 {
		t.Fatalf("the export reads as %v items, %v", tpl.Counts().Items, err)
	}
	if strings.Contains(checklist.HTML(buf.Bytes()), "<script") {
		t.Error("the export renders a script")
	}
}

// TestSealIsTheCanonicalEncoding: the sealed file, made from the record's
// canonical form with the checkpoint put in front, is exactly the
// canonical encoding of the whole document.
func TestSealIsTheCanonicalEncoding(t *testing.T) {
	t.Parallel()
	_, rec := signedDeployment(t, audittest.Options{Fast: true, Notes: map[int]string{3: unicodeNote}})
	doc, err := audit.Build(rec, exportTime)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Version == 1 {
		t.Skip("version 1 records are not canonical")
	}
	sealed, err := audit.Seal(doc, testSigner, doc.ExportedAt)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := audit.Encode(doc) // doc now has its checkpoint
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sealed, whole) {
		t.Fatalf("sealed %d bytes differ from the canonical encoding's %d", len(sealed), len(whole))
	}
	mustVerify(t, sealed, testSigner.Public())
}
