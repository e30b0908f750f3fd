package ui

import (
	"fmt"
	"net/http"

	"github.com/signoff/signoff/internal/signoff"
)

// reject records a role holder's request for changes on their slot.
func (s *Server) reject(w http.ResponseWriter, r *http.Request) {
	id, pos, ok := s.slotParams(w, r)
	if !ok {
		return
	}
	if err := s.db.Reject(r.Context(), id, pos, r.PostFormValue("comment"), currentUser(r.Context()), "web"); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "info", "Changes requested. The owner is told; nobody else can sign your slot until you withdraw the request or sign.")
	http.Redirect(w, r, fmt.Sprintf("/deployments/%d#signoff", id), http.StatusSeeOther)
}

// withdraw ends one's own request for changes.
func (s *Server) withdraw(w http.ResponseWriter, r *http.Request) {
	id, pos, ok := s.slotParams(w, r)
	if !ok {
		return
	}
	if err := s.db.Withdraw(r.Context(), id, pos, currentUser(r.Context()), "web"); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "info", "Request for changes withdrawn.")
	http.Redirect(w, r, fmt.Sprintf("/deployments/%d#signoff", id), http.StatusSeeOther)
}

// slotParams reads a slot route's deployment and position and its form;
// it has answered w when it reports false.
func (s *Server) slotParams(w http.ResponseWriter, r *http.Request) (int64, int, bool) {
	id, err := idParam(r, "id")
	if err == nil {
		var pos int64
		if pos, err = idParam(r, "slot"); err == nil {
			if err = parseForm(r); err == nil {
				return id, int(pos), true
			}
		}
	}
	s.fail(w, r, err)
	return 0, 0, false
}

// CanReject says whether to offer the viewer a request for changes on s.
func (v *deploymentView) CanReject(s signoff.Slot) bool {
	return v.CanEdit() && v.User.HasRole(s.Role) && s.Signature == nil && s.Rejection == nil
}

// CanWithdraw says whether the viewer made the request standing on s.
func (v *deploymentView) CanWithdraw(s signoff.Slot) bool {
	return v.CanEdit() && s.Rejection != nil && s.Rejection.By.ID == v.User.ID
}
