package checklist

import (
	"bytes"
	"strings"

	"go.yaml.in/yaml/v3"
)

// frontMatter is YAML between "---" lines at the very top of a file, as
// issue templates and static-site pages carry it. GitHub shows it as a
// table above the document; for a checklist it is metadata: its title (or
// name) names the template when the file has no # heading, and its
// description (or about) describes it. The bytes stay in the source.
type frontMatter struct {
	end         int // offset after the closing fence's line; 0: none
	line        int // the line of the closing fence
	title       string
	description string
	invalid     bool // not YAML, or not a mapping
}

// readFrontMatter reads front matter starting at offset at, if any.
func readFrontMatter(s *source, at int) frontMatter {
	first := s.line(at)
	if first >= len(s.lines) || !isFence(string(s.raw[at:s.lineEnd(at)]), "---") {
		return frontMatter{}
	}
	for n := first + 1; n <= len(s.lines); n++ {
		l := s.lineText(n)
		if !isFence(l, "---") && !isFence(l, "...") {
			continue
		}
		fm := frontMatter{line: n, end: len(s.raw)}
		if n < len(s.lines) {
			fm.end = s.lines[n]
		}
		body := s.raw[s.lines[first]:s.lines[n-1]]
		fm.read(body)
		return fm
	}
	return frontMatter{}
}

func (fm *frontMatter) read(body []byte) {
	var m map[string]any
	if err := yaml.Unmarshal(body, &m); err != nil {
		fm.invalid = true
		return
	}
	if m == nil && len(bytes.TrimSpace(body)) > 0 {
		fm.invalid = true
		return
	}
	// A GitHub issue template (it has "about") names itself in "name";
	// its "title" is the title of the issues it opens.
	if _, issue := m["about"]; issue {
		fm.title = firstString(m, "name", "title")
	} else {
		fm.title = firstString(m, "title", "name")
	}
	fm.description = firstString(m, "description", "about")
}

// firstString returns the first of keys that holds a non-blank string.
func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if v, ok := m[k].(string); ok && strings.TrimSpace(v) != "" {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// lineText returns line n (1-based) without its line ending.
func (s *source) lineText(n int) string {
	start := s.lines[n-1]
	return string(s.raw[start:s.lineEnd(start)])
}

// isFence reports whether l is the fence (trailing blanks allowed).
func isFence(l, fence string) bool {
	return strings.TrimRight(l, " \t") == fence
}
