package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

const seedSlug = "voxflow-production-deployment-checklist"

var importer = signoff.EventActor{Name: "test", Via: "cli"}

// seedV2 is the seed with one more item, under the same title.
func seedV2(t *testing.T) []byte {
	t.Helper()
	src := string(checklist.Seed)
	v2 := strings.Replace(src, "### Code and Dependencies\n", "### Code and Dependencies\n- [ ] **Changelog written** for this release\n", 1)
	if v2 == src {
		t.Fatal("could not change the seed")
	}
	return []byte(v2)
}

// templateRows counts what a template import stores.
func templateRows(t *testing.T, db *postgres.DB) [3]int64 {
	t.Helper()
	return [3]int64{
		sqlInt(t, db, `SELECT count(*) FROM templates`),
		sqlInt(t, db, `SELECT count(*) FROM template_versions`),
		sqlInt(t, db, `SELECT seq FROM audit_system_chain`),
	}
}

func TestTemplateImportOfTheSameFileIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t) // has imported the seed once
	before := templateRows(t, db)
	if before[0] != 1 || before[1] != 1 {
		t.Fatalf("after EnsureTemplate: %d templates, %d versions", before[0], before[1])
	}
	latest, err := db.LatestTemplate(ctx, seedSlug)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		tmpl, created, err := db.ImportTemplate(ctx, checklist.Seed, "", importer)
		if err != nil {
			t.Fatal(err)
		}
		if created || tmpl.Version != 1 || tmpl.ID != latest.ID || tmpl.Slug != seedSlug {
			t.Fatalf("re-import: created %v version %d id %d (latest id %d)", created, tmpl.Version, tmpl.ID, latest.ID)
		}
	}
	if after := templateRows(t, db); after != before {
		t.Fatalf("re-import stored something: %v → %v", before, after)
	}
	c := latest.Counts()
	if c.Items != 222 || c.Slots != 8 || c.Notes != 6 || c.Phases != 6 || c.Sections != 19 {
		t.Fatalf("seed counts = %+v", c)
	}
}

func TestTemplateConcurrentImportsOfANewFileMakeOneVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDBWith(t, postgres.Options{MaxConns: 8})
	var created [4]bool
	fns := make([]func() error, len(created))
	for i := range fns {
		fns[i] = func() (err error) {
			_, created[i], err = db.ImportTemplate(ctx, []byte(smallTemplate), "", importer)
			return err
		}
	}
	for _, err := range together(fns...) {
		if err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, c := range created {
		if c {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d imports report creating the template; want 1", n)
	}
	if v := sqlInt(t, db, `SELECT count(*) FROM template_versions v JOIN templates t ON t.id = v.template_id WHERE t.slug = $1`, smallSlug); v != 1 {
		t.Fatalf("%d versions; want 1", v)
	}
	checkChain(t, db, 0)
}

func TestTemplateChangedFileMakesANewVersionAndDeploymentsKeepTheirs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d1 := newDeployment(t, db, alice)
	tick(t, db, d1, "1.1.1.1", signoff.ItemDone, alice)

	tmpl, created, err := db.ImportTemplate(ctx, seedV2(t), "", importer)
	if err != nil {
		t.Fatal(err)
	}
	if !created || tmpl.Version != 2 || tmpl.Slug != seedSlug || tmpl.Counts().Items != 223 {
		t.Fatalf("changed import: created %v version %d slug %s items %d", created, tmpl.Version, tmpl.Slug, tmpl.Counts().Items)
	}
	ev := lastEvent(t, db, 0)
	if ev.Action != signoff.ActTemplateImport || ev.Target != "template/"+seedSlug || !strings.Contains(ev.Payload, `"version":2`) {
		t.Fatalf("import event = %+v", ev)
	}
	if n := sqlInt(t, db, `SELECT count(*) FROM templates`); n != 1 {
		t.Fatalf("%d templates; a new version must not make a new template", n)
	}

	d2 := newDeployment(t, db, alice)
	if d2.TemplateVersion != 2 || d1.TemplateVersion != 1 {
		t.Fatalf("versions: old deployment %d, new deployment %d", d1.TemplateVersion, d2.TemplateVersion)
	}
	cl1, err := db.Checklist(ctx, reload(t, db, d1))
	if err != nil {
		t.Fatal(err)
	}
	cl2, err := db.Checklist(ctx, d2)
	if err != nil {
		t.Fatal(err)
	}
	if len(cl1.Items) != 222 || cl1.Template.Version != 1 || len(cl2.Items) != 223 || cl2.Template.Version != 2 {
		t.Fatalf("old deployment %d items (v%d), new %d items (v%d)", len(cl1.Items), cl1.Template.Version, len(cl2.Items), cl2.Template.Version)
	}
	// The old deployment's items are untouched, state included.
	if it := cl1.Item("1.1.1.1"); it == nil || it.State != signoff.ItemDone || it.Text != "CPU: Minimum 4 cores, recommended 8+ cores" {
		t.Fatalf("old deployment item 1.1.1.1 = %+v", it)
	}
	if it := cl2.Item("1.3.1"); it == nil || !strings.Contains(it.Text, "Changelog written") {
		t.Fatalf("new deployment item 1.3.1 = %+v", it)
	}
	if it := cl1.Item("1.3.1"); it == nil || strings.Contains(it.Text, "Changelog") {
		t.Fatalf("old deployment item 1.3.1 = %+v", it)
	}
	// Importing v1 again is a change from v2: version 3.
	tmpl, created, err = db.ImportTemplate(ctx, checklist.Seed, "", importer)
	if err != nil || !created || tmpl.Version != 3 {
		t.Fatalf("re-importing v1 over v2: created %v version %d, %v", created, tmpl.Version, err)
	}
}

func TestTemplateMalformedMarkdownIsRefusedNamingTheLine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	before := templateRows(t, db)
	for _, tc := range []struct{ src, line string }{
		{"# Release\n\n## Steps\n- [ ] Build\n  - [ ] a\n    - [ ] b\n      - [ ] Nested too far\n", "line 7"},
		{"# Release\n\n## Steps\n- [ ] Bad \xff byte\n", "line 4"},
		{"# Release\n\nNo items at all.\n", "line 1"},
		{"# Release\n\n## Steps\n- [ ] Build\n- [ ] NUL \x00 byte\n", "line 5"},
		{"# Release\n\n## Steps\n- [ ]\n", "line 4"},
	} {
		_, _, err := db.ImportTemplate(ctx, []byte(tc.src), "", importer)
		wantCode(t, err, signoff.EINVALID)
		if msg := signoff.ErrorMessage(err); !strings.HasPrefix(msg, tc.line+":") {
			t.Errorf("message %q; want it to start with %q", msg, tc.line)
		}
	}
	// A name that is not a slug is refused too.
	_, _, err := db.ImportTemplate(ctx, []byte(smallTemplate), "Not A Slug", importer)
	wantCode(t, err, signoff.EINVALID)
	if after := templateRows(t, db); after != before {
		t.Fatalf("refused imports stored something: %v → %v", before, after)
	}
}

func TestTemplateEnsureDoesNotOverrideAnAdminsNewerVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	if _, _, err := db.ImportTemplate(ctx, seedV2(t), "", importer); err != nil {
		t.Fatal(err)
	}
	before := templateRows(t, db)
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	if after := templateRows(t, db); after != before {
		t.Fatalf("EnsureTemplate stored something: %v → %v", before, after)
	}
	latest, err := db.LatestTemplate(ctx, seedSlug)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Version != 2 || latest.Counts().Items != 223 {
		t.Fatalf("latest after EnsureTemplate: version %d, %d items", latest.Version, latest.Counts().Items)
	}
}

func TestTemplateLatestBySlugAndByTitle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	if _, _, err := db.ImportTemplate(ctx, seedV2(t), "", importer); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{seedSlug, "VoxFlow Production Deployment Checklist", "voxflow production deployment checklist", "  " + seedSlug + " "} {
		tmpl, err := db.LatestTemplate(ctx, name)
		if err != nil {
			t.Fatalf("LatestTemplate(%q): %v", name, err)
		}
		if tmpl.Slug != seedSlug || tmpl.Version != 2 {
			t.Fatalf("LatestTemplate(%q) = %s v%d", name, tmpl.Slug, tmpl.Version)
		}
	}
	_, err := db.LatestTemplate(ctx, "no-such-template")
	wantCode(t, err, signoff.ENOTFOUND)
	_, err = db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: "no-such-template", Service: "s", Environment: "e", Version: "v"}, importer)
	wantCode(t, err, signoff.ENOTFOUND)

	// A slug wins over another template's title.
	alpha := strings.Replace(smallTemplate, "# Small Release Checklist", "# Alpha", 1)
	beta := strings.Replace(smallTemplate, "# Small Release Checklist", "# Small Release Checklist Alpha", 1)
	if _, _, err := db.ImportTemplate(ctx, []byte(alpha), "", importer); err != nil {
		t.Fatal(err)
	}
	betaTmpl, _, err := db.ImportTemplate(ctx, []byte(beta), "beta", importer)
	if err != nil {
		t.Fatal(err)
	}
	if betaTmpl.Slug != "beta" {
		t.Fatalf("explicit slug ignored: %s", betaTmpl.Slug)
	}
	if tmpl, err := db.LatestTemplate(ctx, "alpha"); err != nil || tmpl.Title != "Alpha" {
		t.Fatalf("LatestTemplate(alpha) = %+v, %v", tmpl, err)
	}
	if tmpl, err := db.LatestTemplate(ctx, "Small Release Checklist Alpha"); err != nil || tmpl.Slug != "beta" {
		t.Fatalf("LatestTemplate by beta's title = %+v, %v", tmpl, err)
	}
}

// TestTemplateSaveAsksBeforeANewVersion: another file with the title of an
// existing template is a conflict unless the importer said which version
// it follows; a version that moved on meanwhile is a conflict too.
func TestTemplateSaveAsksBeforeANewVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	v1 := []byte("# Release\n\n- [ ] Build\n")
	v2 := []byte("# Release\n\n- [ ] Build\n- [ ] Tag\n")
	if _, _, err := db.SaveTemplate(ctx, postgres.TemplateImport{Source: v1}, importer); err != nil {
		t.Fatal(err)
	}
	before := templateRows(t, db)
	_, _, err := db.SaveTemplate(ctx, postgres.TemplateImport{Source: v2}, importer)
	wantCode(t, err, signoff.ECONFLICT)
	if msg := signoff.ErrorMessage(err); !strings.Contains(msg, `"Release" already exists (version 1)`) {
		t.Errorf("message %q", msg)
	}
	_, _, err = db.SaveTemplate(ctx, postgres.TemplateImport{Source: v2, Expect: 2}, importer)
	wantCode(t, err, signoff.ECONFLICT)
	if after := templateRows(t, db); after != before {
		t.Fatalf("refused imports stored something: %v → %v", before, after)
	}
	tmpl, created, err := db.SaveTemplate(ctx, postgres.TemplateImport{Source: v2, Expect: 1}, importer)
	if err != nil || !created || tmpl.Version != 2 {
		t.Fatalf("new version: %v, created %v, %v", tmpl, created, err)
	}
	if _, created, err := db.SaveTemplate(ctx, postgres.TemplateImport{Source: v2, Expect: 1}, importer); err != nil || created {
		t.Fatalf("the same bytes again: created %v, %v", created, err)
	}
	other, created, err := db.SaveTemplate(ctx, postgres.TemplateImport{Source: v2, Name: "Release (mobile)"}, importer)
	if err != nil || !created || other.Slug != "release-mobile" || other.Title != "Release (mobile)" || other.Version != 1 {
		t.Fatalf("as another template: %+v, %v", other, err)
	}
}

// TestTemplateSourceIsKeptByteForByte: what is imported is what is
// exported, whatever its line endings, front matter and final newline.
func TestTemplateSourceIsKeptByteForByte(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	for _, src := range []string{
		"---\r\nname: Handover\r\nabout: x\r\n---\r\n\r\n* [ ] One\r\n    * [ ] Two\r\n- [x] Three",
		"\ufeff- [ ] stray\r- [ ] CR\r\n",
		string(checklist.Seed) + "\n",
	} {
		tmpl, _, err := db.SaveTemplate(ctx, postgres.TemplateImport{Source: []byte(src), FileName: "stray-cr.md", Expect: postgres.AnyVersion}, importer)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.LatestTemplate(ctx, tmpl.Slug)
		if err != nil || got.Source != src {
			t.Fatalf("%s: source %q, %v", tmpl.Slug, got.Source, err)
		}
	}
	if tmpl, err := db.LatestTemplate(ctx, "handover"); err != nil || tmpl.Title != "Handover" {
		t.Fatalf("front matter name: %+v, %v", tmpl, err)
	}
	if tmpl, err := db.LatestTemplate(ctx, "stray-cr"); err != nil || tmpl.Title != "Stray cr" || tmpl.Counts().Items != 2 {
		t.Fatalf("file name: %+v, %v", tmpl, err)
	}
}

func TestTemplateVersionsAndCreateRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SaveTemplate(ctx, postgres.TemplateImport{Source: seedV2(t), Expect: 1}, importer); err != nil {
		t.Fatal(err)
	}
	list, err := db.TemplateVersions(ctx, seedSlug)
	if err != nil || len(list) != 2 || list[0].Version != 2 || list[1].Bytes != len(checklist.Seed) {
		t.Fatalf("versions %+v, %v", list, err)
	}
	v1, err := db.TemplateAt(ctx, seedSlug, 1)
	if err != nil || v1.Source != string(checklist.Seed) {
		t.Fatalf("version 1: %v", err)
	}
	_, err = db.TemplateAt(ctx, seedSlug, 3)
	wantCode(t, err, signoff.ENOTFOUND)

	before := sqlInt(t, db, `SELECT seq FROM audit_system_chain`)
	made, err := db.CreateRoles(ctx, []string{"Release Manager", "dba", "database administrator", "QA Lead"}, importer)
	if err != nil || len(made) != 3 {
		t.Fatalf("made %+v, %v", made, err)
	}
	if after := sqlInt(t, db, `SELECT seq FROM audit_system_chain`); after != before+3 {
		t.Fatalf("%d events for 3 roles", after-before)
	}
	_, err = db.CreateRoles(ctx, []string{"Fine", " "}, importer)
	wantCode(t, err, signoff.EINVALID)
	if n := sqlInt(t, db, `SELECT count(*) FROM roles WHERE name = 'Fine'`); n != 0 {
		t.Fatal("a refused request created a role")
	}
}
