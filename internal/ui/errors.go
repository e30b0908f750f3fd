package ui

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// statusFor maps each domain error code to its HTTP status: the one place
// where the two meet.
var statusFor = map[string]int{
	signoff.EINVALID:      http.StatusBadRequest,
	signoff.ENOTFOUND:     http.StatusNotFound,
	signoff.ECONFLICT:     http.StatusConflict,
	signoff.ELOCKED:       http.StatusLocked,
	signoff.EUNAUTHORIZED: http.StatusUnauthorized,
	signoff.EFORBIDDEN:    http.StatusForbidden,
	signoff.ERATELIMIT:    http.StatusTooManyRequests,
	signoff.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	signoff.EINTERNAL:     http.StatusInternalServerError,
}

// problem is an error ready to show: a status, a title and a message a
// person can act on. Internal detail never gets into one.
type problem struct {
	Status  int
	Title   string
	Message string
	Code    string
}

// problemFor turns any error into what the client may see, logging what it
// must not.
func (s *Server) problemFor(r *http.Request, err error) problem {
	code := signoff.ErrorCode(err)
	if code == signoff.EINTERNAL {
		if errors.Is(err, context.Canceled) {
			return problem{Status: 499, Title: "Cancelled", Message: "The request was cancelled.", Code: code}
		}
		if postgres.IsUnavailable(err) {
			s.logger.LogAttrs(r.Context(), slog.LevelWarn, "database unavailable",
				slog.String("request_id", requestID(r.Context())), slog.Any("err", err))
			return problem{Status: http.StatusServiceUnavailable, Title: "Temporarily unavailable",
				Message: "The database cannot be reached right now. Nothing was changed; try again in a moment.", Code: "unavailable"}
		}
		s.logger.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", requestID(r.Context())), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("err", err))
		return problem{Status: http.StatusInternalServerError, Title: "Something went wrong",
			Message: "Internal error. Nothing was changed. The problem was logged with request id " + requestID(r.Context()) + ".", Code: code}
	}
	status := statusFor[code]
	return problem{Status: status, Title: http.StatusText(status), Message: signoff.ErrorMessage(err), Code: code}
}

// fail answers a failed request: a flash fragment for HTMX, else a page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := s.problemFor(r, err)
	if p.Status == 499 {
		return
	}
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "2")
	}
	if isHTMX(r) {
		// Errors land in the page's flash region, whatever the target was.
		w.Header().Set("HX-Retarget", "#flash")
		w.Header().Set("HX-Reswap", "innerHTML")
		s.render(w, r, p.Status, flashMessage("error", p.Message))
		return
	}
	s.render(w, r, p.Status, errorPage(s.page(w, r, p.Title, ""), p))
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

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusMethodNotAllowed)
	w.Write([]byte("Method not allowed.\n"))
}
