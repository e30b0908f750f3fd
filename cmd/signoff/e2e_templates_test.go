package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// corpusFile is one of the checklist parser's real-world-shaped files.
func corpusFile(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "internal", "checklist", "testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// Issue 11: a file without a title, uploaded through the web form: the
// preview names it after the file and shows what it holds; a sign-off
// table naming roles that do not exist is flagged, and the roles are
// created on request; a second file of the same name asks before it
// becomes a new version.
func TestBrowserImportWithPreview(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	admin := a.user("Rachel Green")
	if err := a.DB.SetPermissions(context.Background(), admin.ID, true, false, byUser(admin)); err != nil {
		t.Fatal(err)
	}
	b := newTab(t, newBrowser(t), a.URL, "admin")
	b.login(admin)

	// A pull request template: no # title, no front matter.
	b.navigate("/templates")
	b.do(chromedp.SetUploadFiles("#tpl-file", []string{corpusFile(t, "pull-request-template.md")}))
	if st := b.submit(`[data-testid=import-form] button[type=submit]`); st != http.StatusOK {
		b.fail("preview: status %d", st)
	}
	if got := eval[string](b, `document.getElementById("tpl-name").value`); got != "Pull request template" {
		b.fail("the name offered is %q, want the file's name", got)
	}
	if got := b.text("[data-testid=counts]"); !strings.Contains(got, "Items7 (5 top level, 2 second") {
		b.fail("preview counts: %q", got)
	}
	if got := b.text("[data-testid=warnings]"); !strings.Contains(got, "ticked in the file") {
		b.fail("preview warnings: %q", got)
	}
	if n := b.count(`[data-testid=outline] .item-text a[href="https://www.conventionalcommits.org/"]`); n != 1 {
		b.fail("the outline shows %d rendered links to Conventional Commits", n)
	}
	b.shot("template-import-preview")
	if st := b.submit(`[data-testid=import-confirm] button[type=submit]`); st != http.StatusOK {
		b.fail("import: status %d", st)
	}
	if got := b.text("h1.page-title"); got != "Pull request template v1" {
		b.fail("after the import the page is %q", got)
	}
	stored, err := a.DB.LatestTemplate(context.Background(), "pull-request-template")
	if want, _ := os.ReadFile(corpusFile(t, "pull-request-template.md")); err != nil || stored.Source != string(want) {
		b.fail("the stored Markdown is not the file byte for byte (%v)", err)
	}

	// A production readiness review whose sign-off table names roles
	// nobody holds yet.
	b.navigate("/templates")
	b.do(chromedp.SetUploadFiles("#tpl-file", []string{corpusFile(t, "production-readiness-review.md")}))
	b.submit(`[data-testid=import-form] button[type=submit]`)
	if got := b.text("[data-testid=missing-roles]"); !strings.Contains(got, "“Service Owner” and “SRE Lead”") {
		b.fail("missing roles: %q", got)
	}
	b.colorScheme("dark")
	b.shot("template-import-missing-roles-dark")
	b.colorScheme("")
	b.submit("[data-testid=create-roles]")
	if b.count("[data-testid=missing-roles]") != 0 || !strings.Contains(b.text("main"), "Created the roles “Service Owner” and “SRE Lead”") {
		b.fail("the roles were not created: %q", b.text("main"))
	}
	b.submit(`[data-testid=import-confirm] button[type=submit]`)

	// The same title again, another file: the preview asks.
	changed := filepath.Join(t.TempDir(), "prr.md")
	src, _ := os.ReadFile(corpusFile(t, "production-readiness-review.md"))
	if err := os.WriteFile(changed, append(src, "\n## Launch\n\n- [ ] Announce\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	b.navigate("/templates")
	b.do(chromedp.SetUploadFiles("#tpl-file", []string{changed}))
	b.submit(`[data-testid=import-form] button[type=submit]`)
	if got := b.text("[data-testid=existing]"); !strings.Contains(got, "“Production Readiness Review” exists: version 1") {
		b.fail("the preview does not say the template exists: %q", got)
	}
	b.phone(390, 844)
	b.shot("template-import-new-version-phone")
	b.submit(`[data-testid=import-confirm] button[type=submit]`)
	if got := b.text("h1.page-title"); got != "Production Readiness Review v2" {
		b.fail("after saving as the next version the page is %q", got)
	}
	b.shot("template-page-phone")
}

// Issue 11: a runbook's code blocks and tables, and links, rendered on the
// run page; a javascript: link is not a link.
func TestBrowserRunbookRendered(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	alice := a.user("Alice Chen", "Deployment Engineer")
	ctx := context.Background()
	src, err := os.ReadFile(corpusFile(t, "database-failover-runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	src = append(src, "\r\n## Links\r\n\r\n- [ ] Read the [failover guide](https://wiki.example.com/failover)\r\n- [ ] Do not [click](javascript:alert(document.cookie))\r\n"...)
	tmpl, _, err := a.DB.SaveTemplate(ctx, postgres.TemplateImport{Source: src}, byUser(alice))
	if err != nil {
		t.Fatal(err)
	}
	d, err := a.DB.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: tmpl.Slug, Service: "orders-db", Environment: "production", Version: "failover-2026-12"}, byUser(alice))
	if err != nil {
		t.Fatal(err)
	}
	b := newTab(t, newBrowser(t), a.URL, "alice")
	b.login(alice)
	b.navigate(dpath(d, ""))
	if got := b.text(`[data-testid=item-md] pre code.language-sh`); got != "pg_isready -h db-1 -p 5432" {
		b.fail("the command under “Confirm the primary is down” shows as %q", got)
	}
	if n := b.count(`[data-testid=description] table td`); n != 6 {
		b.fail("the hosts table shows %d cells", n)
	}
	if n := b.count(`[data-testid=description] blockquote strong`); n != 1 {
		b.fail("the warning quote is not rendered")
	}
	if n := b.count(`.item-text a[href="https://wiki.example.com/failover"][target=_blank][rel~=noopener]`); n != 1 {
		b.fail("the guide link is not a link (%d)", n)
	}
	if n := b.count(`a[href^="javascript"], [onclick], [onerror]`); n != 0 {
		b.fail("%d javascript: links or handlers on the page", n)
	}
	if got := b.text(`.section-header .tag-due`); got != "within 5 minutes of go-live" {
		b.fail("the first phase is timed %q", got)
	}
	b.shot("runbook-run-page")
	b.colorScheme("dark")
	b.shot("runbook-run-page-dark")
	b.colorScheme("")
	b.phone(390, 844)
	b.shot("runbook-run-page-phone")
}

// Issue 11: an admin edits a template's Markdown with a live preview and
// saves a new version; a running deployment keeps its version; the two
// versions compare as a diff.
func TestBrowserEditTemplateAndDiff(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	admin := a.user("Rachel Green", "Deployment Engineer")
	if err := a.DB.SetPermissions(context.Background(), admin.ID, true, false, byUser(admin)); err != nil {
		t.Fatal(err)
	}
	running := a.deployment(admin, "voxflow-api", "v2.4.0")
	b := newTab(t, newBrowser(t), a.URL, "admin")
	b.login(admin)

	const slug = "/templates/voxflow-production-deployment-checklist"
	b.navigate(slug)
	b.submit("[data-testid=edit]")
	// Type a new item at the end of the Markdown: the preview follows.
	b.do(
		chromedp.Focus(chromedp.ID("editor-source")),
		chromedp.Evaluate[chromedp.Void](`(() => { const e = document.getElementById("editor-source"); e.setSelectionRange(e.value.indexOf("### Cleanup and Maintenance"), e.value.indexOf("### Cleanup and Maintenance")) })()`),
		chromedp.SendKeys(chromedp.ID("editor-source"), "- [ ] **Rollback drill booked** with the [incident template](https://status.example.com)\n\n"),
	)
	b.waitFor("the live preview", `document.querySelector("#preview [data-testid=counts]") && document.querySelector("#preview [data-testid=counts]").textContent.includes("223")`)
	if n := b.count(`#preview .item-text a[href="https://status.example.com"]`); n != 1 {
		b.fail("the preview does not render the new item's link")
	}
	b.shot("template-editor")
	if st := b.submit("[data-testid=save-version]"); st != http.StatusOK {
		b.fail("save: status %d", st)
	}
	if got := b.text("h1.page-title"); got != "VoxFlow Production Deployment Checklist v2" {
		b.fail("after saving the page is %q", got)
	}

	// The running deployment keeps version 1.
	b.navigate(dpath(running, ""))
	if got := b.text(".page-subtitle"); !strings.Contains(got, "v1") || strings.Contains(b.text("main"), "Rollback drill booked") {
		m := b.text("main")
		i := strings.Index(m, "Rollback drill booked")
		b.fail("the running deployment changed: %q: %q", got, m[max(i-300, 0):min(i+100, len(m))])
	}

	// The versions compare.
	b.navigate(slug + "/versions")
	b.submit("[data-testid=compare] button[type=submit]")
	if got := b.text(".diff-add"); !strings.Contains(got, "- [ ] **Rollback drill booked**") {
		b.fail("the diff's added line is %q", got)
	}
	if got := b.text(".page-subtitle"); got != "+2 −0 lines" {
		b.fail("diff summary %q", got)
	}
	b.shot("template-diff")
}
