package ui

import (
	"net/http"

	"github.com/signoff/signoff/internal/problem"
	"github.com/signoff/signoff/internal/signoff"
)

// fail answers a failed request: a flash fragment for HTMX, else a page.
// Which status and which words are internal/problem's to decide, the same
// as for the API.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := s.problems.Explain(r, requestID(r.Context()), err)
	if p.ClientGone() {
		return
	}
	if p.Code == signoff.EKEYREUSED { // a form key (formOnce) sent back with other values
		p.Message = "This form was already sent, with other values; nothing was changed. Reload the page and fill it in again."
	}
	p.SetHeaders(w.Header())
	if isHTMX(r) {
		// Errors land in the page's flash region, whatever the target was.
		w.Header().Set("HX-Retarget", "#flash")
		w.Header().Set("HX-Reswap", "innerHTML")
		s.render(w, r, p.Status, flashMessage("error", p.Message))
		return
	}
	s.render(w, r, p.Status, errorPage(s.page(w, r, p.Title, ""), p.Message))
}

func isHTMX(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-History-Restore-Request") != "true"
}

// notFound answers unknown addresses: logged-out visitors are sent to sign
// in (they learn nothing about what exists), others get a 404 page.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.loadUser(s.requireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, signoff.Errorf(signoff.ENOTFOUND, "Nothing is found at this address."))
	}))).ServeHTTP(w, r)
}

// methodNotAllowed answers in plain text: whoever sends a wrong method to
// a page's address is a script, not a person reading a page.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(problem.Status(problem.MethodNotAllowed))
	s.write(w, r, []byte("Method not allowed.\n"))
}
