package checklist

import (
	"strings"

	"github.com/signoff/signoff/internal/signoff"
)

// The handlers for the structural lines: headings, items and their wrapped
// lines, sign-off lines and note fields. Each checks that the line fits where
// it stands, places waiting paragraphs, then records the line.

func (p *parser) heading(no, level int, text string) error {
	if text == "" {
		return parseErr(no, "heading has no text")
	}
	p.place()
	p.content = false
	switch level {
	case 1:
		if p.titleLine != 0 {
			return parseErr(no, "second # title; the first is on line %d", p.titleLine)
		}
		if p.started {
			return parseErr(no, "the # title must come before any other heading, item or field")
		}
		p.t.Title, p.titleLine = text, no
		return nil
	case 2:
		if err := p.closeBlock(); err != nil {
			return err
		}
		p.blk = &block{line: no, title: text}
	default:
		if p.blk.kind == kindNotes {
			return parseErr(no, "### heading under the notes heading on line %d; note fields cannot be grouped", p.blk.line)
		}
		if p.blk.top && p.orphanLine == 0 {
			p.orphanLine = no
		}
		p.blk.sections = append(p.blk.sections, section{line: no, title: text, explicit: true})
	}
	p.started = true
	return nil
}

func (p *parser) item(no int, indent, text string) error {
	if text == "" {
		return parseErr(no, "checklist item has no text")
	}
	if err := checkText(no, "item text", text); err != nil {
		return err
	}
	b := p.blk
	switch b.kind {
	case kindSignoff:
		return parseErr(no, "checklist item under the sign-off heading on line %d", b.line)
	case kindNotes:
		return parseErr(no, "checklist item under the notes heading on line %d", b.line)
	}
	if p.items++; p.items > MaxItems {
		return parseErr(no, "more than %d checklist items", MaxItems)
	}
	level, err := p.indentLevel(no, indent)
	if err != nil {
		return err
	}
	p.place()
	if !b.top {
		b.kind = kindChecklist
	}
	sec := b.current()
	switch {
	case level > 3:
		return parseErr(no, "item is nested deeper than 3 levels")
	case level > sec.depth+1 && sec.depth == 0:
		return parseErr(no, "item is indented but has no parent item above it")
	case level > sec.depth+1:
		return parseErr(no, "item is indented more than one level below the item above it")
	}
	list := &sec.items
	for range level - 1 {
		list = &(*list)[len(*list)-1].Children
	}
	*list = append(*list, signoff.TemplateItem{Text: text})
	sec.depth = level
	p.started, p.content, p.cont = true, true, true
	return nil
}

// continueItem keeps a wrapped line of the last item's text.
func (p *parser) continueItem(no int, text string) error {
	if err := checkText(no, "item text", text); err != nil {
		return err
	}
	p.wrapped = append(p.wrapped, text)
	return nil
}

// endItem adds the wrapped lines to the last item once it is complete, in
// one join, so an item of many lines costs no more than its length.
func (p *parser) endItem() {
	p.cont = false
	if len(p.wrapped) == 0 {
		return
	}
	sec := p.blk.current()
	list := sec.items
	var last *signoff.TemplateItem
	for range sec.depth {
		last = &list[len(list)-1]
		list = last.Children
	}
	last.Text = strings.Join(append([]string{last.Text}, p.wrapped...), "\n")
	p.wrapped = nil
}

func (p *parser) slot(no int, role string) error {
	if blankName(role) {
		return parseErr(no, "sign-off line has no role name")
	}
	if err := checkText(no, "role name", role); err != nil {
		return err
	}
	b := p.blk
	switch {
	case b.top:
		return parseErr(no, "sign-off line before any ## heading; put sign-off lines under their own ## heading")
	case b.kind == kindChecklist:
		return parseErr(no, "sign-off line among checklist items (the ## heading on line %d holds items)", b.line)
	case b.kind == kindNotes:
		return parseErr(no, "sign-off line under the notes heading on line %d", b.line)
	case b.kind == kindUnknown:
		if p.signoffLine != 0 {
			return parseErr(b.line, "second sign-off heading; the first is on line %d", p.signoffLine)
		}
		b.kind, p.signoffLine = kindSignoff, b.line
	}
	p.place()
	sec := b.current()
	sec.slots = append(sec.slots, signoff.SignoffSlot{Role: role})
	p.started, p.content = true, true
	return nil
}

func (p *parser) field(no int, f signoff.NoteField) error {
	if blankName(f.Name) {
		return parseErr(no, "note field has no name")
	}
	if err := checkText(no, "field name", f.Name); err != nil {
		return err
	}
	b := p.blk
	switch {
	case b.top:
		return parseErr(no, "note field before any ## heading; put note fields under their own ## heading")
	case b.kind == kindChecklist:
		return parseErr(no, "note field among checklist items (the ## heading on line %d holds items)", b.line)
	case b.kind == kindSignoff:
		return parseErr(no, "note field under the sign-off heading on line %d", b.line)
	case b.kind == kindUnknown:
		if p.notesLine != 0 {
			return parseErr(b.line, "second notes heading; the first is on line %d", p.notesLine)
		}
		if len(b.sections) > 0 {
			return parseErr(b.sections[0].line, "### heading under the notes heading on line %d; note fields cannot be grouped", b.line)
		}
		b.kind, p.notesLine = kindNotes, b.line
	}
	p.place()
	b.fields = append(b.fields, f)
	p.started, p.content = true, true
	return nil
}
