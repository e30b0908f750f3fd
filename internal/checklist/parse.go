package checklist

import (
	"fmt"
	"strings"

	"github.com/signoff/signoff/internal/signoff"
)

// ParseError is malformed input, located by its 1-based line number.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Unwrap presents the error as a *signoff.Error with code EINVALID, so the
// web layer shows "line N: msg" to the person who uploaded the template
// while callers that want the line can still use errors.As on *ParseError.
func (e *ParseError) Unwrap() error {
	return &signoff.Error{Code: signoff.EINVALID, Message: e.Error()}
}

func parseErr(line int, format string, args ...any) error {
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads a Markdown checklist template. The ID, slug, version and
// creation fields of the result are left for the caller; so is the title
// when the document has no # heading. Errors are *ParseError.
func Parse(src []byte) (*signoff.Template, error) {
	lines, err := splitLines(src)
	if err != nil {
		return nil, err
	}
	p := &parser{blk: &block{top: true}}
	for i := 0; i < len(lines); i++ {
		skip, err := p.line(lines, i)
		if err != nil {
			return nil, err
		}
		i += skip
	}
	return p.finish()
}

// parser holds the state between lines. Paragraph text waits in para and
// paras until the next structural line shows where it belongs.
type parser struct {
	t    signoff.Template
	desc []string // paragraphs of the description
	blk  *block   // the ## heading being read, or the top of the document

	para      []string // lines of the paragraph being read
	paras     []string // finished paragraphs not yet placed
	fence     string   // marker of the open code fence, or ""
	fenceLine int

	cont    bool     // the line before was an item or its continuation
	wrapped []string // continuation lines of the last item, joined by endItem
	content bool     // an item, sign-off line, note field or rule came since the last heading
	started bool     // a ##, ###, item, sign-off line or note field has been read

	titleLine   int
	items       int
	unit        int // indentation unit: 0 until an item is indented, 2, 4 or tabUnit
	unitLine    int
	orphanLine  int // first ### before any ##
	signoffLine int // line of the sign-off ## heading
	notesLine   int // line of the notes ## heading
}

// line reads lines[i] and returns how many following lines it consumed.
func (p *parser) line(lines []string, i int) (int, error) {
	no, l := i+1, lines[i]
	if p.fence != "" {
		p.para = append(p.para, l)
		if fenceCloses(l, p.fence) {
			p.fence = ""
		}
		return 0, nil
	}
	if l == "" {
		p.endPara()
		p.endItem()
		return 0, nil
	}
	// Cheap tests of the first character spare most lines the regexps.
	first := l[0]
	if lead := strings.TrimLeft(l, " \t"); lead != "" && strings.IndexByte("-*+", lead[0]) >= 0 {
		if indent, text, ok := taskItem(l); ok {
			return 0, p.item(no, indent, text)
		}
		if m := slotRe.FindStringSubmatch(l); m != nil {
			return 0, p.slot(no, m[1])
		}
	}
	if first == '#' {
		if level, text, ok := heading(l); ok {
			return 0, p.heading(no, level, text)
		}
	}
	if (first == '-' || first == '*' || first == '_') && (ruleRe.MatchString(l) || underscoreRe.MatchString(l)) {
		// A lone line of underscores is a rule; under a "**Field**:" line
		// it is a long field's blank and the field consumes it.
		p.place()
		p.content = true
		return 0, nil
	}
	if strings.HasPrefix(l, "**") {
		if m := shortFieldRe.FindStringSubmatch(l); m != nil {
			return 0, p.field(no, signoff.NoteField{Name: m[1]})
		}
		if m := longFieldRe.FindStringSubmatch(l); m != nil {
			n := 0
			for i+1+n < len(lines) && underscoreRe.MatchString(lines[i+1+n]) {
				n++
			}
			if n > 0 {
				return n, p.field(no, signoff.NoteField{Name: m[1], Long: true, Lines: n})
			}
		}
	}
	if marker := fenceOpen(l); marker != "" {
		// A fence opens only at column 0 and ends an item's text; Render
		// indents wrapped lines, so they can never open one.
		p.endItem()
		p.fence, p.fenceLine = marker, no
		p.para = append(p.para, l)
		return 0, nil
	}
	if p.cont {
		return 0, p.continueItem(no, strings.TrimLeft(l, " \t"))
	}
	p.para = append(p.para, l)
	return 0, nil
}

// endPara finishes the paragraph being read.
func (p *parser) endPara() {
	if len(p.para) > 0 {
		p.paras = append(p.paras, strings.Join(p.para, "\n"))
		p.para = nil
	}
}

// place moves waiting paragraphs into the nearest intro, before a structural
// line changes what "nearest" means.
func (p *parser) place() {
	p.endPara()
	if len(p.paras) > 0 {
		target := p.introTarget()
		*target = append(*target, p.paras...)
		p.paras = nil
	}
	p.endItem()
}

// introTarget is the intro that stray paragraphs join: the one Render writes
// closest above them, so a second import puts them in the same place.
func (p *parser) introTarget() *[]string {
	b := p.blk
	if b.kind != kindNotes && len(b.sections) > 0 && b.sections[len(b.sections)-1].explicit {
		return &b.sections[len(b.sections)-1].intro
	}
	if b.top {
		return &p.desc
	}
	return &b.intro
}

// finish places the last paragraphs, closes the last heading and checks the
// document as a whole.
func (p *parser) finish() (*signoff.Template, error) {
	if p.fence != "" {
		return nil, parseErr(p.fenceLine, "code fence is never closed")
	}
	p.endPara()
	if p.content {
		p.t.Footer = strings.Join(p.paras, "\n\n")
		p.paras = nil
	}
	p.place()
	if err := p.closeBlock(); err != nil {
		return nil, err
	}
	if p.items == 0 {
		return nil, parseErr(1, "no checklist items found")
	}
	p.t.Description = strings.Join(p.desc, "\n\n")
	p.t.NotesFirst = p.notesLine != 0 && p.signoffLine != 0 && p.notesLine < p.signoffLine
	return &p.t, nil
}
