package checklist

import (
	"strconv"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// FlatItem is one item of a template with its place in it. Path is stable
// for a template version, so deployments can key their item rows by it.
type FlatItem struct {
	Path        string // 1-based "phase.section.item[.child[.grandchild]]", e.g. "1.1.3.1.1"
	ParentPath  string // "" for a top-level item
	Phase       int    // 1-based
	Section     int    // 1-based within the phase
	Level       int    // 1 to 3
	Text        string
	Conditional bool
	DueAfter    time.Duration
	HasChildren bool
}

// Flatten lists every item of t in document order.
func Flatten(t *signoff.Template) []FlatItem {
	var out []FlatItem
	var walk func(items []signoff.TemplateItem, parent string, base FlatItem)
	walk = func(items []signoff.TemplateItem, parent string, base FlatItem) {
		for i, it := range items {
			f := base
			f.Path = parent + "." + strconv.Itoa(i+1)
			f.Text = it.Text
			f.Conditional = signoff.IsConditional(it.Text)
			f.HasChildren = len(it.Children) > 0
			out = append(out, f)
			child := base
			child.Level++
			child.ParentPath = f.Path
			walk(it.Children, f.Path, child)
		}
	}
	for pi, ph := range t.Phases {
		for si, s := range ph.Sections {
			sec := strconv.Itoa(pi+1) + "." + strconv.Itoa(si+1)
			walk(s.Items, sec, FlatItem{Phase: pi + 1, Section: si + 1, Level: 1, DueAfter: s.DueAfter})
		}
	}
	return out
}
