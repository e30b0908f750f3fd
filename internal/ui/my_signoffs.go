package ui

import (
	"net/http"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// awaitingRow is one slot waiting for the person; a stale one carries the
// signature that went stale, to say what changed since.
type awaitingRow struct {
	postgres.AwaitingSlot
	Stale *signoff.Signature
}

// mySignoffs lists the slots waiting for the signed-in person.
func (s *Server) mySignoffs(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	slots, err := s.db.AwaitingSignature(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := make([]awaitingRow, len(slots))
	read := map[int64][]signoff.Slot{} // stale slots are few: read their deployment's slots once
	for i, a := range slots {
		rows[i].AwaitingSlot = a
		if !a.Stale {
			continue
		}
		ds, ok := read[a.Deployment.ID]
		if !ok {
			if ds, err = s.db.Slots(r.Context(), a.Deployment.ID); err != nil {
				s.fail(w, r, err)
				return
			}
			read[a.Deployment.ID] = ds
		}
		for _, sl := range ds {
			if sl.Position == a.Slot && sl.Signature != nil {
				rows[i].Stale = sl.Signature
			}
		}
	}
	s.render(w, r, http.StatusOK, mySignoffsPage(s.page(w, r, "My sign-offs", "my"), rows, u))
}
