package ui_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

const seedSlug = "voxflow-production-deployment-checklist"

// TestTemplateImportSteps walks the import over HTTP: bad input answers
// with its status and a message naming the line and stores nothing; a
// preview stores nothing; the confirmation stores the previewed bytes.
func TestTemplateImportSteps(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	admin := a.user("Rachel Green", true, false)
	c := a.login(admin)
	count := func() int {
		list, err := a.db.Templates(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	before := count()

	for _, tc := range []struct {
		form   url.Values
		status int
		msg    string
	}{
		{url.Values{}, http.StatusBadRequest, "Choose a Markdown file, or paste"},
		{url.Values{"source": {"# T\r\n\r\nno items\r\n"}}, http.StatusBadRequest, "line 1: no checklist items found"},
		{url.Values{"source": {"- [ ] a\n  - [ ] b\n    - [ ] c\n      - [ ] d\n"}}, http.StatusBadRequest, "line 4: item is nested deeper than 3 levels"},
		{url.Values{"source_b64": {"%%%"}}, http.StatusBadRequest, "preview the file again"},
	} {
		res := c.post("/templates/preview", tc.form, false)
		if res.StatusCode != tc.status || !strings.Contains(res.Body, tc.msg) {
			t.Errorf("%v: %d, want %d with %q", tc.form, res.StatusCode, tc.status, tc.msg)
		}
	}

	// Pasted text: the browser's CRLF become LF; the name is asked for.
	res := c.post("/templates/preview", url.Values{"source": {"## Ship\r\n\r\n- [ ] **Tag** it: `git tag`\r\n- [ ] [Announce](https://example.com/news)\r\n"}}, false)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "The file has no title: name the template.") ||
		!strings.Contains(res.Body, `<strong>Tag</strong> it: <code>git tag</code>`) ||
		!strings.Contains(res.Body, `<a href="https://example.com/news" rel="nofollow noreferrer noopener" target="_blank">Announce</a>`) {
		t.Fatalf("preview: %d\n%s", res.StatusCode, res.Body)
	}
	if n := count(); n != before {
		t.Fatal("a preview stored a template")
	}
	carried := base64.StdEncoding.EncodeToString([]byte("## Ship\n\n- [ ] **Tag** it: `git tag`\n- [ ] [Announce](https://example.com/news)\n"))
	if !strings.Contains(res.Body, carried) {
		t.Fatal("the preview does not carry the pasted text, with LF line endings, to the confirmation")
	}
	res = c.post("/templates", url.Values{"source_b64": {carried}, "mode": {"new"}, "name": {""}}, false)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, "give the template a name") {
		t.Fatalf("import without a name: %d", res.StatusCode)
	}
	res = c.post("/templates", url.Values{"source_b64": {carried}, "mode": {"new"}, "name": {"Ship it"}}, false)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/templates/ship-it" {
		t.Fatalf("import: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	tmpl, err := a.db.LatestTemplate(context.Background(), "ship-it")
	if err != nil || tmpl.Title != "Ship it" || !strings.HasSuffix(tmpl.Source, "(https://example.com/news)\n") || strings.Contains(tmpl.Source, "\r") {
		t.Fatalf("stored %+v, %v", tmpl, err)
	}

	// A file near the 1 MB limit fits in the confirmation, carried in base64.
	big := "# Big\n\n" + strings.Repeat("- [ ] "+strings.Repeat("x", 240)+"\n", 4000)
	res = c.post("/templates", url.Values{"source_b64": {base64.StdEncoding.EncodeToString([]byte(big))}, "mode": {"new"}, "name": {"Big"}}, false)
	if res.StatusCode != http.StatusSeeOther || len(big) < 950_000 {
		t.Fatalf("a %d-byte file: %d\n%.300s", len(big), res.StatusCode, res.Body)
	}

	// The seed's title again, another file: asked, and a stale answer refused.
	v2 := strings.Replace(string(checklist.Seed), "### Code and Dependencies\n", "### Code and Dependencies\n- [ ] **SBOM** published\n", 1)
	res = c.post("/templates/preview", url.Values{"source_b64": {base64.StdEncoding.EncodeToString([]byte(v2))}}, false)
	if !strings.Contains(res.Body, `data-testid="existing"`) || !strings.Contains(res.Body, `name="expect" value="1"`) {
		t.Fatalf("the preview does not ask about the existing template")
	}
	form := url.Values{"source_b64": {base64.StdEncoding.EncodeToString([]byte(v2))}, "mode": {"new"}, "name": {"VoxFlow Production Deployment Checklist"}}
	if res := c.post("/templates", form, false); res.StatusCode != http.StatusConflict || !strings.Contains(res.Body, "already exists (version 1)") {
		t.Fatalf("a new template of an existing name: %d", res.StatusCode)
	}
	form.Set("mode", "version")
	form.Set("slug", seedSlug)
	form.Set("expect", "2")
	if res := c.post("/templates", form, false); res.StatusCode != http.StatusConflict || !strings.Contains(res.Body, "changed meanwhile") {
		t.Fatalf("a version after one that is not the latest: %d", res.StatusCode)
	}
	form.Set("expect", "1")
	if res := c.post("/templates", form, false); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the next version: %d", res.StatusCode)
	}
	if tmpl, err := a.db.LatestTemplate(context.Background(), seedSlug); err != nil || tmpl.Version != 2 || tmpl.Source != v2 {
		t.Fatalf("version 2: %v", err)
	}
}

// TestTemplateEditorAndVersions: the editor's preview (HTMX and not), a
// save refused when another version came meanwhile, versions, one
// version's page and Markdown, and the diff.
func TestTemplateEditorAndVersions(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	admin := a.user("Rachel Green", true, false)
	c := a.login(admin)
	edited := strings.Replace(string(checklist.Seed), "- [ ] **Cleanup tasks**", "- [ ] **Cleanup tasks** ([guide](https://example.com/cleanup))", 1)

	if res := c.get("/templates/" + seedSlug + "/edit"); res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `name="base" value="1"`) {
		t.Fatalf("editor: %d", res.StatusCode)
	}
	res := c.post("/templates/"+seedSlug+"/preview", url.Values{"base": {"1"}, "source": {edited}}, true)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Body, `<div class="editor-preview stack" id="preview"`) || !strings.Contains(res.Body, `href="https://example.com/cleanup"`) {
		t.Fatalf("htmx preview: %d\n%.300s", res.StatusCode, res.Body)
	}
	res = c.post("/templates/"+seedSlug+"/preview", url.Values{"base": {"1"}, "source": {"- [ ] a\n  - [ ] b\n    - [ ] c\n      - [ ] d\n"}}, false)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "<title>Edit") || !strings.Contains(res.Body, "line 4: item is nested deeper than 3 levels") {
		t.Fatalf("preview without JavaScript: %d", res.StatusCode)
	}
	// Someone else saves first.
	if _, _, err := a.db.SaveTemplate(context.Background(), postgres.TemplateImport{Source: []byte(string(checklist.Seed) + "\n"), Expect: 1}, signoff.EventActor{Name: "test", Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	res = c.post("/templates/"+seedSlug+"/versions", url.Values{"base": {"1"}, "source": {edited}}, false)
	if res.StatusCode != http.StatusConflict || !strings.Contains(res.Body, "it is at version 2 now, not 1") || !strings.Contains(res.Body, "https://example.com/cleanup") {
		t.Fatalf("save over a newer version: %d", res.StatusCode)
	}
	res = c.post("/templates/"+seedSlug+"/versions", url.Values{"base": {"2"}, "source": {edited}}, false)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%.500s", res.StatusCode, res.Body)
	}

	if res := c.get("/templates/" + seedSlug + "/versions"); res.StatusCode != http.StatusOK || strings.Count(res.Body, `<td><a class="cell-main"`) != 3 {
		t.Fatalf("versions: %d", res.StatusCode)
	}
	if res := c.get("/templates/" + seedSlug + "/export.md?version=1"); res.Body != string(checklist.Seed) {
		t.Fatal("version 1's Markdown is not the seed byte for byte")
	}
	if res := c.get("/templates/" + seedSlug + "/versions/1"); res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "This is version 1; the latest is") {
		t.Fatalf("version 1's page: %d", res.StatusCode)
	}
	res = c.get("/templates/" + seedSlug + "/diff?from=2&to=3")
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `<tr class="diff-add">`) || !strings.Contains(res.Body, "([guide](https://example.com/cleanup))") {
		t.Fatalf("diff: %d", res.StatusCode)
	}
	if res := c.get("/templates/" + seedSlug + "/diff?from=1&to=9"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("diff with a missing version: %d", res.StatusCode)
	}
}
