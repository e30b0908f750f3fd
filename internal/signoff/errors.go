// Package signoff holds Signoff's domain: the types that describe templates,
// deployments, people and audit events, the rules that govern them, and the
// one error type whose codes the HTTP layer maps to statuses. It imports
// neither net/http nor a database driver.
package signoff

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. The web layer maps each to one HTTP status (see internal/ui).
const (
	EINVALID      = "invalid"                // the input is malformed; the message says how
	ENOTFOUND     = "not_found"              // the thing asked for does not exist (or is not visible)
	ECONFLICT     = "conflict"               // the request is valid but the current state forbids it
	ELOCKED       = "locked"                 // the deployment is signed off and read-only
	EUNAUTHORIZED = "unauthorized"           // the caller is not signed in or the credentials are wrong
	EFORBIDDEN    = "forbidden"              // signed in, but not allowed to do this
	ERATELIMIT    = "rate_limited"           // too many attempts; try again later
	ETOOLARGE     = "too_large"              // the request body is over the limit
	EUNSUPPORTED  = "unsupported_media_type" // a file of a type Signoff does not take (problem.UnsupportedMediaType)
	EINTERNAL     = "internal"               // anything else; details go to the log only

	// EUNKNOWN: the connection broke while the change was being committed,
	// so it may or may not have been made; the message says how to check.
	EUNKNOWN = "outcome_unknown"
	// EKEYREUSED: an idempotency key came back with a different request.
	EKEYREUSED = "idempotency_key_reused"
)

// Error is an application error with a code and a message safe to show a
// person. Anything that is not an *Error is internal: its text stays in logs.
type Error struct {
	Code    string
	Message string
	// RetryAfter, on an ERATELIMIT, is how long until trying again can
	// work (sent as Retry-After).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("signoff: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the code and a formatted, user-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err, or "Internal error."
// for anything that is not an *Error, so no internal detail leaks.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "Internal error."
}
