package ui

import (
	"fmt"
	"net/http"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/problem"
	"github.com/signoff/signoff/internal/signoff"
)

type signView struct {
	V     *deploymentView
	Slot  signoff.Slot
	Error string
	// Blocked says why signing would be refused right now (items open,
	// other slots unsigned), so nobody types a password in vain.
	Blocked string
}

// signBlocked runs the store's rules ahead of time, for the page only:
// the store checks them again, under the lock, when the form is posted.
func signBlocked(v *deploymentView, slot signoff.Slot) string {
	err := signoff.CheckSign(signoff.SignRequest{
		Deployment: v.D, Checklist: v.CL, Slots: v.Slots, Slot: slot.Position, Signer: v.User,
		AllowMultiple: v.CL.Template.AllowMultipleSlots,
	})
	if err == nil {
		return ""
	}
	return signoff.ErrorMessage(err)
}

func (s *Server) loadSlot(r *http.Request) (*deploymentView, signoff.Slot, error) {
	v, err := s.loadDeploymentView(r)
	if err != nil {
		return nil, signoff.Slot{}, err
	}
	pos, err := idParam(r, "slot")
	if err != nil {
		return nil, signoff.Slot{}, err
	}
	for _, sl := range v.Slots {
		if sl.Position == int(pos) {
			return v, sl, nil
		}
	}
	return nil, signoff.Slot{}, signoff.Errorf(signoff.ENOTFOUND, "This deployment has no sign-off slot %d.", pos)
}

// signForm is the signature ceremony: the meaning, the state being
// attested, and the password entered again.
func (s *Server) signForm(w http.ResponseWriter, r *http.Request) {
	v, slot, err := s.loadSlot(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !v.User.HasRole(slot.Role) {
		s.fail(w, r, signoff.Errorf(signoff.EFORBIDDEN, "Only a holder of the %s role can sign this slot.", slot.Role))
		return
	}
	s.render(w, r, http.StatusOK, signPage(s.page(w, r, "Sign as "+slot.Role, "deployments"), signView{V: v, Slot: slot, Blocked: signBlocked(v, slot)}))
}

// sign applies the electronic signature. The store re-checks the password
// and every rule under the deployment's lock.
func (s *Server) sign(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pos, err := idParam(r, "slot")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	u := currentUser(r.Context())
	sig, err := s.db.Sign(r.Context(), postgres.SignInput{
		DeploymentID: id, Slot: int(pos), UserID: u.ID, Password: r.PostFormValue("password"), Via: "web",
	})
	if err != nil {
		s.metrics.Signature("refused")
		code := signoff.ErrorCode(err)
		if code == signoff.EINTERNAL || code == signoff.ENOTFOUND {
			s.fail(w, r, err)
			return
		}
		// Show the ceremony again with the reason, so the signer can act.
		v, slot, lerr := s.loadSlot(r)
		if lerr != nil {
			s.fail(w, r, lerr)
			return
		}
		s.render(w, r, problem.Status(code), signPage(s.page(w, r, "Sign as "+slot.Role, "deployments"),
			signView{V: v, Slot: slot, Error: signoff.ErrorMessage(err)}))
		return
	}
	s.metrics.Signature("signed")
	s.flash(w, r, "success", fmt.Sprintf("Signed as %s: %q", sig.Role, sig.Meaning))
	http.Redirect(w, r, fmt.Sprintf("/deployments/%d#signoff", id), http.StatusSeeOther)
}

// revoke withdraws a standing signature, with a reason.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pos, err := idParam(r, "slot")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.Revoke(r.Context(), id, int(pos), r.PostFormValue("reason"), currentUser(r.Context()), "web"); err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.Signature("revoked")
	s.flash(w, r, "info", "Signature revoked.")
	http.Redirect(w, r, fmt.Sprintf("/deployments/%d#signoff", id), http.StatusSeeOther)
}
