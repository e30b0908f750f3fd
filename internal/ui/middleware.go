package ui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/signoff/signoff/internal/signoff"
)

type ctxKey int

const (
	userKey ctxKey = iota
	requestIDKey
	noFlashKey // the signed-in session holds no flash messages
)

func currentUser(ctx context.Context) *signoff.User {
	u, _ := ctx.Value(userKey).(*signoff.User)
	return u
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// withRequestID tags each request with an id, echoed in a header and logs.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := hex.EncodeToString(randomBytes(8))
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach Flush for server-sent events.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// FlushError and Flush pass a flush through, also for wrappers (the
// compressor) that look for http.Flusher rather than unwrapping.
func (w *statusRecorder) FlushError() error {
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusRecorder) Flush() { w.FlushError() }

// logRequests writes one structured line per request. It logs the route
// pattern and user id, never cookies, tokens or form values.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := chi.RouteContext(r.Context()).RoutePattern()
		s.metrics.ObserveRequest(r.Method, route, rec.status, time.Since(start))
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("request_id", requestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
		}
		if u := currentUser(r.Context()); u != nil {
			attrs = append(attrs, slog.Int64("user_id", u.ID))
		}
		s.logger.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// recoverPanics turns a panic into a 500 and a logged stack, not a crash.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.LogAttrs(r.Context(), slog.LevelError, "panic",
					slog.String("request_id", requestID(r.Context())), slog.Any("panic", v),
					slog.String("stack", string(debug.Stack())))
				http.Error(w, "Internal error.", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows only this origin's scripts and styles: no
// inline script or style anywhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if s.cfg.SecureCookies() {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// noStore tells browsers and proxies to keep no copy of the answer (a
// handler may still say more, e.g. "private, no-store" on a download):
// after signing out, Back must not show a page that held an invitation
// link or someone's sign-offs.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// MaxBodyBytes bounds request bodies; template uploads get more: a file
// of MaxTemplateBytes, which the preview carries to the confirmation in
// base64 (a third larger), fits in MaxTemplateFormBytes.
const (
	MaxBodyBytes         = 64 << 10
	MaxTemplateBytes     = 1 << 20
	MaxTemplateFormBytes = 2 << 20
)

func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				http.Error(w, "Request body too large.", http.StatusRequestEntityTooLarge)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// loadUser reads the session and puts the signed-in, active person (if
// any) in the context. Everything after it decides on that alone.
func (s *Server) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, flashes, err := s.sessions.signedIn(r, s.cookieName())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ctx := r.Context()
		if u != nil {
			ctx = context.WithValue(ctx, userKey, u)
			if !flashes {
				ctx = context.WithValue(ctx, noFlashKey, true)
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Server) cookieName() string { return sessionCookie(s.cfg.SecureCookies()) }

// requireUser sends anyone not signed in to the login page (or answers 401
// to HTMX, which then reloads to the login page).
func (s *Server) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if currentUser(r.Context()) != nil {
			next.ServeHTTP(w, r)
			return
		}
		login := "/login"
		if r.Method == http.MethodGet {
			login += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		if isHTMX(r) {
			w.Header().Set("HX-Redirect", login)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, login, http.StatusSeeOther)
	})
}

// requireEditor lets through people who may change checklists: everyone
// signed in except auditors, who only read.
func (s *Server) requireEditor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !currentUser(r.Context()).CanEditChecklists() {
			s.fail(w, r, signoff.Errorf(signoff.EFORBIDDEN, "Auditors can read everything but change nothing."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := currentUser(r.Context()); u == nil || !u.IsAdmin {
			s.fail(w, r, signoff.Errorf(signoff.EFORBIDDEN, "Only admins can do this."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAuditor lets admins and auditors through (exports, audit views).
func (s *Server) requireAuditor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := currentUser(r.Context()); u == nil || !u.IsAdmin && !u.IsAuditor {
			s.fail(w, r, signoff.Errorf(signoff.EFORBIDDEN, "Only auditors and admins can do this."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address failed attempts are counted against.
func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.TrustProxy {
		// The last address is the one our proxy added; those before it
		// are whatever the client sent, so trusting the first would let
		// anyone pick the address the rate limit counts.
		if f := r.Header.Values("X-Forwarded-For"); len(f) > 0 {
			last := f[len(f)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := strings.TrimSpace(last); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
