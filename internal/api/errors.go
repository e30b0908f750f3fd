package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/signoff/signoff/internal/problem"
	"github.com/signoff/signoff/internal/signoff"
)

// Error codes. The domain's codes (signoff.EINVALID and the rest) pass
// through unchanged; these are the HTTP layer's own, more specific ones,
// whose statuses internal/problem's table holds with every other.
const (
	codeNotFound         = signoff.ENOTFOUND
	codeMethodNotAllowed = problem.MethodNotAllowed
	codeUnsupportedMedia = problem.UnsupportedMediaType
	codeTokensCannotSign = problem.TokensCannotSign
	codeUnavailable      = problem.Unavailable
)

// errorf is a client-facing error with one of the codes above.
func errorf(code, format string, args ...any) *signoff.Error {
	return signoff.Errorf(code, format, args...)
}

// errorBody is every error answer.
type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// fail answers a failed request with a JSON error. Its status and words
// are internal/problem's to decide, the same as for pages: anything that
// is not a *signoff.Error is logged with its detail and shown as
// "Internal error" with the request id.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	rid := w.Header().Get("X-Request-Id") // set by the web layer's middleware
	p := a.problems.Explain(r, rid, err)
	if p.ClientGone() {
		return
	}
	if p.Code == signoff.EUNKNOWN && r.Header.Get(HeaderIdempotencyKey) != "" {
		p.Message += " Repeating this request with the same Idempotency-Key is safe: it makes the change only if it was not made."
	}
	p.SetHeaders(w.Header())
	if p.Status == http.StatusUnauthorized {
		challenge := `Bearer realm="signoff"`
		if r.Header.Get("Authorization") != "" {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	a.respond(w, r, p.Status, errorBody{Code: p.Code, Message: p.Message, RequestID: rid})
}

// recoverPanics turns a panic into a logged stack and a JSON 500.
func (a *API) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.logger.LogAttrs(r.Context(), slog.LevelError, "api panic",
					slog.String("request_id", w.Header().Get("X-Request-Id")), slog.Any("panic", v),
					slog.String("stack", string(debug.Stack())))
				a.fail(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
