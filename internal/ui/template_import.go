package ui

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// An import takes two steps: the file (uploaded or pasted) is previewed,
// with what it holds, what was recognised and what to watch for, and the
// person confirms it as a new template or as the next version of the
// template of that name. The preview carries the file in the form, so
// nothing is stored until the confirmation, in one transaction.

// importView is the preview of a file about to be imported.
type importView struct {
	Source   string
	FileName string
	Name     string // the name it is imported under
	Read     *checklist.Result
	Counts   signoff.Counts
	Existing *postgres.TemplateSummary // the template of that name, if any
	Missing  []string                  // sign-off roles no role in the catalog matches
	Created  []string                  // roles just created
	Error    string
}

// Carried is the file, byte for byte, for the next form to carry.
func (v *importView) Carried() string { return base64.StdEncoding.EncodeToString([]byte(v.Source)) }

// Slug is the slug the import makes or adds to.
func (v *importView) Slug() string { return postgres.Slugify(v.Name) }

// templatePreview reads the upload (or the pasted text) and shows what
// importing it would make.
func (s *Server) templatePreview(w http.ResponseWriter, r *http.Request) {
	v, status, ok := s.readImport(w, r)
	if !ok {
		return
	}
	s.renderImport(w, r, status, v)
}

// templateImport stores the previewed file: a new template, or the next
// version of the one the person saw.
func (s *Server) templateImport(w http.ResponseWriter, r *http.Request) {
	v, status, ok := s.readImport(w, r)
	if !ok {
		return
	}
	if v.Read == nil {
		s.renderImport(w, r, status, v)
		return
	}
	imp := postgres.TemplateImport{Source: []byte(v.Source), FileName: v.FileName, Name: v.Name}
	if r.PostFormValue("mode") == "version" {
		expect, err := strconv.Atoi(r.PostFormValue("expect"))
		if err != nil || expect < 1 {
			s.fail(w, r, signoff.Errorf(signoff.EINVALID, "Say which version of the template this file follows."))
			return
		}
		imp.Name, imp.Slug, imp.Expect = "", r.PostFormValue("slug"), expect
	}
	t, created, err := s.db.SaveTemplate(r.Context(), imp, actor(r))
	if err != nil {
		switch signoff.ErrorCode(err) {
		case signoff.EINVALID, signoff.ECONFLICT, signoff.ENOTFOUND:
			v.Error = signoff.ErrorMessage(err)
			s.renderImport(w, r, statusOf(err), v)
		default:
			s.fail(w, r, err)
		}
		return
	}
	if created {
		s.flash(w, r, "success", fmt.Sprintf("Imported %s, version %d.", t.Title, t.Version))
	} else {
		s.flash(w, r, "info", fmt.Sprintf("%s is unchanged; still version %d.", t.Title, t.Version))
	}
	http.Redirect(w, r, "/templates/"+t.Slug, http.StatusSeeOther)
}

// templateRoles creates the sign-off roles the previewed file names that
// do not exist yet, then shows the preview again.
func (s *Server) templateRoles(w http.ResponseWriter, r *http.Request) {
	v, status, ok := s.readImport(w, r)
	if !ok {
		return
	}
	if v.Read != nil && len(v.Missing) > 0 {
		made, err := s.db.CreateRoles(r.Context(), v.Missing, actor(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, m := range made {
			v.Created = append(v.Created, m.Name)
		}
		if v.Missing, err = s.missingRoles(r, v.Read.Template); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.renderImport(w, r, status, v)
}

// readImport reads the form of any import step: the file, uploaded or
// pasted (or carried by the preview), and the name. It answers the
// request itself when the form cannot be read.
func (s *Server) readImport(w http.ResponseWriter, r *http.Request) (*importView, int, bool) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return nil, 0, false
	}
	// Pasted text comes with the line endings browsers give every form
	// (CRLF); the preview carries the file in base64, byte for byte.
	v := &importView{Source: browserText(r.PostFormValue("source"), ""), FileName: r.PostFormValue("file_name"),
		Name: strings.TrimSpace(r.PostFormValue("name"))}
	if carried := r.PostFormValue("source_b64"); carried != "" {
		src, err := base64.StdEncoding.DecodeString(carried)
		if err != nil {
			s.fail(w, r, signoff.Errorf(signoff.EINVALID, "The form could not be read; preview the file again."))
			return nil, 0, false
		}
		v.Source = string(src)
	}
	if file, header, err := r.FormFile("file"); err == nil {
		defer file.Close()
		src, err := io.ReadAll(io.LimitReader(file, MaxTemplateBytes+1))
		if err != nil || len(src) > MaxTemplateBytes {
			v.Error = "The file is over 1 MB."
			return v, http.StatusRequestEntityTooLarge, true
		}
		if len(src) > 0 {
			v.Source, v.FileName = string(src), header.Filename
		}
	}
	if strings.TrimSpace(v.Source) == "" {
		v.Error = "Choose a Markdown file, or paste the checklist's Markdown."
		return v, http.StatusBadRequest, true
	}
	read, err := checklist.Read([]byte(v.Source), v.FileName)
	if err != nil {
		v.Error = "This file cannot be imported: " + signoff.ErrorMessage(err)
		return v, http.StatusBadRequest, true
	}
	v.Read, v.Counts = read, read.Template.Counts()
	if v.Name == "" {
		v.Name = read.Template.Title
	}
	if v.Slug() != "" {
		existing, err := s.db.TemplateBySlug(r.Context(), v.Slug())
		switch {
		case err == nil:
			v.Existing = existing
		case signoff.ErrorCode(err) != signoff.ENOTFOUND:
			s.fail(w, r, err)
			return nil, 0, false
		}
	}
	if v.Missing, err = s.missingRoles(r, read.Template); err != nil {
		s.fail(w, r, err)
		return nil, 0, false
	}
	return v, http.StatusOK, true
}

// missingRoles lists the template's sign-off roles that no role in the
// catalog matches (as signing does: case aside): slots nobody could sign.
func (s *Server) missingRoles(r *http.Request, t *signoff.Template) ([]string, error) {
	roles, err := s.db.Roles(r.Context())
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, role := range roles {
		known[strings.ToLower(role.Name)] = true
	}
	var missing []string
	for _, slot := range t.Slots() {
		if k := strings.ToLower(slot.Role); !known[k] {
			known[k] = true
			missing = append(missing, slot.Role)
		}
	}
	return missing, nil
}

func (s *Server) renderImport(w http.ResponseWriter, r *http.Request, status int, v *importView) {
	s.render(w, r, status, templateImportPage(s.page(w, r, "Import a template", "templates"), v))
}

// browserText undoes what a browser does to a textarea's text: it sends
// every line ending as CRLF. The text takes the line endings of like,
// the file it was edited from (CRLF only if that file has them), or LF.
func browserText(text, like string) string {
	if strings.Contains(like, "\r\n") {
		return text
	}
	return strings.ReplaceAll(text, "\r\n", "\n")
}

// statusOf is the HTTP status of an error a form shows itself.
func statusOf(err error) int {
	switch signoff.ErrorCode(err) {
	case signoff.ECONFLICT:
		return http.StatusConflict
	case signoff.ENOTFOUND:
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}
