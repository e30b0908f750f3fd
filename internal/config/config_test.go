package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/config/configtest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.BaseURL != "http://localhost:8080" || c.SessionTTL != 12*time.Hour || c.LiveKeepAlive != 25*time.Second || c.DatabaseURL != "" ||
		c.IdempotencyKeyTTL != 24*time.Hour || c.ShutdownTimeout != 30*time.Second || c.ExportDrainTimeout != 5*time.Minute ||
		c.LogCheckpointInterval != 5*time.Minute {
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

const testSigningKey = configtest.SigningKey

func TestInvalid(t *testing.T) {
	for _, c := range configtest.BadSettings(t) {
		m := map[string]string{c.Name: c.Value}
		for k, v := range c.Extra {
			m[k] = v
		}
		_, err := Load(env(m))
		if err == nil {
			t.Errorf("Load(%v) succeeded; want an error naming %s", m, c.Name)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, c.Name) {
			t.Errorf("Load(%v) = %q; want one line naming %s", m, msg, c.Name)
		}
		if strings.Contains(msg, "hunter2") || strings.Contains(msg, "short") {
			t.Errorf("Load(%v) = %q repeats a secret", m, msg)
		}
	}
}

// Variables only the embedded database uses are not checked with
// DATABASE_URL set.
func TestEmbeddedOnlySettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	c, err := Load(env(map[string]string{"DATABASE_URL": "postgres://db/signoff", "DATA_DIR": file, "POSTGRES_BIN_DIR": file}))
	if err != nil || c.Embedded() || c.PostgresBinDir != "" {
		t.Fatalf("Load with DATABASE_URL and an unused DATA_DIR: %+v, %v", c, err)
	}
}

func TestValidSettings(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(testSigningKey+"\n"), 0o600)
	c, err := Load(env(map[string]string{
		"ADDR": "[::1]:0", "SIGNING_KEY_FILE": keyFile, "DB_MAX_CONNS": "40",
		"SMTP_HOST": "mail.example.com", "SMTP_PORT": "465", "SMTP_FROM": "Signoff <signoff@example.com>",
		"METRICS_TOKEN": "0123456789abcdef", "LOAD_FLOORS": "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SigningKey == nil || c.SigningKeySource != "SIGNING_KEY_FILE" || c.DBMaxConns != 40 || c.SMTP.Port != 465 ||
		c.BaseURL != "http://[::1]:0" || !c.LoadFloors || !c.Embedded() {
		t.Fatalf("got %+v", c)
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
