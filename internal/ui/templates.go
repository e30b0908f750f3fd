package ui

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

type templateListView struct {
	Templates []postgres.TemplateSummary
	IsAdmin   bool
	Error     string
}

func (s *Server) templateList(w http.ResponseWriter, r *http.Request) {
	s.renderTemplateList(w, r, http.StatusOK, "")
}

func (s *Server) renderTemplateList(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	list, err := s.db.Templates(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := templateListView{Templates: list, IsAdmin: currentUser(r.Context()).IsAdmin, Error: errMsg}
	s.render(w, r, status, templateListPage(s.page(w, r, "Templates", "templates"), v))
}

type templateView struct {
	T       *signoff.Template
	Counts  signoff.Counts
	Latest  int // the template's latest version (T may be an older one)
	IsAdmin bool
}

func (v templateView) URL() string { return "/templates/" + v.T.Slug }

func (s *Server) templateShow(w http.ResponseWriter, r *http.Request) {
	t, err := s.db.LatestTemplate(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := templateView{T: t, Counts: t.Counts(), Latest: t.Version, IsAdmin: currentUser(r.Context()).IsAdmin}
	s.render(w, r, http.StatusOK, templateShowPage(s.page(w, r, t.Title, "templates"), v))
}

// templateExport downloads a version's Markdown (the latest, or ?version=N),
// the bytes it was imported from.
func (s *Server) templateExport(w http.ResponseWriter, r *http.Request) {
	t, err := s.templateOrVersion(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-v%d.md"`, t.Slug, t.Version))
	s.write(w, r, []byte(t.Source))
}

// templateOrVersion reads the template the URL names, at ?version=N if
// given, else its latest version.
func (s *Server) templateOrVersion(r *http.Request) (*signoff.Template, error) {
	slug := chi.URLParam(r, "slug")
	if q := r.URL.Query().Get("version"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			return nil, signoff.Errorf(signoff.ENOTFOUND, "Template %q has no version %q.", slug, q)
		}
		return s.db.TemplateAt(r.Context(), slug, n)
	}
	return s.db.LatestTemplate(r.Context(), slug)
}

// templateSettings toggles whether one person may sign several slots.
func (s *Server) templateSettings(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	slug := chi.URLParam(r, "slug")
	allow := r.PostFormValue("allow_multiple_slots") == "on"
	if err := s.db.SetAllowMultipleSlots(r.Context(), slug, allow, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "success", "Template settings saved.")
	http.Redirect(w, r, "/templates/"+slug, http.StatusSeeOther)
}
