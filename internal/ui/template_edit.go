package ui

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// editView is the Markdown editor of a template: the source being edited,
// the version it started from, and the preview of what saving makes.
type editView struct {
	T       *signoff.Template // the version the edit started from
	Source  string
	Read    *checklist.Result // the preview, nil when the source does not parse
	Counts  signoff.Counts
	Missing []string
	Error   string
}

func (v *editView) URL() string { return "/templates/" + v.T.Slug }

// templateEdit shows the latest version's Markdown in the editor.
func (s *Server) templateEdit(w http.ResponseWriter, r *http.Request) {
	t, err := s.db.LatestTemplate(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := &editView{T: t, Source: t.Source}
	if err := s.previewEdit(r, v); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, templateEditPage(s.page(w, r, "Edit "+t.Title, "templates"), v))
}

// templateEditPreview renders the edited Markdown: the preview pane for
// HTMX, the whole editor without JavaScript.
func (s *Server) templateEditPreview(w http.ResponseWriter, r *http.Request) {
	v, ok := s.readEdit(w, r)
	if !ok {
		return
	}
	if isHTMX(r) {
		s.render(w, r, http.StatusOK, editPreview(v))
		return
	}
	s.render(w, r, http.StatusOK, templateEditPage(s.page(w, r, "Edit "+v.T.Title, "templates"), v))
}

// templateSaveVersion stores the edited Markdown as the template's next
// version, if the version it started from is still the latest.
func (s *Server) templateSaveVersion(w http.ResponseWriter, r *http.Request) {
	v, ok := s.readEdit(w, r)
	if !ok {
		return
	}
	t, created, err := s.db.SaveTemplate(r.Context(), editImport(v), actor(r))
	if err != nil {
		switch signoff.ErrorCode(err) {
		case signoff.EINVALID, signoff.ECONFLICT:
			v.Error = signoff.ErrorMessage(err)
			s.render(w, r, statusOf(err), templateEditPage(s.page(w, r, "Edit "+v.T.Title, "templates"), v))
		default:
			s.fail(w, r, err)
		}
		return
	}
	if created {
		s.flash(w, r, "success", fmt.Sprintf("Saved %s, version %d. Running deployments keep their version.", t.Title, t.Version))
	} else {
		s.flash(w, r, "info", fmt.Sprintf("Nothing changed; %s is still version %d.", t.Title, t.Version))
	}
	http.Redirect(w, r, "/templates/"+t.Slug, http.StatusSeeOther)
}

// readEdit reads the editor's form: the Markdown and the version it
// started from.
func (s *Server) readEdit(w http.ResponseWriter, r *http.Request) (*editView, bool) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	slug := chi.URLParam(r, "slug")
	base, err := strconv.Atoi(r.PostFormValue("base"))
	if err != nil || base < 1 {
		s.fail(w, r, signoff.Errorf(signoff.EINVALID, "The editor's form is incomplete; reload the page."))
		return nil, false
	}
	t, err := s.db.TemplateAt(r.Context(), slug, base)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	v := &editView{T: t, Source: browserText(r.PostFormValue("source"), t.Source)}
	if err := s.previewEdit(r, v); err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return v, true
}

// previewEdit parses the edited source for the preview.
func (s *Server) previewEdit(r *http.Request, v *editView) error {
	read, err := checklist.Read([]byte(v.Source), "")
	if err != nil {
		v.Error = signoff.ErrorMessage(err)
		return nil
	}
	v.Read, v.Counts = read, read.Template.Counts()
	v.Missing, err = s.missingRoles(r, read.Template)
	return err
}

func editImport(v *editView) postgres.TemplateImport {
	return postgres.TemplateImport{Source: []byte(v.Source), Slug: v.T.Slug, Expect: v.T.Version}
}
