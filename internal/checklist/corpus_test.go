package checklist

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"

	"github.com/signoff/signoff/internal/signoff"
)

// corpus is what each real-world-shaped checklist in testdata/corpus must
// import as.
var corpus = map[string]struct {
	title, from               string
	phases, sections, items   int
	slots, notes, cond, timed int
	byLevel                   [3]int
	warnings                  int
}{
	"bug-report-template.md":         {"Bug report", TitleFromFrontMatter, 1, 1, 3, 0, 0, 1, 0, [3]int{3, 0, 0}, 0},
	"crlf-with-stray-cr.md":          {"Deployment checklist", TitleFromHeading, 2, 2, 5, 0, 0, 0, 0, [3]int{5, 0, 0}, 0},
	"database-failover-runbook.md":   {"Database failover runbook", TitleFromHeading, 3, 3, 10, 0, 0, 0, 10, [3]int{8, 2, 0}, 0},
	"gdpr-request.md":                {"GDPR data subject request", TitleFromFrontMatter, 1, 1, 7, 0, 0, 0, 0, [3]int{4, 3, 0}, 0},
	"incident-response.md":           {"Incident response", TitleFromFileName, 3, 4, 8, 0, 0, 0, 6, [3]int{8, 0, 0}, 0},
	"kubernetes-upgrade.md":          {"Kubernetes cluster upgrade", TitleFromHeading, 2, 2, 10, 0, 0, 0, 0, [3]int{6, 3, 1}, 1},
	"launch-checklist.md":            {"Launch checklist", TitleFromHeading, 2, 2, 6, 0, 0, 1, 0, [3]int{6, 0, 0}, 0},
	"mixed-indent.md":                {"Mixed indentation", TitleFromHeading, 1, 1, 10, 0, 0, 0, 0, [3]int{4, 4, 2}, 0},
	"no-final-newline.md":            {"No final newline", TitleFromFileName, 2, 2, 4, 0, 0, 0, 0, [3]int{4, 0, 0}, 0},
	"onboarding.md":                  {"New engineer onboarding", TitleFromHeading, 2, 2, 11, 0, 0, 1, 3, [3]int{7, 2, 2}, 0},
	"postgres-upgrade-runbook.md":    {"PostgreSQL major upgrade", TitleFromHeading, 3, 3, 13, 0, 0, 0, 0, [3]int{9, 4, 0}, 0},
	"production-readiness-review.md": {"Production Readiness Review", TitleFromHeading, 3, 4, 12, 3, 0, 2, 0, [3]int{10, 2, 0}, 0},
	"pull-request-template.md":       {"Pull request template", TitleFromFileName, 3, 1, 7, 0, 0, 2, 0, [3]int{5, 2, 0}, 1},
	"quarterly-access-review.md":     {"Quarterly access review", TitleFromHeading, 1, 1, 4, 2, 2, 0, 0, [3]int{4, 0, 0}, 0},
	"release-issue-template.md":      {"Release checklist", TitleFromFrontMatter, 3, 3, 11, 0, 0, 0, 0, [3]int{11, 0, 0}, 0},
	"releasing.md":                   {"Releasing", TitleFromHeading, 3, 3, 13, 0, 0, 1, 0, [3]int{8, 5, 0}, 0},
	"security-review.md":             {"Security review", TitleFromHeading, 3, 4, 16, 0, 0, 0, 0, [3]int{8, 8, 0}, 0},
	"sre-handover.md":                {"On-call handover", TitleFromHeading, 2, 2, 5, 0, 0, 0, 0, [3]int{5, 0, 0}, 0},
}

// TestCorpus imports every checklist of the corpus: its shape is what the
// file shows, its items are exactly the task list items goldmark finds,
// and its source comes back byte for byte.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*.md")
	if err != nil || len(files) < 15 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			want, ok := corpus[name]
			if !ok {
				t.Fatalf("no expectations for %s", name)
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Read(src, name)
			if err != nil {
				t.Fatal(err)
			}
			tpl := r.Template
			if tpl.Source != string(src) {
				t.Errorf("source not kept byte for byte")
			}
			if tpl.Title != want.title || r.TitleFrom != want.from {
				t.Errorf("title %q from %s, want %q from %s", tpl.Title, r.TitleFrom, want.title, want.from)
			}
			c := tpl.Counts()
			got := [...]int{c.Phases, c.Sections, c.Items, c.Slots, c.Notes, c.Conditional, c.Timed, len(r.Warnings)}
			exp := [...]int{want.phases, want.sections, want.items, want.slots, want.notes, want.cond, want.timed, want.warnings}
			if got != exp || c.ItemsByLevel != want.byLevel {
				t.Errorf("phases, sections, items, slots, notes, conditional, timed, warnings = %v by level %v, want %v by level %v (warnings %v)",
					got, c.ItemsByLevel, exp, want.byLevel, r.Warnings)
			}
			if n := goldmarkTasks(src); n != c.Items {
				t.Errorf("%d items, goldmark finds %d task list items", c.Items, n)
			}
			filled, err := Fill(src, Marks{})
			if err != nil || !bytes.Equal(filled, src) {
				t.Errorf("Fill with no marks changed the file (%v)", err)
			}
			checkNoRawMarkdown(t, tpl)
		})
	}
}

// goldmarkTasks counts task check boxes as goldmark's own GFM reading of
// the file does, front matter aside (GitHub shows it as a table).
func goldmarkTasks(src []byte) int {
	s, err := newSource(src)
	if err != nil {
		return -1
	}
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
	doc := md.Parser().Parse(text.NewReader(normalizeCR(src[s.body:])))
	n := 0
	_ = ast.Walk(doc, func(n2 ast.Node, entering bool) (ast.WalkStatus, error) {
		if _, ok := n2.(*east.TaskCheckBox); ok && entering {
			n++
		}
		return ast.WalkContinue, nil
	})
	return n
}

// normalizeCR turns lone carriage returns into line feeds, as CommonMark
// (and GitHub) read them.
func normalizeCR(b []byte) []byte {
	return []byte(strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\r", "\n"))
}

// checkNoRawMarkdown fails when a heading's title still shows Markdown a
// reader would see as marks: closing #s, emphasis, code, link syntax.
func checkNoRawMarkdown(t *testing.T, tpl *signoff.Template) {
	t.Helper()
	for _, ph := range tpl.Phases {
		titles := []string{ph.Title}
		for _, s := range ph.Sections {
			titles = append(titles, s.Title)
		}
		for _, title := range titles {
			if strings.ContainsAny(title, "#*`[") || strings.HasSuffix(title, " ") {
				t.Errorf("title %q shows Markdown", title)
			}
		}
	}
}
