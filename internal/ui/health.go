package ui

import (
	"context"
	"crypto/subtle"
	"io/fs"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// healthz says the process is up; it touches nothing else.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	s.write(w, r, []byte("ok\n"))
}

// readyz says this instance can serve: the database answers and its schema
// is the one this binary knows. Load balancers route around it otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.db.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		s.write(w, r, []byte("database unreachable\n"))
		return
	}
	if err := s.db.CheckSchema(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		s.write(w, r, []byte("database schema is not current\n"))
		return
	}
	s.write(w, r, []byte("ready\n"))
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
