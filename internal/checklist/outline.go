package checklist

import (
	"fmt"
	"strings"

	"github.com/yuin/goldmark/ast"

	"github.com/signoff/signoff/internal/signoff"
)

// doc is a checklist as read: the outline of phases, sections and items,
// the sign-off and note blocks, and the content standing between them.
type doc struct {
	s        *source
	src      []byte
	title    string
	desc     content
	footer   content
	phases   []*phase
	warnings []Warning

	signoffHeading string
	signoffIntro   content
	groups         []*group

	notesHeading string
	notesIntro   content
	fields       []*field
	notesFirst   bool

	// headerAt is where an export's header goes: after the title's line,
	// else after the front matter, else at the top.
	headerAt int
}

type phase struct {
	title    string
	intro    content
	sections []*section
}

type section struct {
	title string
	intro content
	items []*item
}

type group struct {
	name   string
	slots  []*slot
	above  int  // items read before the group
	goNoGo bool // its heading or its block's says Go/No-Go
}

// read parses the source into a doc.
func read(s *source) (*doc, error) {
	pieces, err := walk(s, parseMarkdown(s))
	if err != nil {
		return nil, err
	}
	d := &doc{s: s, src: s.md[s.body:], headerAt: s.body}
	if err := d.outline(pieces); err != nil {
		return nil, err
	}
	d.warn(pieces)
	return d, nil
}

// claim is a heading whose part of the document holds sign-off slots or
// note fields and no items: a sign-off or notes block, not a phase.
type claim struct {
	notes bool
	end   int // index of the first piece after the block
}

// outline arranges the pieces. The document's only # heading, if no item
// comes before it, is its title. The shallowest other heading level makes
// phases, the next level used below it sections; deeper headings are
// content, shown where they stand.
func (d *doc) outline(pieces []piece) error {
	title := d.titleHeading(pieces)
	phaseLevel, sectionLevel := levels(pieces, title)
	footer := footerStart(pieces)
	claims := findClaims(pieces, title, phaseLevel, sectionLevel)

	b := builder{d: d}
	for i, p := range pieces {
		if i >= footer {
			d.footer.add(p.frag)
			continue
		}
		if b.claim != nil && i >= b.claim.end {
			b.claim = nil
		}
		switch p.kind {
		case pieceHeading:
			b.heading(i, p, title, phaseLevel, sectionLevel, claims[i])
		case pieceItem:
			b.item(p)
		case pieceSlots:
			b.slots(p)
		case pieceField:
			b.field(p)
		case pieceContent:
			b.content(p.frag, p.owner)
		}
	}
	if b.items == 0 {
		return parseErr(1, "no checklist items found; write each as a task list item: - [ ] text")
	}
	return nil
}

// titleHeading returns the index of the title heading, or -1.
func (d *doc) titleHeading(pieces []piece) int {
	title, h1 := -1, 0
	for i, p := range pieces {
		if p.kind == pieceItem && h1 == 0 {
			return -1
		}
		if p.kind == pieceHeading && p.level == 1 {
			title = i
			h1++
		}
	}
	if h1 != 1 || pieces[title].text == "" {
		return -1
	}
	d.title = pieces[title].text
	d.headerAt = d.lineAfter(pieces[title].heading)
	return title
}

// lineAfter is the offset of the line after a heading: after its text's
// line, or its underline's if it is a setext heading.
func (d *doc) lineAfter(h *ast.Heading) int {
	n := d.s.line(h.Pos() + d.s.body)
	if ls := h.Lines(); ls.Len() > 0 {
		n = d.s.line(ls.At(ls.Len()-1).Start + d.s.body)
		if !strings.HasPrefix(strings.TrimLeft(d.s.lineText(n), " "), "#") {
			n++ // the underline
		}
	}
	if n >= len(d.s.lines) {
		return len(d.s.raw)
	}
	return d.s.lines[n]
}

// levels returns the heading levels of phases and sections (0: none).
func levels(pieces []piece, title int) (phase, section int) {
	phase, section = 7, 7
	for i, p := range pieces {
		if p.kind == pieceHeading && i != title {
			phase = min(phase, p.level)
		}
	}
	for i, p := range pieces {
		if p.kind == pieceHeading && i != title && p.level > phase {
			section = min(section, p.level)
		}
	}
	if phase == 7 {
		phase = 0
	}
	if section == 7 {
		section = 0
	}
	return phase, section
}

// footerStart is the index of the first piece of the footer: the content
// after the document's last rule, when nothing but content follows it.
func footerStart(pieces []piece) int {
	for i := len(pieces) - 1; i >= 0; i-- {
		switch p := pieces[i]; {
		case p.kind == pieceRule && p.topRule:
			if i == len(pieces)-1 {
				return len(pieces)
			}
			return i + 1
		case p.kind != pieceContent || p.owner != nil:
			return len(pieces)
		}
	}
	return len(pieces)
}

// findClaims finds the sign-off and notes blocks among the phase and
// section headings.
func findClaims(pieces []piece, title, phaseLevel, sectionLevel int) map[int]*claim {
	claims := map[int]*claim{}
	for i := 0; i < len(pieces); i++ {
		p := pieces[i]
		if p.kind != pieceHeading || i == title || (p.level != phaseLevel && p.level != sectionLevel) {
			continue
		}
		end := i + 1
		var items, slots, fields bool
		for ; end < len(pieces); end++ {
			q := pieces[end]
			if q.kind == pieceHeading && q.level <= p.level {
				break
			}
			items = items || q.kind == pieceItem
			slots = slots || q.kind == pieceSlots
			fields = fields || q.kind == pieceField
		}
		if !items && (slots || fields) {
			claims[i] = &claim{notes: !slots, end: end}
			i = end - 1
		}
	}
	return claims
}

// builder places pieces one after another.
type builder struct {
	d     *doc
	phase *phase
	sec   *section
	claim *claim
	group string // the sign-off group being read
	block string // the heading of the sign-off block being read
	items int
}

func (b *builder) heading(i int, p piece, title, phaseLevel, sectionLevel int, c *claim) {
	d := b.d
	switch {
	case i == title:
	case b.claim != nil && !b.claim.notes:
		b.group = p.text
	case b.claim != nil:
		d.notesIntro.add(frag{nodes: nodesOf(p.heading)})
	case c != nil:
		b.claim, b.group, b.block = c, "", p.text
		if c.notes && d.notesHeading == "" {
			d.notesHeading = p.text
		}
		if !c.notes && d.signoffHeading == "" {
			d.signoffHeading = p.text
		}
	case p.level == phaseLevel:
		b.phase = &phase{title: p.text}
		d.phases = append(d.phases, b.phase)
		b.sec = nil
	case p.level == sectionLevel:
		b.ensurePhase()
		b.sec = &section{title: p.text}
		b.phase.sections = append(b.phase.sections, b.sec)
	default:
		b.content(frag{nodes: nodesOf(p.heading)}, nil)
	}
}

func (b *builder) ensurePhase() {
	if b.phase == nil {
		b.phase = &phase{}
		b.d.phases = append(b.d.phases, b.phase)
	}
}

func (b *builder) ensureSection() {
	b.ensurePhase()
	if b.sec == nil {
		b.sec = &section{}
		b.phase.sections = append(b.phase.sections, b.sec)
	}
}

func (b *builder) item(p piece) {
	b.items++
	if p.owner != nil {
		p.owner.children = append(p.owner.children, p.item)
		return
	}
	b.ensureSection()
	b.sec.items = append(b.sec.items, p.item)
}

// content places content where it stands: in the item it is written in
// (its body, or after its last sub-item), after the last item of the
// section, or in the intro of the section, phase, block or document.
func (b *builder) content(f frag, owner *item) {
	d := b.d
	switch {
	case owner != nil && len(owner.children) > 0:
		owner.children[len(owner.children)-1].after.add(f)
	case owner != nil:
		owner.body.add(f)
	case b.claim != nil && b.claim.notes:
		d.notesIntro.add(f)
	case b.claim != nil:
		d.signoffIntro.add(f)
	case b.sec != nil && len(b.sec.items) > 0:
		b.sec.items[len(b.sec.items)-1].after.add(f)
	case b.sec != nil:
		b.sec.intro.add(f)
	case b.phase != nil:
		b.phase.intro.add(f)
	default:
		d.desc.add(f)
	}
}

// slots adds sign-off slots: in a sign-off block, to the group its latest
// sub-heading names; elsewhere, to a group named after their section.
func (b *builder) slots(p piece) {
	d := b.d
	name := b.group
	if b.claim == nil {
		switch {
		case b.sec != nil && b.sec.title != "":
			name = b.sec.title
		case b.phase != nil:
			name = b.phase.title
		}
	}
	if name == "" && b.claim != nil {
		name = b.block // a gate written as one heading over its slots
	}
	if len(d.groups) == 0 || d.groups[len(d.groups)-1].name != name {
		block := ""
		if b.claim != nil {
			block = b.block
		}
		d.groups = append(d.groups, &group{name: name, above: b.items,
			goNoGo: signoff.IsGoNoGo(name) || signoff.IsGoNoGo(block)})
	}
	g := d.groups[len(d.groups)-1]
	for _, s := range p.slots {
		s.group = name
		g.slots = append(g.slots, s)
	}
}

func (b *builder) field(p piece) {
	d := b.d
	if len(d.fields) == 0 && len(d.groups) == 0 {
		d.notesFirst = true
	}
	d.fields = append(d.fields, p.field)
}

// warn notes what an import preview should point out.
func (d *doc) warn(pieces []piece) {
	if d.s.front.invalid {
		d.warnf(d.s.front.line, "the front matter above this line is not YAML key: value pairs; its title is not used")
	}
	checked, first := 0, 0
	roles := map[string]int{}
	for _, p := range pieces {
		switch {
		case p.kind == pieceItem && p.item.checked:
			if checked++; checked == 1 {
				first = p.line
			}
		case p.kind == pieceSlots:
			for _, s := range p.slots {
				if l, dup := roles[s.role]; dup {
					d.warnf(s.line, "%q signs a second slot (also on line %d): two different people holding the role must sign", s.role, l)
				}
				roles[s.role] = s.line
			}
		}
	}
	if checked > 0 {
		d.warnf(first, "%s ticked in the file; every deployment starts with all items open", plural(checked, "item is", "items are"))
	}
	if n := len(d.groups); n > 0 && d.groups[n-1].goNoGo && len(d.groups[n-1].slots) > 0 {
		d.warnf(d.groups[n-1].slots[0].line, "%q is the last sign-off group, so it is the final approval (signed after every item), not a go/no-go gate; add a sign-off group below it", d.groups[n-1].name)
	}
}

func (d *doc) warnf(line int, format string, args ...any) {
	d.warnings = append(d.warnings, Warning{Line: line, Msg: fmt.Sprintf(format, args...)})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// template converts the doc, rendering its content.
func (d *doc) template() *signoff.Template {
	t := &signoff.Template{Title: d.title, Source: string(d.s.raw), NotesFirst: d.notesFirst && len(d.groups) > 0,
		SignoffHeading: d.signoffHeading, NotesHeading: d.notesHeading}
	h := newHTMLWriter(d.src)
	t.Description = h.content(&d.desc, &t.DescriptionHTML)
	if t.Description == "" && d.s.front.description != "" {
		t.Description, t.DescriptionHTML = d.s.front.description, "<p>"+escapeHTML(d.s.front.description)+"</p>"
	}
	t.Footer = h.content(&d.footer, &t.FooterHTML)
	var ignored string
	t.SignoffIntro = h.content(&d.signoffIntro, &ignored)
	t.NotesIntro = h.content(&d.notesIntro, &ignored)
	t.Phases = make([]signoff.Phase, len(d.phases))
	for i, ph := range d.phases {
		p := &t.Phases[i]
		p.Title = ph.title
		p.Intro = h.content(&ph.intro, &p.IntroHTML)
		p.Sections = make([]signoff.Section, len(ph.sections))
		for j, s := range ph.sections {
			sec := &p.Sections[j]
			sec.Title, sec.DueAfter = s.title, signoff.DueAfterFromHeading(s.title)
			if sec.DueAfter == 0 {
				sec.DueAfter = signoff.DueAfterFromHeading(ph.title)
			}
			sec.Intro = h.content(&s.intro, &sec.IntroHTML)
			sec.Items = d.items(h, s.items)
		}
	}
	for _, g := range d.groups {
		sg := signoff.SignoffGroup{Name: g.name, Above: g.above, GoNoGo: g.goNoGo}
		for _, s := range g.slots {
			sg.Slots = append(sg.Slots, signoff.SignoffSlot{Role: s.role})
		}
		t.SignoffGroups = append(t.SignoffGroups, sg)
	}
	for _, f := range d.fields {
		t.NoteFields = append(t.NoteFields, signoff.NoteField{Name: f.name, Long: f.long, Lines: f.lines})
	}
	h.flush()
	return t
}

func (d *doc) items(h *htmlWriter, in []*item) []signoff.TemplateItem {
	if len(in) == 0 {
		return nil
	}
	out := make([]signoff.TemplateItem, len(in))
	for i, it := range in {
		o := &out[i]
		o.Text = it.text
		h.inline(it.para, &o.HTML)
		h.content(&it.body, &o.BodyHTML)
		o.Children = d.items(h, it.children)
		o.After = h.content(&it.after, &o.AfterHTML)
	}
	return out
}

func nodesOf(n ast.Node) []ast.Node { return []ast.Node{n} }
