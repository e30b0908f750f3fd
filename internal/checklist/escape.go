package checklist

import "strings"

// Escape makes s safe to write into Markdown as one line of plain text:
// white space (line breaks included) collapses to single spaces and every
// ASCII punctuation character is backslash-escaped, so no value can open
// a heading, a list, a link, emphasis, a table cell, HTML or a box.
func Escape(s string) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\x00", "")), " ")
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isASCIIPunct(c) {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// escapeLines escapes text of several lines for a note: each line as
// Escape does, blank lines dropped, the lines joined by hard breaks so a
// reader sees them as written.
func escapeLines(s, newline string) string {
	var lines []string
	for l := range strings.SplitSeq(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if l = Escape(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\\"+newline)
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}
