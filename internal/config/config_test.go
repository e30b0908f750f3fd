package config

import (
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
	if c.Addr != ":8080" || c.BaseURL != "http://localhost:8080" || c.SessionTTL != 12*time.Hour || c.DatabaseURL != "" {
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
		"base":       {"BASE_URL": "ftp://x"},
		"level":      {"LOG_LEVEL": "loud"},
		"secret":     {"SESSION_SECRET": "short"},
		"conns":      {"DB_MAX_CONNS": "-1"},
		"smtp tls":   {"SMTP_TLS": "maybe"},
		"proxy":      {"TRUST_PROXY": "perhaps"},
		"missing fn": {"DATABASE_URL_FILE": "/nonexistent/file"},
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
