package checklist

import (
	"bytes"
	"unicode/utf8"
)

// Limits on what Parse accepts. They keep one upload from costing the
// server much, and an editor can still show every line.
const (
	MaxBytes     = 1 << 20 // the whole file
	MaxLineBytes = 4000
	MaxItems     = 5000
	MaxDepth     = 3 // items nest at most this deep
	// MaxLines bounds the cost of goldmark's reading of link reference
	// definitions, which grows with the square of a paragraph's lines.
	MaxLines = 20000
)

// source is the document being read: the bytes as given, and a copy for
// the Markdown parser in which a lone carriage return, a line ending to
// GitHub but not to goldmark, is a line feed. The copy has the same
// length, so an offset means the same in both.
type source struct {
	raw   []byte
	md    []byte
	lines []int // offset of the start of each line
	body  int   // offset after the byte order mark and the front matter
	front frontMatter
}

// newSource checks the bytes and indexes their lines. It refuses what
// PostgreSQL cannot store as text (invalid UTF-8, NUL), lines over
// MaxLineBytes and files over MaxBytes, naming the line.
func newSource(raw []byte) (*source, error) {
	s := &source{raw: raw, md: raw, lines: []int{0}}
	copied := false
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				continue
			}
			if !copied {
				s.md, copied = bytes.Clone(raw), true
			}
			s.md[i] = '\n'
			s.lines = append(s.lines, i+1)
		case '\n':
			s.lines = append(s.lines, i+1)
		case 0:
			return nil, parseErr(len(s.lines), "the file holds a NUL byte; save it as UTF-8 text")
		}
	}
	if len(raw) > MaxBytes {
		return nil, parseErr(s.line(MaxBytes), "the file is larger than 1 MB from this line on")
	}
	if len(s.lines) > MaxLines {
		return nil, parseErr(MaxLines+1, "the file has more than %d lines", MaxLines)
	}
	for no, start := range s.lines {
		end := len(raw)
		if no+1 < len(s.lines) {
			end = s.lines[no+1]
		}
		l := bytes.TrimRight(raw[start:end], "\r\n")
		if len(l) > MaxLineBytes {
			return nil, parseErr(no+1, "line is longer than %d bytes", MaxLineBytes)
		}
		if !utf8.Valid(l) {
			return nil, parseErr(no+1, "text is not valid UTF-8; save the file as UTF-8")
		}
	}
	s.body = len(bom(raw))
	s.front = readFrontMatter(s, s.body)
	if s.front.end > 0 {
		s.body = s.front.end
	}
	return s, nil
}

// line returns the 1-based line holding offset.
func (s *source) line(offset int) int {
	lo, hi := 0, len(s.lines)
	for lo < hi {
		m := (lo + hi) / 2
		if s.lines[m] <= offset {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// lineEnd returns the offset of the end of the line holding offset,
// before its line ending.
func (s *source) lineEnd(offset int) int {
	n := s.line(offset)
	end := len(s.raw)
	if n < len(s.lines) {
		end = s.lines[n]
	}
	for end > offset && (s.raw[end-1] == '\n' || s.raw[end-1] == '\r') {
		end--
	}
	return end
}

// newline is the document's line ending, for lines an export adds: the
// first one it uses, or "\n".
func (s *source) newline() string {
	if i := bytes.IndexAny(s.raw, "\r\n"); i >= 0 && s.raw[i] == '\r' {
		if i+1 < len(s.raw) && s.raw[i+1] == '\n' {
			return "\r\n"
		}
		return "\r"
	}
	return "\n"
}

func bom(b []byte) []byte {
	if bytes.HasPrefix(b, []byte("\ufeff")) {
		return b[:3]
	}
	return nil
}
