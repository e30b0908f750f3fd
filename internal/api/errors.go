package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// Error codes. The domain's codes (signoff.EINVALID and the rest) pass
// through unchanged; these are the API's own, more specific ones.
const (
	codeNotFound         = signoff.ENOTFOUND
	codeMethodNotAllowed = "method_not_allowed"
	codeUnsupportedMedia = "unsupported_media_type"
	codeTokensCannotSign = "tokens_cannot_sign"
	codeUnavailable      = "unavailable"
)

// statusFor maps every error code to its HTTP status: the one place where
// the two meet in the API.
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
	codeMethodNotAllowed:  http.StatusMethodNotAllowed,
	codeUnsupportedMedia:  http.StatusUnsupportedMediaType,
	codeTokensCannotSign:  http.StatusForbidden,
	codeUnavailable:       http.StatusServiceUnavailable,
}

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

// fail answers a failed request with a JSON error. Anything that is not a
// *signoff.Error is internal: logged with its detail, shown as "Internal
// error" with the request id.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	rid := w.Header().Get("X-Request-Id") // set by the web layer's middleware
	code := signoff.ErrorCode(err)
	body := errorBody{Code: code, Message: signoff.ErrorMessage(err), RequestID: rid}
	if code == signoff.EINTERNAL {
		switch {
		case errors.Is(err, context.Canceled):
			return // the client has gone
		case postgres.IsUnavailable(err):
			a.logger.LogAttrs(r.Context(), slog.LevelWarn, "database unavailable",
				slog.String("request_id", rid), slog.Any("err", err))
			body.Code = codeUnavailable
			body.Message = "The database cannot be reached right now. Nothing was changed; try again in a moment."
			w.Header().Set("Retry-After", "2")
		default:
			a.logger.LogAttrs(r.Context(), slog.LevelError, "api request failed",
				slog.String("request_id", rid), slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.Any("err", err))
			body.Message = "Internal error. Nothing was changed. The problem was logged with request id " + rid + "."
		}
	}
	status, ok := statusFor[body.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusUnauthorized {
		challenge := `Bearer realm="signoff"`
		if r.Header.Get("Authorization") != "" {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	a.respond(w, r, status, body)
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
