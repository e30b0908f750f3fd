package checklist

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// survives export: Render's output parses to the same template, exporting
// again is a fixed point, and every item has its own path.
func FuzzParse(f *testing.F) {
	f.Add(Seed)
	for _, path := range testdataFiles(f) {
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

// FuzzParseLines builds documents from the line shapes the parser tells
// apart, one byte per line, so the fuzzer spends its time on structure
// rather than on finding "- [ ]" by chance.
func FuzzParseLines(f *testing.F) {
	f.Add([]byte{3, 5, 20, 24, 0, 21, 30, 31})
	f.Add([]byte{5, 20, 24, 25, 47, 29, 30, 48, 14, 15, 16, 17})
	f.Add([]byte{11, 20, 32, 20, 11, 32, 18, 20, 13, 16, 44})
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
	out := Render(tpl)
	again, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(Render(t)): %v\ninput:\n%q\nexport:\n%q", err, src, out)
	}
	if !reflect.DeepEqual(tpl, again) {
		t.Fatalf("round trip changed the template\ninput:  %q\nexport: %q\nfirst:  %+v\nsecond: %+v", src, out, tpl, again)
	}
	if out2 := Render(again); !bytes.Equal(out, out2) {
		t.Fatalf("second export differs\nfirst:  %q\nsecond: %q", out, out2)
	}
	seen := map[string]bool{}
	for _, it := range Flatten(tpl) {
		if seen[it.Path] {
			t.Fatalf("duplicate path %s", it.Path)
		}
		seen[it.Path] = true
	}
}

// shapes are the lines FuzzParseLines picks from: each kind the parser
// recognises, near misses of each, and indentation variants.
var shapes = []string{
	"", "", "", "# T", "# ", "## P", "## P (First 2 Hours)", "### S", "### Weekly", "#### h",
	"##", "text", "  text", "**X**:", "**X**: ___", "**Y**: b**: ___", "___", "_____", "---", "***",
	"- [ ] a", "- [x] b", "* [ ] c", "+ [ ] d", "  - [ ] e", "    - [ ] f", "\t- [ ] g", "\t\t- [ ] h", "      - [ ] i", "- **R**: ___ Date: ___",
	"  - **R2**: ___ date: ___", "```", "```go", "~~~", "  ```", "- foo", "1. [ ] x", "- [ ]", "\ttabbed", "- [ ] (if needed) x",
	"**Z**:", "- [ ] **b**", "  continuation", "=====", "<!-- c -->", "## Sign", "## Notes", "- [ ] c", "more text", "\ufefftext",
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
	"### S\n- [ ] a\n## S\n- **A**: ___ Date: ___\n",
	"- [ ] a\n\tb\n\t- [ ] c\n\t\t- [ ] d\n\t  e\n",
	"- [ ] a\n\n  indented paragraph\n\n- [ ] b\n#### h4\n",
	"## P\n\n---\n\nfooter one\n\nfooter two",
	"- [ ] **a**: b**: ___\n## N\n**a**: b**: ___\n## S\n- **r**: ___ Date: ___**: ___ Date: ___\n",
	"~~~\n- [ ] hidden\n~~~~\n- [ ] shown\n",
	"```x```\n- [ ] a\n",
	"\ufeff# T\r\n\r\n- [ ] a\r\n",
}
