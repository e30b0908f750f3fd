package ui_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// metricsFrom asks for /metrics as a client at remote (host:port), with
// extra headers, straight through the app's handler.
func metricsFrom(a *app, remote string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.RemoteAddr = remote
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	a.ui.Handler().ServeHTTP(rec, req)
	return rec
}

func TestMetricsOnlyForAllowedNetworks(t *testing.T) {
	t.Parallel()
	served := func(rec *httptest.ResponseRecorder) bool {
		return rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), "signoff_db_pool_connections")
	}

	// The default: the machine itself, nobody else.
	def := newApp(t)
	for remote, want := range map[string]bool{
		"127.0.0.1:5000": true, "[::1]:5000": true, "127.3.2.1:5000": true,
		"192.0.2.10:5000": false, "10.1.2.3:5000": false, "[2001:db8::1]:5000": false,
	} {
		rec := metricsFrom(def, remote, nil)
		if served(rec) != want {
			t.Errorf("default networks, client %s: status %d; want served %v", remote, rec.Code, want)
		}
		if !want && (rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "METRICS_ALLOWED_NETWORKS")) {
			t.Errorf("client %s: %d %q; want 403 naming METRICS_ALLOWED_NETWORKS", remote, rec.Code, rec.Body.String())
		}
	}
	// Without TRUST_PROXY a forwarded address is ignored.
	if rec := metricsFrom(def, "192.0.2.10:5000", map[string]string{"X-Forwarded-For": "127.0.0.1"}); served(rec) {
		t.Error("X-Forwarded-For opened /metrics without TRUST_PROXY")
	}
	// Over real HTTP, a logged-out visitor on this machine is served.
	if res := def.anon().get("/metrics"); res.StatusCode != http.StatusOK {
		t.Errorf("local logged-out visitor: %d", res.StatusCode)
	}

	// Behind a proxy: the address the proxy added counts, not what the
	// client claims before it.
	proxied := newAppWith(t, appConfig{env: map[string]string{"TRUST_PROXY": "true", "METRICS_ALLOWED_NETWORKS": "10.0.0.0/8"}})
	for xff, want := range map[string]bool{
		"10.20.30.40":                 true,
		"192.0.2.10":                  false,
		"10.9.9.9, 192.0.2.10":        false, // spoofed first entry
		"192.0.2.10, 10.20.30.40":     true,
		"not-an-address":              false,
		"127.0.0.1":                   false, // loopback is not in the list
		"10.20.30.40, not-an-address": false,
	} {
		if rec := metricsFrom(proxied, "127.0.0.1:5000", map[string]string{"X-Forwarded-For": xff}); served(rec) != want {
			t.Errorf("TRUST_PROXY, X-Forwarded-For %q: status %d; want served %v", xff, rec.Code, want)
		}
	}
	if rec := metricsFrom(proxied, "10.1.1.1:5000", nil); !served(rec) {
		t.Errorf("TRUST_PROXY, no header, client in the list: %d", rec.Code)
	}

	// METRICS_TOKEN: required and enough, from anywhere.
	tok := newAppWith(t, appConfig{env: map[string]string{"METRICS_TOKEN": "s3cret-metrics-token"}})
	if rec := metricsFrom(tok, "192.0.2.10:5000", map[string]string{"Authorization": "Bearer s3cret-metrics-token"}); !served(rec) {
		t.Errorf("token from a foreign network: %d", rec.Code)
	}
	for _, auth := range []string{"", "Bearer wrong", "s3cret-metrics-token"} {
		rec := metricsFrom(tok, "127.0.0.1:5000", map[string]string{"Authorization": auth})
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("token set, Authorization %q: %d; want 401", auth, rec.Code)
		}
	}
}
