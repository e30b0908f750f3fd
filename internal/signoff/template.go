package signoff

import (
	"regexp"
	"strconv"
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
	Description string // what stands under the title, before the checklist, as plain text
	Footer      string // what follows the file's last rule (---) after the checklist, as plain text

	// DescriptionHTML and FooterHTML are the same, rendered as GitHub
	// renders Markdown and sanitised.
	DescriptionHTML string
	FooterHTML      string

	Phases []Phase

	SignoffHeading string // the heading that holds the sign-off groups
	SignoffIntro   string
	SignoffGroups  []SignoffGroup

	NotesHeading string // the heading that holds the note fields
	NotesIntro   string
	NoteFields   []NoteField

	// NotesFirst is true when the notes heading comes before the sign-off
	// heading in the source; export keeps that order.
	NotesFirst bool

	// AllowMultipleSlots relaxes rule 4 for small teams: one person may sign
	// more than one slot of a deployment. Exports state when it was on.
	AllowMultipleSlots bool

	// Source is the Markdown exactly as imported, byte for byte: exporting
	// the template returns it, and a deployment's Markdown export is it
	// ticked in place.
	Source string

	CreatedAt time.Time
	CreatedBy string
}

// Phase is a top-level heading of the checklist (## under a # title).
// Intros are plain text; their HTML twins are rendered and sanitised.
type Phase struct {
	Title     string
	Intro     string // what stands between the heading and its first section or item
	IntroHTML string
	Sections  []Section
}

// Section is a heading one level below a phase (###). Items written
// directly under a phase, before any section heading, belong to a section
// with an empty title.
type Section struct {
	Title     string
	Intro     string
	IntroHTML string
	// DueAfter is how long after go-live the section's items are due, taken
	// from "(First 2 Hours)", "Within 30 minutes", "Weekly" and the like in
	// the section's heading or, failing that, its phase's (DueAfterFromHeading).
	// Zero means not timed.
	DueAfter time.Duration
	Items    []TemplateItem
}

// TemplateItem is one task list item ("- [ ] text", any bullet or number)
// with its nested task items.
type TemplateItem struct {
	Text string // the Markdown of its first paragraph after the box, as written
	// HTML is the text rendered as GitHub renders it (inline: links, code,
	// emphasis) and sanitised; BodyHTML the blocks written under the text
	// before the sub-items (code, tables, paragraphs), likewise.
	HTML     string
	BodyHTML string
	// After is what stands between the item (with its sub-items) and the
	// next item, where the page shows it: a label, a paragraph, a code
	// block, a sub-heading. Plain text; AfterHTML rendered.
	After     string
	AfterHTML string
	Children  []TemplateItem
}

// SignoffGroup is a named group of sign-off slots ("Technical Sign-off").
type SignoffGroup struct {
	Name  string
	Slots []SignoffSlot
	// Above is how many items stand above the group in the source: a
	// group anywhere in a template is a gate that attests to them. The
	// sign-off block at the end stands below every item.
	Above int
	// GoNoGo: the group's heading, or the heading of the block holding
	// it, says "Go/No-Go": it is signed before the deployment goes live.
	GoNoGo bool
}

// goNoGoRe finds "Go/No-Go" in a heading, however it is spelt: "Go / No
// Go", "go-no-go".
var goNoGoRe = regexp.MustCompile(`(?i)\bgo\s*[/-]?\s*no[\s-]*go\b`)

// IsGoNoGo reports whether a heading names a go/no-go gate.
func IsGoNoGo(heading string) bool { return goNoGoRe.MatchString(heading) }

// SignoffSlot is one "- **Role**: ____ Date: ____" line or one row of a
// sign-off table.
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
// A slot's Above is its group's when the group is a gate: not the final
// group, and items stand below it.
func (t *Template) Slots() []SlotDef {
	var out []SlotDef
	items := t.Counts().Items
	last := len(t.SignoffGroups) - 1
	for gi, g := range t.SignoffGroups {
		above := g.Above
		if gi == last || above >= items {
			above = 0
		}
		for _, s := range g.Slots {
			out = append(out, SlotDef{Group: g.Name, GroupIndex: gi, Role: s.Role, Position: len(out) + 1,
				Above: above, GoNoGo: g.GoNoGo && gi < last})
		}
	}
	return out
}

// SlotDef is a sign-off slot with its place in the template.
type SlotDef struct {
	Group      string
	GroupIndex int
	Role       string
	Position   int  // 1-based across the whole template
	Above      int  // a gate's: the items it attests to (SignoffGroup.Above); else 0
	GoNoGo     bool // signed before going live; never the final group
}

// conditionalRe finds the markers that make an item conditional: a
// parenthesised "(if …)", "(when …)", "(unless …)", "(optional)", "(where
// applicable)" or "(as needed)"-like remark anywhere, or "Optional" (with a
// colon, in brackets or emphasised) leading the text.
var conditionalRe = regexp.MustCompile(`(?i)\((?:if|when|unless)\b[^)]*\)` +
	`|\((?:optional(?:ly)?|where (?:applicable|needed|required)|as (?:applicable|appropriate|needed|required))\)` +
	`|^\s*(?:\*\*|__|\*|_)?\[?optional\b`)

// IsConditional reports whether an item's text marks it as conditional, so
// N/A is an expected answer: "(if applicable)", "(if using …)", "(when …)",
// "(optional)", "(as needed)", "Optional: …" and the like.
func IsConditional(text string) bool { return conditionalRe.MatchString(text) }

// dueRe finds a monitoring window in a heading: "(First 2 Hours)",
// "within 30 minutes", "Next 3 days", "first hour", "in the first week".
var dueRe = regexp.MustCompile(`(?i)\b(?:first|within|next)\s+(?:(\d{1,4}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty-eight|twenty-four)\s+)?` +
	`(min(?:ute)?s?|h(?:ou)?rs?|hours?|days?|weeks?|wks?)\b`)

// everyRe finds a recurring window: "Weekly", "Daily", "Hourly".
var everyRe = regexp.MustCompile(`(?i)\b(hourly|daily|weekly|monthly)\b`)

var dueWords = map[string]int{"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
	"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
	"twenty-four": 24, "thirty": 30, "forty-eight": 48}

// DueAfterFromHeading returns the monitoring window a heading names, or 0:
// "(First 2 Hours)", "Within 30 minutes", "First 3 days", "Next week",
// "Hourly", "Daily", "Weekly" (7 days), "Monthly" (30 days).
func DueAfterFromHeading(heading string) time.Duration {
	if m := dueRe.FindStringSubmatch(heading); m != nil {
		n := 1
		if m[1] != "" {
			if v, ok := dueWords[strings.ToLower(m[1])]; ok {
				n = v
			} else if v, err := strconv.Atoi(m[1]); err == nil {
				n = v
			}
		}
		if d := time.Duration(n) * dueUnit(m[2]); n > 0 {
			return d
		}
	}
	if m := everyRe.FindStringSubmatch(heading); m != nil {
		switch strings.ToLower(m[1]) {
		case "hourly":
			return time.Hour
		case "daily":
			return 24 * time.Hour
		case "weekly":
			return 7 * 24 * time.Hour
		default:
			return 30 * 24 * time.Hour
		}
	}
	return 0
}

func dueUnit(u string) time.Duration {
	switch u = strings.ToLower(u); {
	case strings.HasPrefix(u, "m"):
		return time.Minute
	case strings.HasPrefix(u, "h"):
		return time.Hour
	case strings.HasPrefix(u, "d"):
		return 24 * time.Hour
	}
	return 7 * 24 * time.Hour
}

// Item returns the template item at a 1-based path ("2.1.3.1"), or nil.
func (t *Template) Item(path string) *TemplateItem {
	parts := strings.Split(path, ".")
	idx := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil
		}
		idx[i] = n - 1
	}
	if len(idx) < 3 || idx[0] >= len(t.Phases) || idx[1] >= len(t.Phases[idx[0]].Sections) {
		return nil
	}
	items := t.Phases[idx[0]].Sections[idx[1]].Items
	var it *TemplateItem
	for _, i := range idx[2:] {
		if i >= len(items) {
			return nil
		}
		it = &items[i]
		items = it.Children
	}
	return it
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
