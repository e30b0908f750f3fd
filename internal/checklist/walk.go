package checklist

import (
	"strings"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
)

// A document is read in two passes. The first (walker) lists, in document
// order, the pieces that matter to a checklist: headings, task items,
// sign-off lines and tables, note fields, rules, and the content between
// them. The second (outline) arranges the pieces into phases, sections
// and items.

type pieceKind int

const (
	pieceContent pieceKind = iota
	pieceHeading
	pieceItem
	pieceSlots
	pieceField
	pieceRule
)

type piece struct {
	kind  pieceKind
	line  int
	owner *item // the task item the piece stands in, or nil

	heading *ast.Heading // pieceHeading
	level   int
	text    string

	item    *item   // pieceItem
	frag    frag    // pieceContent
	slots   []*slot // pieceSlots
	field   *field  // pieceField
	topRule bool    // pieceRule: a rule between top-level blocks
}

// item is a task item as read, with where its box and text are.
type item struct {
	line     int
	depth    int
	para     ast.Node
	text     string
	box      int // offset of the "[" of its box in the source
	textEnd  int // offset just after its text
	checked  bool
	body     content // blocks under its text, before its sub-items
	after    content // what follows it, before the next item
	children []*item
}

// slot is a sign-off slot as read, with the blanks an export fills in.
type slot struct {
	role  string
	line  int
	group string
	name  span // where the signer's name goes (empty span: insert there)
	date  span
}

// field is a note field as read, with the blank an export fills in.
type field struct {
	name  string
	long  bool
	lines int
	line  int
	blank span // the blanks: the "___" after the name, or a long field's lines
}

// span is a range of source offsets; valid when end >= start >= 0.
type span struct{ start, end int }

var noSpan = span{-1, -1}

type walker struct {
	s      *source
	src    []byte // what goldmark read: s.md[s.body:]
	pieces []piece
	items  int
	err    error

	holds  map[ast.Node]bool    // containers holding items, slots or fields
	slotOf map[ast.Node][]*slot // sign-off lines (list items) and tables
	field  map[ast.Node]*field  // note fields (paragraphs)
	taken  map[ast.Node]bool    // rules of underscores a long field took
}

// abs turns an offset in what goldmark read into an offset in the source.
func (w *walker) abs(off int) int { return off + w.s.body }

func (w *walker) lineOf(n ast.Node) int { return w.s.line(w.abs(max(n.Pos(), 0))) }

func walk(s *source, doc ast.Node) ([]piece, error) {
	w := &walker{s: s, src: s.md[s.body:], holds: map[ast.Node]bool{}, slotOf: map[ast.Node][]*slot{},
		field: map[ast.Node]*field{}, taken: map[ast.Node]bool{}}
	w.recognise(doc)
	for n := doc.FirstChild(); n != nil && w.err == nil; n = n.NextSibling() {
		w.block(n, nil)
	}
	return w.pieces, w.err
}

// recognise finds the sign-off lines and tables and the note fields (none
// inside a task item: there they are the item's text), and marks the
// containers that hold them or task items.
func (w *walker) recognise(doc ast.Node) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *east.TaskCheckBox:
			w.mark(n.Parent().Parent())
		case *ast.ListItem:
			if s := w.slotLine(n); s != nil {
				w.slotOf[n] = []*slot{s}
				w.mark(n)
				return ast.WalkSkipChildren, nil
			}
		case *east.Table:
			if slots := w.slotTable(n); len(slots) > 0 {
				w.slotOf[n] = slots
				w.mark(n)
				return ast.WalkSkipChildren, nil
			}
		case *ast.Paragraph:
			if f := w.fieldOf(n); f != nil {
				w.field[n] = f
				w.mark(n)
			}
		}
		return ast.WalkContinue, nil
	})
}

// mark notes that n's containers hold something the outline needs.
func (w *walker) mark(n ast.Node) {
	for p := n.Parent(); p != nil && !w.holds[p]; p = p.Parent() {
		w.holds[p] = true
	}
}

// block lists the pieces of one block, standing in the task item owner.
func (w *walker) block(n ast.Node, owner *item) {
	if w.err != nil || w.taken[n] {
		return
	}
	switch {
	case isTask(n):
		w.task(n.(*ast.ListItem), owner)
	case w.slotOf[n] != nil:
		w.add(piece{kind: pieceSlots, line: w.lineOf(n), slots: w.slotOf[n]})
	case w.field[n] != nil:
		w.add(piece{kind: pieceField, line: w.lineOf(n), field: w.field[n]})
	case n.Kind() == ast.KindThematicBreak && n.Parent().Kind() == ast.KindDocument:
		w.add(piece{kind: pieceRule, line: w.lineOf(n), topRule: true})
	case n.Kind() == ast.KindHeading && n.Parent().Kind() == ast.KindDocument:
		h := n.(*ast.Heading)
		w.add(piece{kind: pieceHeading, line: w.lineOf(n), heading: h, level: h.Level, text: plainInline(h, w.src)})
	case w.holds[n]:
		w.container(n, owner)
	case n.Kind() == ast.KindListItem:
		// A plain bullet among tasks, shown as the bullet it is.
		w.add(piece{kind: pieceContent, line: w.lineOf(n), owner: owner,
			frag: frag{nodes: children(n), list: n.Parent().(*ast.List), item: n}})
	default:
		w.add(piece{kind: pieceContent, line: w.lineOf(n), owner: owner, frag: frag{nodes: []ast.Node{n}}})
	}
}

// container lists the pieces of a list, list item or quote that holds
// items, slots or fields. A plain list item's own blocks (its label) stand
// before what it holds, shown as the bullet they are.
func (w *walker) container(n ast.Node, owner *item) {
	li, plain := n.(*ast.ListItem)
	var own []ast.Node
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if plain && !w.holds[c] && !isTask(c) && w.slotOf[c] == nil && w.field[c] == nil {
			own = append(own, c)
			continue
		}
		if plain && len(own) > 0 {
			w.add(piece{kind: pieceContent, line: w.lineOf(own[0]), owner: owner,
				frag: frag{nodes: own, list: li.Parent().(*ast.List), item: li}})
		}
		plain, own = false, nil
		w.block(c, owner)
	}
}

// task lists a task item and what stands in it.
func (w *walker) task(li *ast.ListItem, owner *item) {
	it := w.newItem(li, owner)
	if w.err != nil {
		return
	}
	w.add(piece{kind: pieceItem, line: it.line, owner: owner, item: it})
	for c := li.FirstChild().NextSibling(); c != nil; c = c.NextSibling() {
		w.block(c, it)
	}
}

func (w *walker) newItem(li *ast.ListItem, owner *item) *item {
	para := li.FirstChild()
	box := para.FirstChild().(*east.TaskCheckBox)
	it := &item{line: w.lineOf(box), depth: 1, para: para, box: w.abs(box.Pos()), checked: box.IsChecked}
	if owner != nil {
		it.depth = owner.depth + 1
	}
	w.items++
	switch {
	case it.depth > MaxDepth:
		w.err = parseErr(it.line, "item is nested deeper than %d levels", MaxDepth)
	case w.items > MaxItems:
		w.err = parseErr(it.line, "more than %d checklist items", MaxItems)
	}
	it.text, it.textEnd = w.itemText(para, box)
	if w.err == nil && it.text == "" {
		w.err = parseErr(it.line, "checklist item has no text")
	}
	return it
}

// itemText is the Markdown of an item's first paragraph after its box,
// its lines joined by "\n" without their trailing blanks, and the offset
// where the text ends.
func (w *walker) itemText(para ast.Node, box *east.TaskCheckBox) (string, int) {
	var lines []string
	end := 0
	ls := para.Lines()
	for i := range ls.Len() {
		seg := ls.At(i)
		start := seg.Start
		if i == 0 {
			start = min(box.Pos()+3, seg.Stop)
		}
		l := strings.TrimRight(string(w.src[start:seg.Stop]), " \t\r\n")
		if i == 0 {
			l = strings.TrimLeft(l, " \t")
		}
		if l != "" || len(lines) > 0 {
			lines = append(lines, l)
		}
		if l != "" {
			end = w.abs(start + len(strings.TrimRight(string(w.src[start:seg.Stop]), " \t\r\n")))
		}
	}
	return strings.Join(lines, "\n"), end
}

// slotLine reads a list item that is a sign-off line.
func (w *walker) slotLine(li *ast.ListItem) *slot {
	p := li.FirstChild()
	if p == nil || isTask(li) || inTask(li) || p.Lines().Len() != 1 {
		return nil
	}
	seg := p.Lines().At(0)
	l := strings.TrimRight(string(seg.Value(w.src)), "\r\n")
	role, blanks, ok := slotLine(l)
	if !ok || len(blanks) < 2 {
		return nil
	}
	at := func(b []int) span { return span{w.abs(seg.Start + b[0]), w.abs(seg.Start + b[1])} }
	return &slot{role: role, line: w.lineOf(li), name: at(blanks[0]), date: at(blanks[len(blanks)-1])}
}

// slotTable reads a sign-off table: a slot for each row naming a role.
func (w *walker) slotTable(t *east.Table) []*slot {
	if inTask(t) || t.FirstChild() == nil {
		return nil
	}
	var header []string
	for c := t.FirstChild().FirstChild(); c != nil; c = c.NextSibling() {
		header = append(header, plainInline(c, w.src))
	}
	roleCol, nameCol, dateCol, ok := signoffColumns(header)
	if !ok {
		return nil
	}
	var slots []*slot
	for row := t.FirstChild().NextSibling(); row != nil; row = row.NextSibling() {
		cells := children(row)
		if roleCol >= len(cells) {
			continue
		}
		role := roleName(plainInline(cells[roleCol], w.src))
		if role == "" {
			continue
		}
		slots = append(slots, &slot{role: role, line: w.lineOf(row), name: w.cell(cells, nameCol), date: w.cell(cells, dateCol)})
	}
	return slots
}

// cell is where a table cell's text is, or noSpan.
func (w *walker) cell(cells []ast.Node, i int) span {
	if i < 0 || i >= len(cells) {
		return noSpan
	}
	ls := cells[i].Lines()
	if ls.Len() == 0 {
		return noSpan
	}
	seg := ls.At(0)
	return span{w.abs(seg.Start), w.abs(seg.Stop)}
}

func children(n ast.Node) []ast.Node {
	var out []ast.Node
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		out = append(out, c)
	}
	return out
}

// fieldOf reads a paragraph that is a note field; a long one takes the
// rules of underscores right below it.
func (w *walker) fieldOf(p *ast.Paragraph) *field {
	if p.Lines().Len() != 1 || inTask(p) {
		return nil
	}
	if li, ok := p.Parent().(*ast.ListItem); ok && li.FirstChild() == ast.Node(p) {
		return nil // a bullet: "- **Name**: ___" is text
	}
	seg := p.Lines().At(0)
	l := strings.TrimRight(string(seg.Value(w.src)), "\r\n")
	name, long, ok := fieldLine(l)
	if !ok {
		return nil
	}
	f := &field{name: name, long: long, line: w.lineOf(p)}
	if !long {
		b := blanksRe.FindStringIndex(l)
		f.blank = span{w.abs(seg.Start + b[0]), w.abs(seg.Start + b[1])}
		return f
	}
	f.blank = noSpan
	for n := p.NextSibling(); n != nil && n.Kind() == ast.KindThematicBreak && !n.HasBlankPreviousLines(); n = n.NextSibling() {
		start := w.abs(n.Pos())
		l := strings.TrimSpace(w.s.lineText(w.s.line(start)))
		if strings.Trim(l, "_") != "" {
			break
		}
		if f.blank.start < 0 {
			f.blank.start = w.s.lines[w.s.line(start)-1]
		}
		f.blank.end = w.s.lineEnd(start)
		w.taken[n] = true
		f.lines++
	}
	if f.lines == 0 {
		return nil
	}
	return f
}

func (w *walker) add(p piece) { w.pieces = append(w.pieces, p) }
