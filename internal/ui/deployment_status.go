package ui

import (
	"fmt"
	"net/http"

	"github.com/signoff/signoff/internal/signoff"
)

// deploymentStatus starts, takes live or aborts a deployment. Going live
// with pre-deployment work open asks first (goLivePage); the store checks
// who may move it and the go/no-go gate again, under the lock.
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
	if to == signoff.StatusLive && r.PostFormValue("confirm") != "yes" && s.askGoLive(w, r) {
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

// askGoLive answers a request to go live that has not been confirmed:
// refused when the viewer may not or the go/no-go gate is unsigned, the
// confirmation page when work is open. It reports whether it answered.
func (s *Server) askGoLive(w http.ResponseWriter, r *http.Request) bool {
	v, err := s.loadDeploymentView(r)
	if err == nil {
		err = v.D.CanMoveTo(signoff.StatusLive)
	}
	if err == nil {
		err = signoff.CanMove(v.User, v.D, v.Slots, signoff.StatusLive)
	}
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	g := signoff.CheckGoLive(v.D, v.CL, v.Slots)
	if err := g.Err(); err != nil {
		s.fail(w, r, err)
		return true
	}
	if !g.NeedsConfirmation() {
		return false
	}
	s.render(w, r, http.StatusOK, goLivePage(s.page(w, r, "Go live?", "deployments"), v, g))
	return true
}
