package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.BaseURL != "http://localhost:8080" || c.SessionTTL != 12*time.Hour || c.LiveKeepAlive != 25*time.Second || c.DatabaseURL != "" {
		t.Fatalf("defaults = %+v", c)
	}
	if c.SecureCookies() {
		t.Fatal("plain http base URL must not set Secure cookies")
	}
}

func TestSecretFromFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "db")
	os.WriteFile(f, []byte("postgres://u:p@db/signoff\n"), 0o600)
	c, err := Load(env(map[string]string{"DATABASE_URL_FILE": f, "BASE_URL": "https://signoff.example.com/"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://u:p@db/signoff" || !c.SecureCookies() || c.BaseURL != "https://signoff.example.com" {
		t.Fatalf("got %+v", c)
	}
}

func TestInvalid(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"both":       {"DATABASE_URL": "x", "DATABASE_URL_FILE": "y"},
		"ttl":        {"SESSION_TTL": "soon"},
		"keepalive":  {"LIVE_KEEPALIVE": "-5s"},
		"base":       {"BASE_URL": "ftp://x"},
		"level":      {"LOG_LEVEL": "loud"},
		"secret":     {"SESSION_SECRET": "short"},
		"conns":      {"DB_MAX_CONNS": "-1"},
		"smtp tls":   {"SMTP_TLS": "maybe"},
		"proxy":      {"TRUST_PROXY": "perhaps"},
		"missing fn": {"DATABASE_URL_FILE": "/nonexistent/file"},
		"cidr":       {"METRICS_ALLOWED_NETWORKS": "10.0.0.0/8,10.0.0.0/33"},
		"not ip":     {"METRICS_ALLOWED_NETWORKS": "localhost"},
	} {
		_, err := Load(env(m))
		if err == nil {
			t.Errorf("%s: Load(%v) succeeded; want an error", name, m)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", name, err)
		}
	}
}

func TestMetricsAllowedNetworks(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "::ffff:127.0.0.1": true,
		"10.0.0.1": false, "192.0.2.7": false, "::2": false,
	} {
		if got := c.MetricsAllowed(netip.MustParseAddr(addr)); got != want {
			t.Errorf("default networks: MetricsAllowed(%s) = %v; want %v", addr, got, want)
		}
	}

	c, err = Load(env(map[string]string{"METRICS_ALLOWED_NETWORKS": " 10.0.0.0/8 , fd00::/8,192.0.2.7"}))
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"10.200.3.4": true, "fd12::1": true, "192.0.2.7": true,
		"192.0.2.8": false, "127.0.0.1": false, "11.0.0.1": false,
	} {
		if got := c.MetricsAllowed(netip.MustParseAddr(addr)); got != want {
			t.Errorf("custom networks: MetricsAllowed(%s) = %v; want %v", addr, got, want)
		}
	}

	_, err = Load(env(map[string]string{"METRICS_ALLOWED_NETWORKS": "10.0.0.0/8,10.0.0.0/33"}))
	if err == nil || !strings.Contains(err.Error(), "METRICS_ALLOWED_NETWORKS") || !strings.Contains(err.Error(), `"10.0.0.0/33"`) {
		t.Fatalf("bad CIDR: error %v; want one naming the variable and the bad entry", err)
	}
}
