package ui

import (
	"context"
	"crypto/subtle"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/signoff/signoff/internal/metrics"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/problem"
)

// healthz says the process is up; it touches nothing else.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	s.write(w, r, []byte("ok\n"))
}

// readyz says whether this instance can serve: the database answers,
// takes writes (a standby, a full disk, a connection limit reached each
// fail it, with their own words and metric cause) and has the schema this
// binary knows. Load balancers route around it otherwise, and it passes
// again by itself once the cause is gone. Checks are shared for a second,
// so a crowd of probes costs one.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	cause, says := s.readiness.check(r.Context(), s.db)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if cause != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		s.write(w, r, []byte("not ready: "+says+"\n"))
		return
	}
	if s.dbWarning != "" {
		s.write(w, r, []byte("ready\nwarning: "+s.dbWarning+"\n"))
		return
	}
	s.write(w, r, []byte("ready\n"))
}

// readinessTTL is how long a readiness check's answer is reused.
const readinessTTL = time.Second

// readiness is the last readiness check, shared by the probes that come
// within readinessTTL of it.
type readiness struct {
	mu      sync.Mutex
	at      time.Time
	cause   string
	says    string
	metrics *metrics.Metrics
	logger  *slog.Logger
}

// check answers why this instance is not ready ("" when it is), and in
// words.
func (rd *readiness) check(ctx context.Context, db *postgres.DB) (cause, says string) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if time.Since(rd.at) < readinessTTL {
		return rd.cause, rd.says
	}
	// Not the probe's own context: a prober that hangs up must not leave
	// a cancelled check behind for the next second's probes.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	cause, says = "", ""
	if err := db.CheckWritable(ctx); err != nil {
		if cause = postgres.Fault(err); cause != "" {
			says = problem.FaultWords(cause)
		} else {
			cause, says = "write_refused", "The database refused a test write (the log has why)."
		}
		if cause != rd.cause {
			rd.logger.Warn("not ready", "cause", cause, "err", err)
		}
	} else if err := db.CheckSchema(ctx); err != nil {
		cause, says = "schema", "The database's schema is not the one this binary knows."
	}
	if cause == "" && rd.cause != "" {
		rd.logger.Info("ready again", "was", rd.cause)
	}
	rd.at, rd.cause, rd.says = time.Now(), cause, says
	rd.metrics.Readiness(cause)
	return cause, says
}

// staticHandler serves embedded assets. Links carry a content hash (?v=),
// so a fingerprinted URL can be cached for a year.
func staticHandler(files fs.FS) http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		fileServer.ServeHTTP(w, r)
	})
}

// metricsHandler serves Prometheus metrics. With METRICS_TOKEN set, the
// bearer token is required and enough, from any address; without it, only
// clients in METRICS_ALLOWED_NETWORKS (by default the machine itself) are
// answered.
func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) {
	if s.metrics == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if tok := s.cfg.MetricsToken; tok != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(tok)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "Metrics need the bearer token set in METRICS_TOKEN.", http.StatusUnauthorized)
			return
		}
	} else if addr, ok := s.metricsClient(r); !ok || !s.cfg.MetricsAllowed(addr) {
		http.Error(w, "Metrics are served only to the networks in METRICS_ALLOWED_NETWORKS, or with METRICS_TOKEN.", http.StatusForbidden)
		return
	}
	s.metrics.Handler().ServeHTTP(w, r)
}

// metricsClient is the address a metrics request comes from (see
// clientIP: behind a proxy, the address the proxy itself added).
func (s *Server) metricsClient(r *http.Request) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(s.clientIP(r))
	if err != nil {
		return netip.Addr{}, false
	}
	return addr.Unmap(), true
}
