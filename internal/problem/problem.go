// Package problem turns a failed request's error into what its client is
// shown: the one table from error codes to HTTP statuses, shared by the web
// pages (internal/ui) and the JSON API (internal/api), and the words that go
// with each status. The caller only chooses the shape (a page, an HTMX flash
// fragment, a JSON body), so one error answers the same status on both
// sides, and no error's own text reaches a client unless it is a
// *signoff.Error, whose message is written for people.
package problem

import (
	"cmp"
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
	// The change may have been made: not "nothing was changed". 503 with
	// Retry-After, as the database that broke the connection is usually
	// back within seconds, and then checking (or repeating the request
	// with its idempotency key) works.
	signoff.EUNKNOWN:     http.StatusServiceUnavailable,
	signoff.EKEYREUSED:   http.StatusUnprocessableEntity,
	MethodNotAllowed:     http.StatusMethodNotAllowed,
	UnsupportedMediaType: http.StatusUnsupportedMediaType,
	TokensCannotSign:     http.StatusForbidden,
	Unavailable:          http.StatusServiceUnavailable,
	Cancelled:            StatusClientClosed,
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
	// Fault names the database fault an error is (postgres.Fault: the
	// database cannot be reached, is at its connection limit, is
	// read-only, its disk is full…), or "" for none: this package knows
	// no driver.
	Fault func(error) string
}

// retryAfter is how long a client waits for the database to come back:
// a restart usually takes a second or two.
const retryAfter = 2 * time.Second

// faultWords are what a client is told for each database fault
// (postgres.Fault names them; a test holds the two lists together), and
// how soon trying again may work. /readyz says the same words.
var faultWords = map[string]struct {
	says  string
	retry time.Duration
}{
	"unreachable":      {"The database cannot be reached right now.", retryAfter},
	"connection_limit": {"The database is at its connection limit.", retryAfter},
	"read_only":        {"The database accepts only reads right now (a standby, or a failover under way).", 5 * time.Second},
	"disk_full":        {"The database's disk is full; an operator must free space.", 30 * time.Second},
	"out_of_resources": {"The database is out of memory or another resource.", 5 * time.Second},
}

// FaultWords says what a database fault (postgres.Fault) means to a
// person, without "nothing was changed": /readyz shows it as is.
func FaultWords(fault string) string {
	if w, ok := faultWords[fault]; ok {
		return w.says
	}
	return "The database cannot take requests right now."
}

// Faults lists the database faults this package has words for (for tests).
func Faults() []string { return slices.Sorted(maps.Keys(faultWords)) }

// Explain returns the problem err is for r's client. An error that is not
// a *signoff.Error is internal: the client is told "Internal error" and the
// request id, and the log gets the detail under that id.
func (e Explainer) Explain(r *http.Request, requestID string, err error) Problem {
	code := signoff.ErrorCode(err)
	switch code {
	case signoff.EINTERNAL:
	case signoff.EUNKNOWN:
		// Not the client's mistake, and not "nothing was changed": the log
		// keeps what broke, the message says how to check.
		e.log(r, slog.LevelWarn, "change outcome unknown", requestID, err)
		return Problem{Status: Status(code), Code: code, Title: "Not known whether it was saved",
			Message: signoff.ErrorMessage(err), RetryAfter: retryAfter}
	default:
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
	if errors.Is(err, context.Canceled) {
		return Problem{Status: StatusClientClosed, Code: Cancelled, Title: "Cancelled", Message: "The request was cancelled."}
	}
	if fault := e.fault(err); fault != "" {
		e.log(r, slog.LevelWarn, "database unavailable", requestID, err, slog.String("fault", fault))
		w := faultWords[fault]
		return Problem{Status: Status(Unavailable), Code: Unavailable, Title: "Temporarily unavailable",
			Message: FaultWords(fault) + " Nothing was changed; try again in a moment.", RetryAfter: cmp.Or(w.retry, retryAfter)}
	}
	e.log(r, slog.LevelError, "request failed", requestID, err)
	return Problem{Status: Status(signoff.EINTERNAL), Code: signoff.EINTERNAL, Title: "Something went wrong",
		Message: "Internal error. Nothing was changed. The problem was logged with request id " + requestID + "."}
}

func (e Explainer) fault(err error) string {
	if e.Fault == nil {
		return ""
	}
	return e.Fault(err)
}

func (e Explainer) log(r *http.Request, level slog.Level, msg, requestID string, err error, attrs ...slog.Attr) {
	if e.Logger == nil {
		return
	}
	e.Logger.LogAttrs(r.Context(), level, msg, append([]slog.Attr{slog.String("request_id", requestID),
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err)}, attrs...)...)
}
