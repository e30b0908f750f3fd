package ui

import "strings"

// span is a run of item text: plain, `code` or **bold**.
type span struct {
	Text string
	Code bool
	Bold bool
}

// inlineSpans splits the little Markdown an item's text uses into spans,
// so templates can render code as <code> with everything escaped.
func inlineSpans(s string) []span {
	var out []span
	for s != "" {
		i := strings.IndexAny(s, "`*")
		if i < 0 {
			out = append(out, span{Text: s})
			break
		}
		if s[i] == '*' && !strings.HasPrefix(s[i:], "**") {
			out = append(out, span{Text: s[:i+1]})
			s = s[i+1:]
			continue
		}
		if i > 0 {
			out = append(out, span{Text: s[:i]})
			s = s[i:]
		}
		delim := "`"
		if strings.HasPrefix(s, "**") {
			delim = "**"
		}
		end := strings.Index(s[len(delim):], delim)
		if end < 0 {
			out = append(out, span{Text: s})
			break
		}
		inner := s[len(delim) : len(delim)+end]
		out = append(out, span{Text: inner, Code: delim == "`", Bold: delim == "**"})
		s = s[len(delim)+end+len(delim):]
	}
	return out
}

// pid turns an item path into an HTML id fragment ("1.1.2" -> "1-1-2"):
// dots would read as classes in a CSS selector.
func pid(path string) string { return strings.ReplaceAll(path, ".", "-") }
