package ui

import (
	"net/http"

	"github.com/signoff/signoff/internal/signoff"
)

// Page is what the layout needs on every page.
type Page struct {
	Title   string
	User    *signoff.User
	Flashes []flashMsg
	Nav     string // the top-nav entry to mark current
}

func (s *Server) page(w http.ResponseWriter, r *http.Request, title, nav string) Page {
	return Page{Title: title, User: currentUser(r.Context()), Flashes: s.takeFlashes(w, r), Nav: nav}
}
