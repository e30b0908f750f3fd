package ui

import (
	"fmt"
	"net/http"

	"github.com/signoff/signoff/internal/signoff"
)

// deploymentStatus starts, takes live or aborts a deployment.
func (s *Server) deploymentStatus(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	to := signoff.Status(r.PostFormValue("status"))
	if !to.Valid() {
		s.fail(w, r, signoff.Errorf(signoff.EINVALID, "Unknown status %q.", to))
		return
	}
	d, err := s.db.SetStatus(r.Context(), id, to, r.PostFormValue("reason"), actor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "success", "Deployment is now "+d.Status.Label()+".")
	url := fmt.Sprintf("/deployments/%d", id)
	if isHTMX(r) {
		w.Header().Set("HX-Location", url)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, url, http.StatusSeeOther)
}
