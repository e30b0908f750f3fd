package signoff

import (
	"regexp"
	"strings"
	"time"
)

// Template is a versioned checklist definition, as imported from Markdown.
// A template version never changes once stored: editing makes a new version,
// and deployments keep the version they started with.
type Template struct {
	ID          int64 // the template version's id
	Slug        string
	Title       string
	Version     int
	Description string // the paragraphs under the # title, as Markdown
	Footer      string // the last paragraph of the file, as Markdown

	Phases []Phase

	SignoffHeading string // the ## heading that holds the sign-off groups
	SignoffIntro   string
	SignoffGroups  []SignoffGroup

	NotesHeading string // the ## heading that holds the note fields
	NotesIntro   string
	NoteFields   []NoteField

	// NotesFirst is true when the notes heading comes before the sign-off
	// heading in the source; export keeps that order.
	NotesFirst bool

	// AllowMultipleSlots relaxes rule 4 for small teams: one person may sign
	// more than one slot of a deployment. Exports state when it was on.
	AllowMultipleSlots bool

	CreatedAt time.Time
	CreatedBy string
}

// Phase is a ## heading of the checklist.
type Phase struct {
	Title    string
	Intro    string // any paragraphs between the heading and its first section
	Sections []Section
}

// Section is a ### heading. Items written directly under a phase, before any
// ###, belong to a section with an empty title.
type Section struct {
	Title string
	Intro string
	// DueAfter is how long after go-live the section's items are due, taken
	// from "(First 2 Hours)", "(First 24 Hours)" or "Weekly" in the section's
	// heading or, failing that, its phase's. Zero means not timed.
	DueAfter time.Duration
	Items    []TemplateItem
}

// TemplateItem is one "- [ ]" line with its nested children.
type TemplateItem struct {
	Text     string // the Markdown after "- [ ] ", exactly as written
	Children []TemplateItem
}

// SignoffGroup is a named group of sign-off slots ("Technical Sign-off").
type SignoffGroup struct {
	Name  string
	Slots []SignoffSlot
}

// SignoffSlot is one "- **Role**: ____ Date: ____" line.
type SignoffSlot struct {
	Role string
}

// NoteField is one "**Name**: ____" line. A long field is followed by lines of
// blanks in the source and is edited as multi-line text.
type NoteField struct {
	Name  string
	Long  bool
	Lines int // number of blank lines under a long field, kept for export
}

// Counts summarises a template's shape.
type Counts struct {
	Phases, Sections, Items int
	ItemsByLevel            [3]int // top level, second level, third level
	Slots, Groups, Notes    int
	Conditional, Timed      int
}

// Counts walks the template and counts what it holds.
func (t *Template) Counts() Counts {
	var c Counts
	c.Phases = len(t.Phases)
	var walk func(items []TemplateItem, level int, timed bool)
	walk = func(items []TemplateItem, level int, timed bool) {
		for _, it := range items {
			c.Items++
			if level < len(c.ItemsByLevel) {
				c.ItemsByLevel[level]++
			}
			if IsConditional(it.Text) {
				c.Conditional++
			}
			if timed {
				c.Timed++
			}
			walk(it.Children, level+1, timed)
		}
	}
	for _, p := range t.Phases {
		c.Sections += len(p.Sections)
		for _, s := range p.Sections {
			walk(s.Items, 0, s.DueAfter > 0)
		}
	}
	c.Groups = len(t.SignoffGroups)
	for _, g := range t.SignoffGroups {
		c.Slots += len(g.Slots)
	}
	c.Notes = len(t.NoteFields)
	return c
}

// Slots returns the template's sign-off slots in order, with their group.
func (t *Template) Slots() []SlotDef {
	var out []SlotDef
	for gi, g := range t.SignoffGroups {
		for _, s := range g.Slots {
			out = append(out, SlotDef{Group: g.Name, GroupIndex: gi, Role: s.Role, Position: len(out) + 1})
		}
	}
	return out
}

// SlotDef is a sign-off slot with its place in the template.
type SlotDef struct {
	Group      string
	GroupIndex int
	Role       string
	Position   int // 1-based across the whole template
}

var conditionalRe = regexp.MustCompile(`(?i)\((if applicable|if required|if needed|if using [^)]*|if updating [^)]*)\)`)

// IsConditional reports whether an item's text marks it as conditional, so
// N/A is an expected answer: "(if applicable)", "(if required)", "(if
// needed)", "(if using …)" or "(if updating …)".
func IsConditional(text string) bool { return conditionalRe.MatchString(text) }

// DueAfterFromHeading returns the monitoring window a heading names, or 0.
func DueAfterFromHeading(heading string) time.Duration {
	h := strings.ToLower(heading)
	switch {
	case strings.Contains(h, "(first 2 hours)"):
		return 2 * time.Hour
	case strings.Contains(h, "(first 24 hours)"):
		return 24 * time.Hour
	case strings.Contains(h, "weekly"):
		return 7 * 24 * time.Hour
	}
	return 0
}

// SplitItemText splits an item's Markdown into its **bold** lead (the title)
// and the rest (the detail). Without a bold lead, the whole text is the title.
func SplitItemText(text string) (title, detail string) {
	if strings.HasPrefix(text, "**") {
		if end := strings.Index(text[2:], "**"); end > 0 {
			return text[2 : 2+end], strings.TrimSpace(text[2+end+2:])
		}
	}
	return text, ""
}
