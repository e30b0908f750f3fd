package ui

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// naFormShow asks for the reason to mark an item N/A: in the item's panel
// for HTMX, as a page of its own without JavaScript. Posting the form goes
// to itemState like a tick.
func (s *Server) naFormShow(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	path := chi.URLParam(r, "path")
	v, err := s.loadItemView(r, id, topPath(path))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	it := v.CL.Item(path)
	if it == nil {
		s.notFound(w, r)
		return
	}
	if err := v.D.Writable(); err != nil {
		s.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		s.render(w, r, http.StatusOK, naForm(v, it, true))
		return
	}
	s.render(w, r, http.StatusOK, naPage(s.page(w, r, "Not applicable · "+it.Title(), "deployments"), v, it))
}
