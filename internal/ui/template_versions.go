package ui

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/pmezard/go-difflib/difflib"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// versionsView lists a template's versions, newest first, with a form to
// compare any two.
type versionsView struct {
	T        *signoff.Template // the latest version
	Versions []postgres.TemplateVersionSummary
	From, To int // what the compare form proposes
	IsAdmin  bool
}

func (s *Server) templateVersions(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	list, err := s.db.TemplateVersions(r.Context(), slug)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.db.TemplateVersion(r.Context(), list[0].ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := versionsView{T: t, Versions: list, To: list[0].Version, From: max(list[0].Version-1, 1), IsAdmin: currentUser(r.Context()).IsAdmin}
	s.render(w, r, http.StatusOK, templateVersionsPage(s.page(w, r, "Versions · "+t.Title, "templates"), v))
}

// templateVersion shows one version as the template page shows the latest.
func (s *Server) templateVersion(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	n, err := strconv.Atoi(chi.URLParam(r, "version"))
	if err != nil || n < 1 {
		s.fail(w, r, signoff.Errorf(signoff.ENOTFOUND, "Template %q has no such version.", slug))
		return
	}
	t, err := s.db.TemplateAt(r.Context(), slug, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	latest, err := s.db.TemplateBySlug(r.Context(), slug)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := templateView{T: t, Counts: t.Counts(), Latest: latest.LatestVersion, IsAdmin: currentUser(r.Context()).IsAdmin}
	s.render(w, r, http.StatusOK, templateShowPage(s.page(w, r, t.Title+" v"+strconv.Itoa(n), "templates"), v))
}

// diffView is two versions' Markdown compared line by line.
type diffView struct {
	From, To *signoff.Template
	Hunks    []diffHunk
	Added    int
	Removed  int
}

// diffHunk is a run of changed lines with up to three unchanged lines
// around it.
type diffHunk struct {
	Header string // "@@ -12,7 +12,8 @@"
	Lines  []diffLine
}

type diffLine struct {
	Op       byte // ' ', '-' or '+'
	Old, New int  // line numbers, 0 where the line is not on that side
	Text     string
}

func (l diffLine) Class() string {
	switch l.Op {
	case '-':
		return "diff-del"
	case '+':
		return "diff-add"
	}
	return "diff-ctx"
}

// templateDiff compares two versions (?from=N&to=M; by default the latest
// and the one before it).
func (s *Server) templateDiff(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	latest, err := s.db.TemplateBySlug(r.Context(), slug)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to := versionParam(r, "to", latest.LatestVersion)
	from := versionParam(r, "from", max(to-1, 1))
	a, err := s.db.TemplateAt(r.Context(), slug, from)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.db.TemplateAt(r.Context(), slug, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := diffView{From: a, To: b}
	v.Hunks, v.Added, v.Removed = diffSources(a.Source, b.Source)
	s.render(w, r, http.StatusOK, templateDiffPage(s.page(w, r, "Changes · "+b.Title, "templates"), v))
}

func versionParam(r *http.Request, name string, def int) int {
	if n, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil {
		return n
	}
	return def
}

// diffSources compares two sources line by line, each line with its line
// ending, so a change of line endings shows too.
func diffSources(a, b string) (hunks []diffHunk, added, removed int) {
	al, bl := splitLines(a), splitLines(b)
	m := difflib.NewMatcher(al, bl)
	for _, group := range m.GetGroupedOpCodes(3) {
		first, last := group[0], group[len(group)-1]
		h := diffHunk{Header: "@@ -" + lineRange(first.I1, last.I2) + " +" + lineRange(first.J1, last.J2) + " @@"}
		for _, op := range group {
			switch op.Tag {
			case 'e':
				for i := op.I1; i < op.I2; i++ {
					h.Lines = append(h.Lines, diffLine{Op: ' ', Old: i + 1, New: op.J1 + i - op.I1 + 1, Text: shown(al[i])})
				}
			case 'r', 'd', 'i':
				for i := op.I1; i < op.I2; i++ {
					h.Lines = append(h.Lines, diffLine{Op: '-', Old: i + 1, Text: shown(al[i])})
					removed++
				}
				for j := op.J1; j < op.J2; j++ {
					h.Lines = append(h.Lines, diffLine{Op: '+', New: j + 1, Text: shown(bl[j])})
					added++
				}
			}
		}
		hunks = append(hunks, h)
	}
	return hunks, added, removed
}

func lineRange(i1, i2 int) string {
	return strconv.Itoa(i1+1) + "," + strconv.Itoa(i2-i1)
}

// shown is a line as the diff shows it: its line ending as a mark when it
// is not a plain newline (CRLF, a lone CR, none at the end of the file).
func shown(l string) string {
	switch {
	case strings.HasSuffix(l, "\r\n"):
		return strings.TrimSuffix(l, "\r\n") + " ␍"
	case strings.HasSuffix(l, "\n"):
		return strings.TrimSuffix(l, "\n")
	}
	return l + " ⏎̸"
}

// splitLines splits s after each line feed, keeping the endings.
func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
