package ui

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// commentList shows an item's comments: a page of its own without
// JavaScript, the thread's fragment for HTMX.
func (s *Server) commentList(w http.ResponseWriter, r *http.Request) {
	v, err := s.loadDeploymentView(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	path := chi.URLParam(r, "path")
	it := v.CL.Item(path)
	if it == nil {
		s.notFound(w, r)
		return
	}
	comments, err := s.db.Comments(r.Context(), v.D.ID, path)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		s.render(w, r, http.StatusOK, commentThread(v, it, comments))
		return
	}
	s.render(w, r, http.StatusOK, commentPage(s.page(w, r, "Comments · "+it.Title(), "deployments"), v, it, comments))
}

func (s *Server) commentCreate(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	path := chi.URLParam(r, "path")
	if _, err := s.db.AddComment(r.Context(), id, path, r.PostFormValue("body"), actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	if !isHTMX(r) {
		http.Redirect(w, r, fmt.Sprintf("/deployments/%d/items/%s/comments", id, path), http.StatusSeeOther)
		return
	}
	v, err := s.loadDeploymentView(r)
	if err != nil {
		s.committed(w, r, "Your comment was added.", err)
		return
	}
	it := v.CL.Item(path)
	comments, err := s.db.Comments(r.Context(), id, path)
	if err != nil || it == nil {
		s.committed(w, r, "Your comment was added.", err)
		return
	}
	s.render(w, r, http.StatusOK, commentThread(v, it, comments))
}
