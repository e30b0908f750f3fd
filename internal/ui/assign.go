package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// assigneeOptions lists who work can be given to: the roles, then the
// active people who may change checklists.
func (s *Server) assigneeOptions(r *http.Request) ([]assigneeOption, error) {
	roles, err := s.db.Roles(r.Context())
	if err != nil {
		return nil, err
	}
	users, err := s.db.Users(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]assigneeOption, 0, len(roles)+len(users))
	for _, ro := range roles {
		out = append(out, assigneeOption{Value: "r" + strconv.FormatInt(ro.ID, 10), Label: ro.Name + " (role)"})
	}
	for _, u := range users {
		if u.Active && !u.IsAuditor {
			out = append(out, assigneeOption{Value: "u" + strconv.FormatInt(u.ID, 10), Label: u.Name})
		}
	}
	return out, nil
}

// parseAssignee reads an assignment menu's value: "u<id>", "r<id>" or
// empty for nobody.
func parseAssignee(v string) (postgres.AssignTo, error) {
	if v == "" {
		return postgres.AssignTo{}, nil
	}
	id, err := strconv.ParseInt(v[1:], 10, 64)
	if err != nil || id <= 0 {
		return postgres.AssignTo{}, signoff.Errorf(signoff.EINVALID, "Choose a person or a role to assign to.")
	}
	switch v[0] {
	case 'u':
		return postgres.AssignTo{User: id}, nil
	case 'r':
		return postgres.AssignTo{Role: id}, nil
	}
	return postgres.AssignTo{}, signoff.Errorf(signoff.EINVALID, "Choose a person or a role to assign to.")
}

// itemAssign gives an item to a person or a role, from its panel.
func (s *Server) itemAssign(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	to, err := parseAssignee(r.PostFormValue("assignee"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	path := chi.URLParam(r, "path")
	if strings.Count(path, ".") < 2 {
		s.notFound(w, r)
		return
	}
	if _, err := s.db.Assign(r.Context(), id, path, to, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.answerPanel(w, r, id, path, "Assigned.")
}

// sectionAssignForm asks who a whole section goes to.
func (s *Server) sectionAssignForm(w http.ResponseWriter, r *http.Request) {
	v, err := s.loadDeploymentView(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sec, ok := v.sectionByPath(chi.URLParam(r, "section"))
	if !ok {
		s.notFound(w, r)
		return
	}
	opts, err := s.assigneeOptions(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, sectionAssignPage(s.page(w, r, "Assign · "+sec.Title, "deployments"), v, sec, opts))
}

// sectionAssign gives every item of a section to a person or a role.
func (s *Server) sectionAssign(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	to, err := parseAssignee(r.PostFormValue("assignee"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	section := chi.URLParam(r, "section")
	if strings.Count(section, ".") != 1 {
		s.notFound(w, r)
		return
	}
	if _, err := s.db.Assign(r.Context(), id, section, to, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/deployments/%d#section-%s", id, strings.ReplaceAll(section, ".", "-")), http.StatusSeeOther)
}

// myWork lists the open items given to the signed-in person or to their
// roles, across deployments.
func (s *Server) myWork(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	items, err := s.db.MyWork(r.Context(), u.ID, maxMyWork)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, myWorkPage(s.page(w, r, "My work", "work"), items))
}

// maxMyWork bounds the list: past a few hundred open items, a person's
// work is better found deployment by deployment.
const maxMyWork = 500
