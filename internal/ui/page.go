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
	// Warning is shown to admins on every page while the app's database
	// role could rewrite the audit log (postgres.RewriteRisk).
	Warning string
}

func (s *Server) page(w http.ResponseWriter, r *http.Request, title, nav string) Page {
	p := Page{Title: title, User: currentUser(r.Context()), Flashes: s.takeFlashes(w, r), Nav: nav}
	if p.User != nil && p.User.IsAdmin {
		p.Warning = s.dbWarning
	}
	return p
}
