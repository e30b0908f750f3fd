package checklist

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Limits on what Parse accepts. They keep one upload from costing the server
// much, and an editor can still show every line.
const (
	MaxLineBytes = 4000
	MaxItems     = 5000

	// maxTextBytes leaves room for what Render adds to a line (indentation,
	// "- [ ] ", the blanks of a sign-off line) so an accepted template
	// always renders to lines that Parse accepts again.
	maxTextBytes = MaxLineBytes - 100
)

// The line shapes the format is built from. Each is matched against a line
// whose trailing spaces and tabs are already gone.
var (
	headingRe    = regexp.MustCompile(`^(#{1,6})(?:[ \t]+(.*))?$`)
	ruleRe       = regexp.MustCompile(`^(?:-{3,}|\*{3,})$`)
	underscoreRe = regexp.MustCompile(`^_{3,}$`)
	slotRe       = regexp.MustCompile(`^[ \t]*[-*+][ \t]+\*\*(.*?)\*\*:[ \t]*_{3,}[ \t]+(?i:date):[ \t]*_{3,}$`)
	shortFieldRe = regexp.MustCompile(`^\*\*(.*?)\*\*:[ \t]*_{3,}$`)
	longFieldRe  = regexp.MustCompile(`^\*\*(.*?)\*\*:$`)
)

// splitLines splits src into lines, drops CRLF endings, a byte order mark and
// trailing blanks, and rejects what no template should contain.
func splitLines(src []byte) ([]string, error) {
	src = bytes.TrimPrefix(src, []byte("\ufeff"))
	raw := strings.Split(string(src), "\n")
	lines := make([]string, len(raw))
	for i, l := range raw {
		no := i + 1
		l = strings.TrimSuffix(l, "\r")
		if len(l) > MaxLineBytes {
			return nil, parseErr(no, "line is longer than %d bytes", MaxLineBytes)
		}
		if !utf8.ValidString(l) {
			return nil, parseErr(no, "text is not valid UTF-8")
		}
		if r, ok := controlChar(l); ok {
			return nil, parseErr(no, "control character %U is not allowed", r)
		}
		if strings.ContainsRune(l, '\ufeff') {
			// Only a leading byte order mark is dropped; one inside the text
			// would be dropped too when an export starts with that text.
			return nil, parseErr(no, "byte order mark inside the text")
		}
		lines[i] = strings.TrimRight(l, " \t")
	}
	return lines, nil
}

// controlChar finds a control character other than tab. A stray carriage
// return would otherwise split a line differently on the next import.
func controlChar(s string) (rune, bool) {
	for _, r := range s {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return r, true
		}
	}
	return 0, false
}

// taskItem matches a GitHub task list line, "- [ ] text", returning its
// indentation and text. The text is empty for a bare "- [ ]". It is written
// out rather than as a regexp because most lines of a checklist are items.
func taskItem(l string) (indent, text string, ok bool) {
	rest := strings.TrimLeft(l, " \t")
	indent = l[:len(l)-len(rest)]
	if rest == "" || strings.IndexByte("-*+", rest[0]) < 0 {
		return "", "", false
	}
	box := strings.TrimLeft(rest[1:], " \t")
	if len(box) == len(rest)-1 || len(box) < 3 || box[0] != '[' || box[2] != ']' || strings.IndexByte(" xX", box[1]) < 0 {
		return "", "", false
	}
	text = strings.TrimLeft(box[3:], " \t")
	if text != "" && len(text) == len(box)-3 {
		return "", "", false // "- [ ]text" is not a task
	}
	return indent, text, true
}

// heading returns a #, ## or ### heading's level and text. Deeper headings
// are not part of the format and read as paragraph text.
func heading(l string) (level int, text string, ok bool) {
	m := headingRe.FindStringSubmatch(l)
	if m == nil || len(m[1]) > 3 {
		return 0, "", false
	}
	return len(m[1]), m[2], true
}

// fenceOpen returns the marker of a code fence opened by l, or "".
func fenceOpen(l string) string {
	for _, c := range []string{"`", "~"} {
		n := len(l) - len(strings.TrimLeft(l, c))
		if n < 3 {
			continue
		}
		// A backtick fence's info string cannot hold a backtick:
		// "```x```" is inline code, not a fence.
		if c == "`" && strings.Contains(l[n:], "`") {
			return ""
		}
		return l[:n]
	}
	return ""
}

// fenceCloses reports whether l closes a fence opened with marker: the same
// character, at least as many times, indented by at most 3 spaces.
func fenceCloses(l, marker string) bool {
	l = strings.TrimPrefix(l, strings.Repeat(" ", min(3, len(l)-len(strings.TrimLeft(l, " ")))))
	rest := strings.TrimLeft(l, marker[:1])
	return rest == "" && len(l) >= len(marker)
}

// indentLevel turns an item's leading whitespace into its nesting level,
// fixing the document's indentation unit on the first indented item.
func (p *parser) indentLevel(no int, indent string) (int, error) {
	if indent == "" {
		return 1, nil
	}
	tabs := strings.Count(indent, "\t")
	spaces := strings.Count(indent, " ")
	if tabs > 0 && spaces > 0 {
		return 0, parseErr(no, "indentation mixes tabs and spaces")
	}
	if p.unit == 0 {
		switch {
		case tabs > 0:
			p.unit = tabUnit
		case spaces == 2 || spaces == 4:
			p.unit = spaces
		default:
			return 0, parseErr(no, "indent nested items by 2 or 4 spaces or a tab (this item has %d spaces)", spaces)
		}
		p.unitLine = no
	}
	if p.unit == tabUnit {
		if spaces > 0 {
			return 0, parseErr(no, "item is indented with spaces but line %d indents with tabs", p.unitLine)
		}
		return tabs + 1, nil
	}
	if tabs > 0 || spaces%p.unit != 0 {
		return 0, parseErr(no, "item's indentation does not match the %d-space indentation used from line %d", p.unit, p.unitLine)
	}
	return spaces/p.unit + 1, nil
}

// tabUnit marks a document indented with tabs.
const tabUnit = -1

// checkText rejects a single line of text too long to write back.
func checkText(no int, what, s string) error {
	if len(s) > maxTextBytes {
		return parseErr(no, "%s is longer than %d bytes", what, maxTextBytes)
	}
	return nil
}

// blankName reports whether a sign-off role or note field name is empty.
func blankName(s string) bool { return strings.Trim(s, " \t") == "" }
