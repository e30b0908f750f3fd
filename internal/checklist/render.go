package checklist

import (
	"strings"

	"github.com/signoff/signoff/internal/signoff"
)

// The blanks Render writes, as the seed has them.
var (
	nameBlank = strings.Repeat("_", 17) // after a role or a short field
	dateBlank = strings.Repeat("_", 9)  // after "Date:"
	longBlank = strings.Repeat("_", 49) // one line of a long field
)

// Render writes t as Markdown in the seed's canonical layout: blocks
// separated by one blank line, a section's first item right under its ###,
// two-space indentation, a rule before the notes heading and before the
// footer, and no newline after the last line. Render(Parse(seed)) is the
// seed byte for byte; for any other input Parse(Render(t)) equals t.
//
// Render expects a template Parse could have produced. Untitled phases and
// sections other than the first, for instance, are written as empty
// headings, which Parse rejects.
func Render(t *signoff.Template) []byte {
	var w writer
	if t.Title != "" {
		w.block("# " + t.Title)
	}
	w.block(t.Description)
	for i, ph := range t.Phases {
		if i > 0 || ph.Title != "" {
			w.block("## " + ph.Title)
		}
		w.block(ph.Intro)
		for j, s := range ph.Sections {
			renderSection(&w, s, j > 0)
		}
	}
	if t.NotesFirst {
		renderNotes(&w, t)
		renderSignoff(&w, t)
	} else {
		renderSignoff(&w, t)
		renderNotes(&w, t)
	}
	if t.Footer != "" {
		w.block("---")
		w.block(t.Footer)
	}
	return []byte(strings.Join(w.blocks, "\n\n"))
}

// writer collects blocks of lines; Render joins them with blank lines.
type writer struct{ blocks []string }

// block adds a block unless it is empty, so optional parts need no checks.
func (w *writer) block(s string) {
	if s != "" {
		w.blocks = append(w.blocks, s)
	}
}

func renderSection(w *writer, s signoff.Section, heading bool) {
	var head string
	if heading || s.Title != "" {
		head = "### " + s.Title
	}
	if s.Intro != "" {
		w.block(head)
		w.block(s.Intro)
		head = ""
	}
	// Top-level items are separated by blank lines, children are not; the
	// first item sits right under the heading.
	for _, it := range s.Items {
		var b strings.Builder
		if head != "" {
			b.WriteString(head + "\n")
			head = ""
		}
		writeItem(&b, it, 0)
		w.block(strings.TrimSuffix(b.String(), "\n"))
	}
	w.block(head)
}

func writeItem(b *strings.Builder, it signoff.TemplateItem, depth int) {
	indent := strings.Repeat("  ", depth)
	first, rest, wrapped := strings.Cut(it.Text, "\n")
	b.WriteString(indent + "- [ ] " + first + "\n")
	if wrapped {
		// Continuation lines go under the item's text, indented so they can
		// never be read as a heading, rule, field or fence.
		for line := range strings.SplitSeq(rest, "\n") {
			b.WriteString(indent + "  " + line + "\n")
		}
	}
	for _, c := range it.Children {
		writeItem(b, c, depth+1)
	}
}

func renderSignoff(w *writer, t *signoff.Template) {
	if len(t.SignoffGroups) == 0 {
		return
	}
	w.block("## " + orDefault(t.SignoffHeading, "Sign-off"))
	w.block(t.SignoffIntro)
	for i, g := range t.SignoffGroups {
		var lines []string
		if i > 0 || g.Name != "" {
			lines = append(lines, "### "+g.Name)
		}
		for _, s := range g.Slots {
			lines = append(lines, "- **"+s.Role+"**: "+nameBlank+" Date: "+dateBlank)
		}
		w.block(strings.Join(lines, "\n"))
	}
}

func renderNotes(w *writer, t *signoff.Template) {
	if len(t.NoteFields) == 0 {
		return
	}
	w.block("---")
	w.block("## " + orDefault(t.NotesHeading, "Notes"))
	w.block(t.NotesIntro)
	for _, f := range t.NoteFields {
		if !f.Long {
			w.block("**" + f.Name + "**: " + nameBlank)
			continue
		}
		// The trailing space after the colon is the seed's.
		lines := []string{"**" + f.Name + "**: "}
		for range max(f.Lines, 1) {
			lines = append(lines, longBlank)
		}
		w.block(strings.Join(lines, "\n"))
	}
}

// orDefault keeps a sign-off or notes block of a hand-built template
// readable: without a heading its lines would not parse.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
