package checklist

import (
	"slices"
	"strconv"
	"strings"
)

// Marks are what a deployment's Markdown export writes into its
// template's source. Header, Trailer, item notes and slot marks are
// Markdown that the caller builds, quoting every value that comes from
// people with Escape; note values are plain text that Fill escapes.
type Marks struct {
	// Header is written after the title (or at the top).
	Header string
	// Items by path: whether the box is ticked, and a note to add after
	// the item's text (who and when). An item not in the map keeps its box.
	Items map[string]ItemMark
	// Slots by position (1-based, in template order): the signer's name
	// and the date, written into the blanks.
	Slots map[int]SlotMark
	// Notes by position: the value, written into the blanks.
	Notes map[int]string
	// Trailer is added at the end.
	Trailer string
}

// ItemMark is one item's state in an export.
type ItemMark struct {
	Ticked bool
	Note   string // one line of Markdown
}

// SlotMark is one signed slot in an export: Markdown, one line each.
type SlotMark struct{ Name, Date string }

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// Fill writes marks into src, the source of a template version: boxes
// ticked (or unticked) in place, notes after items' text, names and dates
// in the sign-off blanks, values in the note fields' blanks, the header
// after the title and the trailer at the end. Every other byte stays as
// it is.
func Fill(src []byte, m Marks) ([]byte, error) {
	s, err := newSource(src)
	if err != nil {
		return nil, err
	}
	d, err := read(s)
	if err != nil {
		return nil, err
	}
	nl := s.newline()
	var edits []edit
	for pi, ph := range d.phases {
		for si, sec := range ph.sections {
			edits = itemEdits(edits, s, sec.items, strconv.Itoa(pi+1)+"."+strconv.Itoa(si+1), m.Items)
		}
	}
	pos := 0
	for _, g := range d.groups {
		for _, sl := range g.slots {
			pos++
			if v, ok := m.Slots[pos]; ok {
				edits = append(edits, slotEdits(sl, v)...)
			}
		}
	}
	for i, f := range d.fields {
		if v := strings.TrimSpace(m.Notes[i+1]); v != "" && f.blank.start >= 0 {
			text := Escape(v)
			if f.long {
				text = escapeLines(v, nl)
			}
			edits = append(edits, edit{f.blank.start, f.blank.end, text})
		}
	}
	if m.Header != "" {
		// A blank line on each side, so the header neither joins the line
		// above it nor takes the one below as a lazy continuation.
		header := lines(m.Header, nl) + nl + nl
		switch at := d.headerAt; {
		case at == len(src) && !endsLine(src):
			header = nl + nl + header
		case at > s.body:
			header = nl + header
		}
		edits = append(edits, edit{d.headerAt, d.headerAt, header})
	}
	out := apply(src, edits)
	if m.Trailer != "" {
		if len(out) > 0 && !endsLine(out) {
			out = append(out, nl...)
		}
		out = append(out, nl+lines(m.Trailer, nl)+nl...)
	}
	return out, nil
}

func itemEdits(edits []edit, s *source, items []*item, prefix string, marks map[string]ItemMark) []edit {
	for i, it := range items {
		path := prefix + "." + strconv.Itoa(i+1)
		mark, ok := marks[path]
		switch c := s.raw[it.box+1]; {
		case !ok:
		case mark.Ticked && c != 'x' && c != 'X':
			edits = append(edits, edit{it.box + 1, it.box + 2, "x"})
		case !mark.Ticked && (c == 'x' || c == 'X'):
			edits = append(edits, edit{it.box + 1, it.box + 2, " "})
		}
		if mark.Note != "" {
			edits = append(edits, edit{it.textEnd, it.textEnd, " — " + oneLine(mark.Note)})
		}
		edits = itemEdits(edits, s, it.children, path, marks)
	}
	return edits
}

// slotEdits writes a signature into a slot's blanks: the name and the
// date each in theirs, or both in the one there is.
func slotEdits(sl *slot, v SlotMark) []edit {
	name, date := oneLine(v.Name), oneLine(v.Date)
	switch {
	case sl.name.start >= 0 && sl.date.start >= 0 && sl.name != sl.date:
		return []edit{{sl.name.start, sl.name.end, name}, {sl.date.start, sl.date.end, date}}
	case sl.name.start >= 0:
		return []edit{{sl.name.start, sl.name.end, name + ", " + date}}
	case sl.date.start >= 0:
		return []edit{{sl.date.start, sl.date.end, name + ", " + date}}
	}
	return nil
}

// apply makes the edits, which do not overlap, in one pass.
func apply(src []byte, edits []edit) []byte {
	slices.SortStableFunc(edits, func(a, b edit) int { return a.start - b.start })
	out := make([]byte, 0, len(src)+len(src)/8)
	at := 0
	for _, e := range edits {
		out = append(out, src[at:e.start]...)
		out = append(out, e.text...)
		at = e.end
	}
	return append(out, src[at:]...)
}

func endsLine(b []byte) bool { return len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') }

// lines writes text of "\n"-separated lines with the document's line ending.
func lines(text, nl string) string { return strings.ReplaceAll(text, "\n", nl) }

// oneLine keeps Markdown the caller built on the line it is written into.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
