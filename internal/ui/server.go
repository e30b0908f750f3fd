// Package ui is Signoff's web layer: the routes, the handlers (one small
// file per action) and their templ views, side by side. Handlers read like
// the request: parse, authorize, call the store, render.
package ui

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/live"
	"github.com/signoff/signoff/internal/metrics"
	"github.com/signoff/signoff/internal/netguard"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/problem"
	"github.com/signoff/signoff/internal/signoff"
)

// Server holds the web layer's dependencies.
type Server struct {
	db       *postgres.DB
	cfg      *config.Config
	logger   *slog.Logger
	problems problem.Explainer // what a failed request shows (errors.go)
	sessions *sessionStore
	live     *live.Hub
	metrics  *metrics.Metrics
	now      func() time.Time
	signer   *audit.Signer
	// dbWarning says the database role could rewrite history ("" when not).
	dbWarning string
	// checklists caches deployment checklists and their rendering.
	checklists *checklistCache
	readiness  *readiness   // the last readiness check (health.go)
	exports    longRequests // bulk exports streaming now (drain.go)
	// webauthn is the passkey relying party; nil when BASE_URL's host is
	// an IP address (passkeys.go).
	webauthn *webauthn.WebAuthn
	// sso is single sign-on; nil without OIDC_ISSUER (sso.go).
	sso *sso
	// mail sends a message at once (a reset link); nil without SMTP.
	mail func(ctx context.Context, to, subject, body string) error
	// webhookGuard refuses webhooks to internal addresses as they are
	// added (deliveries are checked again at the socket, in notify).
	webhookGuard *netguard.Guard
}

// Options are the Server's optional parts.
type Options struct {
	Live    *live.Hub        // live updates; nil serves pages without them
	Metrics *metrics.Metrics // nil: no /metrics
	Now     func() time.Time
	// Signer signs audit exports; nil uses the key kept in the database.
	Signer *audit.Signer
	// Mail sends one message at once, outside the mail log (a reset
	// link must be stored nowhere); nil when SMTP is not configured.
	Mail func(ctx context.Context, to, subject, body string) error
	// WebhookResolver resolves webhook host names as they are added; nil
	// is the system's resolver (tests answer from a table).
	WebhookResolver netguard.Resolver
	// DBWarning, when not empty, says the app's database role could
	// rewrite history (postgres.RewriteRisk): /readyz and the admin pages
	// show it.
	DBWarning string
}

// New builds the web layer. The session key is shared by every instance:
// from SESSION_SECRET or generated once in the database.
func New(ctx context.Context, db *postgres.DB, cfg *config.Config, logger *slog.Logger, opt Options) (*Server, error) {
	key := []byte(cfg.SessionSecret)
	if len(key) == 0 {
		var err error
		key, err = db.Secret(ctx, "session_key", func() []byte { return randomBytes(64) })
		if err != nil {
			return nil, fmt.Errorf("session key: %w", err)
		}
	}
	s := &Server{
		db: db, cfg: cfg, logger: logger, live: opt.Live, metrics: opt.Metrics, now: opt.Now,
		problems:     problem.Explainer{Logger: logger, Fault: postgres.Fault},
		checklists:   newChecklistCache(checklistCacheSize),
		readiness:    &readiness{metrics: opt.Metrics, logger: logger},
		webhookGuard: netguard.New(cfg.WebhookAllowedNetworks),
		dbWarning:    opt.DBWarning,
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.mail = opt.Mail
	if cfg.OIDC.Enabled() {
		s.sso = &sso{cfg: cfg.OIDC}
	}
	var err error
	if s.webauthn, err = newWebAuthn(cfg.BaseURL); err != nil {
		return nil, err
	}
	s.sessions = newSessionStore(db, key, cfg.SessionTTL, cfg.SecureCookies(), s.clientIP, logger)
	if opt.WebhookResolver != nil {
		s.webhookGuard = s.webhookGuard.WithResolver(opt.WebhookResolver)
	}
	if s.signer = opt.Signer; s.signer == nil {
		seed, err := db.SigningSeed(ctx)
		if err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		if s.signer, err = audit.SignerFromSeed(seed); err != nil {
			return nil, err
		}
		// The same key signs the transparency log's checkpoints (the
		// server sets it in Serve).
		if _, err := db.SetLogKey(ctx, s.signer.PrivateKey(), "signoff.test/audit-log", cfg.WitnessKeys); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// render writes a templ component with a status. What the component
// shows of segments compressed in advance (segmentComponent: the
// deployment page's checklist, the icon sprite) goes out as it was
// compressed, spliced between what is rendered around it.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	// Rendered whole, then written once: templ flushes a writer it renders
	// into, which would cost a gzip block and a write to the socket each
	// time, where one answer needs one of each.
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	buf.Reset()
	segs := &segmentList{}
	err := c.Render(context.WithValue(r.Context(), segmentListKey{}, segs), buf)
	if err != nil && r.Context().Err() == nil {
		// (A browser that navigated away mid-render is no error.)
		s.logger.LogAttrs(r.Context(), slog.LevelError, "render failed",
			slog.String("request_id", requestID(r.Context())), slog.Any("err", err))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	rest := buf.Bytes()
	for _, seg := range segs.segs {
		before, after, found := bytes.Cut(rest, []byte(segmentMarker))
		if !found {
			break // a render cut short by an error: what it wrote goes out
		}
		s.write(w, r, before)
		if err := writeSegment(w, seg); err != nil {
			s.logger.LogAttrs(r.Context(), slog.LevelDebug, "response write failed",
				slog.String("request_id", requestID(r.Context())), slog.Any("err", err))
			return
		}
		rest = after
	}
	s.write(w, r, rest)
}

// write sends the body of an answer whose status is set. It fails only
// when the client has gone, and then there is nobody to tell: the log
// notes it at debug level, for whoever chases cut-off downloads.
func (s *Server) write(w http.ResponseWriter, r *http.Request, b []byte) {
	if _, err := w.Write(b); err != nil {
		s.logger.LogAttrs(r.Context(), slog.LevelDebug, "response write failed",
			slog.String("request_id", requestID(r.Context())), slog.Any("err", err))
	}
}

var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putRenderBuffer keeps buffers for reuse, but not the rare huge one.
func putRenderBuffer(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 {
		renderBuffers.Put(b)
	}
}

// actor is the signed-in person as the audit log records them.
func actor(r *http.Request) signoff.EventActor {
	u := currentUser(r.Context())
	if u == nil {
		return signoff.EventActor{Name: "anonymous", Via: "web"}
	}
	return signoff.EventActor{ID: u.ID, Name: u.Name, Via: "web"}
}
