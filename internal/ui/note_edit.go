package ui

import (
	"fmt"
	"net/http"
)

// noteEdit saves one of the deployment's note fields.
func (s *Server) noteEdit(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pos, err := idParam(r, "position")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.db.SetNote(r.Context(), id, int(pos), r.PostFormValue("value"), actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	if !isHTMX(r) {
		http.Redirect(w, r, fmt.Sprintf("/deployments/%d#note-%d", id, pos), http.StatusSeeOther)
		return
	}
	v, err := s.loadDeploymentView(r)
	if err != nil {
		s.committed(w, r, "The note was saved.", err)
		return
	}
	s.render(w, r, http.StatusOK, noteChanged(v, int(pos)))
}
