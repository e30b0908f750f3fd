// Package problem turns a failed request's error into what its client is
// shown: the one table from error codes to HTTP statuses, shared by the web
// pages (internal/ui) and the JSON API (internal/api), and the words that go
// with each status. The caller only chooses the shape (a page, an HTMX flash
// fragment, a JSON body), so one error answers the same status on both
// sides, and no error's own text reaches a client unless it is a
// *signoff.Error, whose message is written for people.
package problem

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// Codes the HTTP layer answers with beside the domain's (signoff.EINVALID
// and the rest). The API names them; pages show only their messages.
const (
	MethodNotAllowed     = "method_not_allowed"     // the address exists, not with this method
	UnsupportedMediaType = "unsupported_media_type" // the body is not JSON
	TokensCannotSign     = "tokens_cannot_sign"     // signatures are given by people, never by API tokens
	Unavailable          = "unavailable"            // the database (or the signing key) is not there; nothing changed
	Cancelled            = "cancelled"              // the client went away before the answer
)

// StatusClientClosed is a request whose client went away: nothing is
// written (nobody would read it), but logs and metrics see the status
// nginx uses for it.
const StatusClientClosed = 499

// statusFor maps every code to its HTTP status; Status reads it.
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
	MethodNotAllowed:      http.StatusMethodNotAllowed,
	UnsupportedMediaType:  http.StatusUnsupportedMediaType,
	TokensCannotSign:      http.StatusForbidden,
	Unavailable:           http.StatusServiceUnavailable,
	Cancelled:             StatusClientClosed,
}

// Status returns code's HTTP status. A code the table does not know is a
// mistake of ours, so it answers 500, never 0 (which WriteHeader panics on).
func Status(code string) int {
	if s, ok := statusFor[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Codes lists every code the table knows, sorted (for tests and docs).
func Codes() []string { return slices.Sorted(maps.Keys(statusFor)) }

// Problem is a failed request as its client sees it.
type Problem struct {
	Status  int
	Code    string
	Title   string // a page's heading
	Message string // what the person can act on; never internal detail
	// RetryAfter, when set, says trying again soon should work (the
	// database was away), sent as Retry-After.
	RetryAfter time.Duration
}

// ClientGone reports that nobody is left to answer.
func (p Problem) ClientGone() bool { return p.Status == StatusClientClosed }

// SetHeaders sets the headers every shape of answer carries.
func (p Problem) SetHeaders(h http.Header) {
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((p.RetryAfter+time.Second-1)/time.Second)))
	}
}

// Explainer turns errors into problems and logs what the client is not
// shown.
type Explainer struct {
	Logger *slog.Logger
	// Unavailable reports whether an error means the database could not
	// be reached (postgres.IsUnavailable): this package knows no driver.
	Unavailable func(error) bool
}

// retryAfter is how long a client waits for the database to come back:
// a restart usually takes a second or two.
const retryAfter = 2 * time.Second

// Explain returns the problem err is for r's client. An error that is not
// a *signoff.Error is internal: the client is told "Internal error" and the
// request id, and the log gets the detail under that id.
func (e Explainer) Explain(r *http.Request, requestID string, err error) Problem {
	code := signoff.ErrorCode(err)
	if code != signoff.EINTERNAL {
		status := Status(code)
		if _, known := statusFor[code]; !known {
			e.log(r, slog.LevelError, "error code has no HTTP status", requestID, err)
		}
		p := Problem{Status: status, Code: code, Title: http.StatusText(status), Message: signoff.ErrorMessage(err)}
		if e, ok := errors.AsType[*signoff.Error](err); ok {
			p.RetryAfter = e.RetryAfter
		}
		return p
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Problem{Status: StatusClientClosed, Code: Cancelled, Title: "Cancelled", Message: "The request was cancelled."}
	case e.Unavailable != nil && e.Unavailable(err):
		e.log(r, slog.LevelWarn, "database unavailable", requestID, err)
		return Problem{Status: Status(Unavailable), Code: Unavailable, Title: "Temporarily unavailable",
			Message:    "The database cannot be reached right now. Nothing was changed; try again in a moment.",
			RetryAfter: retryAfter}
	}
	e.log(r, slog.LevelError, "request failed", requestID, err)
	return Problem{Status: Status(signoff.EINTERNAL), Code: signoff.EINTERNAL, Title: "Something went wrong",
		Message: "Internal error. Nothing was changed. The problem was logged with request id " + requestID + "."}
}

func (e Explainer) log(r *http.Request, level slog.Level, msg, requestID string, err error) {
	if e.Logger == nil {
		return
	}
	e.Logger.LogAttrs(r.Context(), level, msg, slog.String("request_id", requestID),
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
}
