package ui

import (
	"net/http"
)

// mySignoffs lists the slots waiting for the signed-in person.
func (s *Server) mySignoffs(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	slots, err := s.db.AwaitingSignature(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, mySignoffsPage(s.page(w, r, "My sign-offs", "my"), slots))
}
