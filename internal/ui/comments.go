package ui

import (
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
	p, err := s.loadPanel(r, v, path)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		s.render(w, r, http.StatusOK, commentThread(v, it, p))
		return
	}
	s.render(w, r, http.StatusOK, commentPage(s.page(w, r, "Comments · "+it.Title(), "deployments"), v, it, p))
}

// commentCreate adds a comment; fileCreate takes the same form with a
// file, and answers the same way.
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
	s.answerPanel(w, r, id, path, "Your comment was added.")
}
