package checklist

import (
	"strings"

	"github.com/signoff/signoff/internal/signoff"
)

// blockKind is what a ## heading turns out to hold. It is unknown until the
// first item, sign-off line or note field under the heading.
type blockKind int

const (
	kindUnknown blockKind = iota
	kindChecklist
	kindSignoff
	kindNotes
)

// block collects one ## heading, or the top of the document before any ##,
// until the next ## shows it is complete.
type block struct {
	line     int
	title    string
	top      bool
	kind     blockKind
	intro    []string // paragraphs
	sections []section
	fields   []signoff.NoteField
}

// section is a ### heading under a block: a checklist section or a sign-off
// group. The untitled one holds what comes before the block's first ###.
type section struct {
	line     int
	title    string
	explicit bool
	intro    []string
	depth    int // nesting level of the last item read, 0 before the first
	items    []signoff.TemplateItem
	slots    []signoff.SignoffSlot
}

// current returns the section that items and sign-off lines go to, adding
// the untitled one if the block has no ### yet.
func (b *block) current() *section {
	if len(b.sections) == 0 {
		b.sections = append(b.sections, section{line: b.line})
	}
	return &b.sections[len(b.sections)-1]
}

// closeBlock adds the finished block to the template.
func (p *parser) closeBlock() error {
	b := p.blk
	t := &p.t
	switch {
	case b.top:
		// The top's paragraphs are the description; it becomes an untitled
		// phase only if it holds items or ### sections.
		if len(b.sections) > 0 {
			t.Phases = append(t.Phases, b.phase())
		}
	case b.kind == kindSignoff:
		t.SignoffHeading = b.title
		intro := b.intro
		for _, s := range b.sections {
			// Sign-off groups have no intro of their own.
			intro = append(intro, s.intro...)
			t.SignoffGroups = append(t.SignoffGroups, signoff.SignoffGroup{Name: s.title, Slots: s.slots})
		}
		t.SignoffIntro = strings.Join(intro, "\n\n")
	case b.kind == kindNotes:
		t.NotesHeading = b.title
		t.NotesIntro = strings.Join(b.intro, "\n\n")
		t.NoteFields = b.fields
	default:
		if p.orphanLine != 0 {
			return parseErr(p.orphanLine, "### heading before any ## heading; a document with ## phases needs a ## above each ###")
		}
		t.Phases = append(t.Phases, b.phase())
	}
	return nil
}

// phase converts a checklist block, working out each section's due time.
func (b *block) phase() signoff.Phase {
	ph := signoff.Phase{Title: b.title, Intro: strings.Join(b.intro, "\n\n")}
	for _, s := range b.sections {
		due := signoff.DueAfterFromHeading(s.title)
		if due == 0 {
			due = signoff.DueAfterFromHeading(b.title)
		}
		ph.Sections = append(ph.Sections, signoff.Section{
			Title:    s.title,
			Intro:    strings.Join(s.intro, "\n\n"),
			DueAfter: due,
			Items:    s.items,
		})
	}
	return ph
}
