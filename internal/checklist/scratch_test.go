package checklist

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

var vocab = []string{
	"", "", "", "# T", "# ", "## P", "## P (First 2 Hours)", "### S", "### Weekly", "#### h", "##", "text", "  text", "**X**:", "**X**: ___", "**Y**: b**: ___",
	"___", "_____", "---", "***", "- [ ] a", "- [x] b", "* [ ] c", "+ [ ] d", "  - [ ] e", "    - [ ] f", "\t- [ ] g", "\t\t- [ ] h", "      - [ ] i",
	"- **R**: ___ Date: ___", "  - **R2**: ___ date: ___", "```", "```go", "~~~", "  ```", "- foo", "1. [ ] x", "- [ ]", "text  ", "\ttabbed",
	"- [ ] (if needed) x", "**Z**:", "- [ ] **b**", "  continuation", "=====", "<!-- c -->", "## Sign", "## Notes",
}

var safe = []string{"", "- [ ] a", "  - [ ] b", "text", "## P", "### S", "## Sign", "- **R**: ___ Date: ___", "## Notes", "**F**: ___", "**G**:", "___", "---", "```", "- [ ] c", "more text"}

func TestScratchRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 99))
	ok, fail := 0, 0
	hist := map[string]int{}
	defer func() { t.Log(hist) }()
	for n := 0; n < 8000000; n++ {
		k := 1 + r.IntN(40)
		lines := make([]string, k)
		mode := r.IntN(3)
		for i := range lines {
			switch {
			case mode == 0:
				lines[i] = vocab[r.IntN(len(vocab))]
			case mode == 1 && r.IntN(3) == 0:
				lines[i] = safe[r.IntN(len(safe))]
			default:
				lines[i] = vocab[r.IntN(len(vocab))]
				if r.IntN(2) == 0 {
					lines[i] = safe[r.IntN(len(safe))]
				}
			}
		}
		src := []byte(strings.Join(lines, "\n"))
		tpl, err := Parse(src)
		if err != nil {
			fail++
			msg := err.(*ParseError).Msg
			if i := strings.IndexAny(msg, "0123456789;("); i > 0 {
				msg = msg[:i]
			}
			hist[msg]++
			continue
		}
		ok++
		out := Render(tpl)
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("reparse: %v\ninput:\n%s\n---export:\n%s", err, src, out)
		}
		if !reflect.DeepEqual(tpl, again) {
			t.Fatalf("mismatch\ninput:\n%s\n---export:\n%s\n%+v\n%+v", src, out, tpl, again)
		}
		if !bytes.Equal(Render(again), out) {
			t.Fatalf("not fixpoint\ninput:\n%s", src)
		}
	}
	t.Logf("ok %d fail %d", ok, fail)
}
