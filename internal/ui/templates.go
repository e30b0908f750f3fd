package ui

import (
	"fmt"
	"io"
	"net/http"

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
	IsAdmin bool
}

func (s *Server) templateShow(w http.ResponseWriter, r *http.Request) {
	t, err := s.db.LatestTemplate(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := templateView{T: t, Counts: t.Counts(), IsAdmin: currentUser(r.Context()).IsAdmin}
	s.render(w, r, http.StatusOK, templateShowPage(s.page(w, r, t.Title, "templates"), v))
}

// templateExport downloads the template's Markdown, the bytes it was
// imported from.
func (s *Server) templateExport(w http.ResponseWriter, r *http.Request) {
	t, err := s.db.LatestTemplate(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-v%d.md"`, t.Slug, t.Version))
	s.write(w, r, []byte(t.Source))
}

// templateImport uploads Markdown: a new template, or a new version of the
// one with the same title.
func (s *Server) templateImport(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		s.renderTemplateList(w, r, http.StatusBadRequest, "Choose a Markdown file to import.")
		return
	}
	defer file.Close()
	src, err := io.ReadAll(io.LimitReader(file, MaxTemplateBytes+1))
	if err != nil || len(src) > MaxTemplateBytes {
		s.renderTemplateList(w, r, http.StatusRequestEntityTooLarge, "The file is over 1 MB.")
		return
	}
	t, created, err := s.db.ImportTemplate(r.Context(), src, "", actor(r))
	if err != nil {
		if code := signoff.ErrorCode(err); code == signoff.EINVALID {
			s.renderTemplateList(w, r, http.StatusBadRequest, "Import failed: "+signoff.ErrorMessage(err))
			return
		}
		s.fail(w, r, err)
		return
	}
	if created {
		s.flash(w, r, "success", fmt.Sprintf("Imported %s, version %d.", t.Title, t.Version))
	} else {
		s.flash(w, r, "info", fmt.Sprintf("%s is unchanged; still version %d.", t.Title, t.Version))
	}
	http.Redirect(w, r, "/templates/"+t.Slug, http.StatusSeeOther)
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
