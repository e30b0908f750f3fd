package checklist

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuin/goldmark/ast"
)

// FuzzParse checks that Parse never panics and that what it accepts comes
// back byte for byte: the template's source is the input, Fill without
// marks returns it unchanged, ticking every item keeps the checklist the
// same, every path is unique and the rendered HTML holds no script.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.md")
	corpus, _ := filepath.Glob("testdata/corpus/*.md")
	f.Add(Seed)
	for _, path := range append(files, corpus...) {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, src := range tricky {
		f.Add([]byte(src))
	}
	f.Fuzz(checkRoundTrip)
}

// FuzzParseLines builds documents from line shapes the outline tells
// apart, one byte per line, so the fuzzer spends its time on structure
// rather than on finding "- [ ]" by chance.
func FuzzParseLines(f *testing.F) {
	f.Add([]byte{3, 5, 20, 24, 0, 21, 30, 31})
	f.Add([]byte{5, 20, 24, 25, 47, 29, 30, 48, 14, 15, 16, 17})
	f.Add([]byte{11, 20, 32, 20, 11, 32, 18, 20, 13, 16, 44, 52, 53, 54, 55})
	f.Fuzz(func(t *testing.T, picks []byte) {
		lines := make([]string, len(picks))
		for i, b := range picks {
			lines[i] = shapes[int(b)%len(shapes)]
		}
		checkRoundTrip(t, []byte(strings.Join(lines, "\n")))
	})
}

func checkRoundTrip(t *testing.T, src []byte) {
	tpl, err := Parse(src)
	if err != nil {
		return
	}
	if tpl.Source != string(src) {
		t.Fatalf("source changed")
	}
	filled, err := Fill(src, Marks{})
	if err != nil || !bytes.Equal(filled, src) {
		t.Fatalf("Fill without marks: %v\ninput:  %q\noutput: %q", err, src, filled)
	}
	marks := Marks{Items: map[string]ItemMark{}}
	seen := map[string]bool{}
	for _, it := range Flatten(tpl) {
		if seen[it.Path] {
			t.Fatalf("duplicate path %s", it.Path)
		}
		seen[it.Path] = true
		marks.Items[it.Path] = ItemMark{Ticked: true, Note: "done by " + Escape("*x* [y](javascript:z)\n# h")}
	}
	ticked, err := Fill(src, marks)
	if err != nil {
		t.Fatalf("Fill: %v", err)
	}
	again, err := Parse(ticked)
	if err != nil {
		t.Fatalf("the ticked export does not parse: %v\ninput:  %q\noutput: %q", err, src, ticked)
	}
	if a, b := tpl.Counts(), again.Counts(); a.Items != b.Items || a.ItemsByLevel != b.ItemsByLevel {
		t.Fatalf("ticking changed the checklist: %+v, was %+v\ninput:  %q\noutput: %q", b, a, src, ticked)
	}
	for _, it := range Flatten(tpl) {
		if h := tpl.Item(it.Path).HTML; strings.Contains(strings.ToLower(h), "<script") || strings.Contains(h, "javascript:") {
			t.Fatalf("unsafe HTML %q", h)
		}
	}
}

// FuzzEscape checks that no value written into an export becomes
// structure: escaped into a line, it reads back as the same text, alone
// in its paragraph, with no link, emphasis, code or HTML.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"Ann", "# x", "- [ ] y", "<b>", "[a](b)", "*x*", "`c`", "1. x", "a | b", "&amp;", "www.example.com", "x\n===", "\\", "http://x.y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.ContainsRune(v, 0) || !utf8Valid(v) {
			return
		}
		e := Escape(v)
		if strings.ContainsAny(e, "\r\n") {
			t.Fatalf("escaped value spans lines: %q", e)
		}
		src := []byte("Value: " + e + "\n")
		s, err := newSource(src)
		if err != nil {
			return
		}
		doc := parseMarkdown(s)
		p := doc.FirstChild()
		if p == nil || p.Kind() != ast.KindParagraph || p.NextSibling() != nil {
			t.Fatalf("%q (escaped %q) is not one paragraph", v, e)
		}
		for n := p.FirstChild(); n != nil; n = n.NextSibling() {
			if n.Kind() != ast.KindText && n.Kind() != ast.KindString {
				t.Fatalf("%q (escaped %q) became %s", v, e, n.Kind())
			}
		}
		want := strings.Join(strings.Fields("Value: "+v), " ")
		if got := plainInline(p, s.md[s.body:]); got != want {
			t.Fatalf("%q reads back as %q", want, got)
		}
	})
}

// shapes are the lines FuzzParseLines picks from: each kind the outline
// recognises, near misses of each, and indentation variants.
var shapes = []string{
	"", "", "", "# T", "# ", "## P", "## P (First 2 Hours)", "### S", "### Weekly", "#### h",
	"##", "text", "  text", "**X**:", "**X**: ___", "**Y**: b**: ___", "___", "_____", "---", "***",
	"- [ ] a", "- [x] b", "* [ ] c", "+ [ ] d", "  - [ ] e", "    - [ ] f", "\t- [ ] g", "\t\t- [ ] h", "      - [ ] i", "- **R**: ___ Date: ___",
	"  - **R2**: ___ date: ___", "```", "```go", "~~~", "  ```", "- foo", "1. [ ] x", "- [ ]", "\ttabbed", "- [ ] (if needed) x",
	"**Z**:", "- [ ] **b**", "  continuation", "=====", "<!-- c -->", "## Sign", "## Notes", "- [ ] c", "more text", "\ufefftext",
	"| Role | Date |", "|---|---|", "| QA | |", "> - [ ] q", "   - [ ] three", "     - [ ] five", "2) [ ] n", "[r]: https://x", "- label\r",
}

// tricky holds small inputs near the parser's decisions, so the fuzzer
// starts from them rather than having to find them.
var tricky = []string{
	"- [ ] a\n**X**:\nfoo\n",
	"- [ ] a\n  ```\n  - [ ] b\n  ```\n",
	"- [ ] a\n```\ncode\n```\ntext\n",
	"text\n# T\n- [ ] a\n\nfooter\n",
	"- [ ] a\n---\ntext\n",
	"## S\n- **A**: ___ Date: ___\n### G\n\ntext\n## P\n- [ ] a\n",
	"## N\n**A**:\n___\n**B**: ___\n___\n## P\n* [x] b\n",
	"- [ ] a\n\tb\n\t- [ ] c\n\t\t- [ ] d\n\t  e\n",
	"- [ ] a\n\n  indented paragraph\n\n- [ ] b\n#### h4\n",
	"---\ntitle: x\n---\n- [ ] a",
	"---\n- [ ] a\n---\n",
	"\ufeff# T\r\n\r\n- [ ] a\r\n",
	"- [ ] a\r- [ ] b\r",
	"- [ ] a  \n  b\\\n",
	"# T\n- [ ] a",
	"Title\n===\n- [ ] a\n",
	"> - [ ] a\n> b\n",
	"| Role | Signature |\n|--|--|\n| A | |\n- [ ] x\n",
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }
