package checklist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
)

// TestFillTicksInPlace: every box ticked, a note after every item, the
// rest of the file as it was, and the result still the same checklist.
func TestFillTicksInPlace(t *testing.T) {
	files, _ := filepath.Glob("testdata/corpus/*.md")
	for _, path := range append(files, "seed/production-deployment-checklist.md") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tpl := mustParse(t, src)
			marks := Marks{Items: map[string]ItemMark{}, Slots: map[int]SlotMark{}, Notes: map[int]string{},
				Header: "> **Deployment 7**: svc", Trailer: "> signed"}
			for _, f := range Flatten(tpl) {
				marks.Items[f.Path] = ItemMark{Ticked: true, Note: "done by " + Escape("*Eve* <b>"+f.Path+"</b>\n# x")}
			}
			for _, s := range tpl.Slots() {
				marks.Slots[s.Position] = SlotMark{Name: Escape("Ann | [x](javascript:x)"), Date: "2026-12-07 10:00 UTC"}
			}
			for i := range tpl.NoteFields {
				marks.Notes[i+1] = "# not a heading\n- [ ] not an item\n\nsecond line"
			}
			out, err := Fill(src, marks)
			if err != nil {
				t.Fatal(err)
			}
			again := mustParse(t, out)
			// Filled in, the sign-off and notes blocks read as text; the
			// items stay what they were.
			if a, b := tpl.Counts(), again.Counts(); a.Items != b.Items || a.ItemsByLevel != b.ItemsByLevel {
				t.Fatalf("the export reads as another checklist: %+v, was %+v", b, a)
			}
			s, _ := newSource(out)
			doc := parseMarkdown(s)
			boxes, checked := 0, 0
			_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
				if b, ok := n.(*east.TaskCheckBox); ok && entering {
					boxes++
					if b.IsChecked {
						checked++
					}
				}
				if l, ok := n.(*ast.Link); ok && entering && strings.HasPrefix(string(l.Destination), "javascript") {
					t.Errorf("a value became a link")
				}
				if entering && (n.Kind() == ast.KindRawHTML || n.Kind() == ast.KindEmphasis && strings.Contains(plainInline(n, s.md[s.body:]), "Eve")) {
					t.Errorf("a value became %s", n.Kind())
				}
				return ast.WalkContinue, nil
			})
			if boxes != tpl.Counts().Items || checked != boxes {
				t.Errorf("%d of %d boxes ticked, want all %d", checked, boxes, tpl.Counts().Items)
			}
			for _, f := range Flatten(tpl) {
				if !strings.Contains(string(out), `done by \*Eve\* \<b\>`+strings.ReplaceAll(f.Path, ".", `\.`)) {
					t.Fatalf("no note after %s", f.Path)
				}
			}
		})
	}
}

// TestFillKeepsLineEndings: a CRLF file stays CRLF, header and all.
func TestFillKeepsLineEndings(t *testing.T) {
	src := []byte("# T\r\n\r\n- [ ] a\r\n- [x] b\r\n")
	out, err := Fill(src, Marks{Items: map[string]ItemMark{"1.1.1": {Ticked: true, Note: "Ann"}, "1.1.2": {}},
		Header: "> one\n> two", Trailer: "end"})
	if err != nil {
		t.Fatal(err)
	}
	want := "# T\r\n\r\n> one\r\n> two\r\n\r\n\r\n- [x] a — Ann\r\n- [ ] b\r\n\r\nend\r\n"
	if string(out) != want {
		t.Errorf("got  %q\nwant %q", out, want)
	}
}

func TestFillSeedSignoffAndNotes(t *testing.T) {
	out, err := Fill(Seed, Marks{Slots: map[int]SlotMark{1: {Name: "Ann Lee", Date: "2026-12-07 10:00 UTC"}},
		Notes: map[int]string{1: "7 Dec", 3: "line one\nline two"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"- **Deployment Engineer**: Ann Lee Date: 2026-12-07 10:00 UTC\n",
		"- **Database Administrator**: _________________ Date: _________\n",
		"**Deployment Date**: 7 Dec\n",
		"**Special Considerations**: \nline one\\\nline two\n\n**Issues Encountered**",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("export lacks %q", want)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"Ann Lee":                   "Ann Lee",
		"# x\n- [ ] y":              `\# x \- \[ \] y`,
		"<script>alert(1)</script>": `\<script\>alert\(1\)\<\/script\>`,
		"1. a | b  \r\n c":          `1\. a \| b c`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}
