// Package config reads Signoff's configuration from environment variables,
// once, at start-up. Secrets may also come from files: FOO_FILE names a file
// whose contents are FOO (Docker and Kubernetes secrets work that way).
package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration.
type Config struct {
	DatabaseURL string        // DATABASE_URL; empty starts the embedded PostgreSQL
	Addr        string        // ADDR, the listen address
	BaseURL     string        // BASE_URL, how people reach the app (links in logs and mail)
	DataDir     string        // DATA_DIR, for the embedded database and generated keys
	LogLevel    string        // LOG_LEVEL: debug, info, warn, error
	LogFormat   string        // LOG_FORMAT: json or text
	SessionTTL  time.Duration // SESSION_TTL
	// SessionSecret signs session cookies; empty means a secret generated
	// once and shared by all instances through the database.
	SessionSecret string
	// TrustProxy makes the app take the client address from
	// X-Forwarded-For (only behind a proxy you run).
	TrustProxy bool
	DBMaxConns int32 // DB_MAX_CONNS
	// LiveKeepAlive is how often an idle live-update stream sends a
	// keep-alive (for proxies that close quiet connections) and re-checks
	// the viewer's session.
	LiveKeepAlive time.Duration // LIVE_KEEPALIVE

	// LoadFloors turns on /_load/read-floor and /_load/write-floor, the
	// trivial requests the load generator measures against.
	LoadFloors bool // LOAD_FLOORS

	// MetricsToken, when set, is the bearer token /metrics requires; it
	// works from any address.
	MetricsToken string // METRICS_TOKEN
	// MetricsAllowedNetworks are the client networks /metrics answers
	// without a token (when METRICS_TOKEN is unset).
	MetricsAllowedNetworks []netip.Prefix // METRICS_ALLOWED_NETWORKS

	SigningKey     string // SIGNING_KEY: base64 Ed25519 private key (seed or full)
	SigningKeyFile string // SIGNING_KEY_FILE: a file holding it

	SMTP SMTP
}

// SMTP configures outgoing mail; no mail is sent when Host is empty.
type SMTP struct {
	Host     string // SMTP_HOST
	Port     int    // SMTP_PORT
	Username string // SMTP_USERNAME
	Password string // SMTP_PASSWORD
	From     string // SMTP_FROM
	TLS      string // SMTP_TLS: "starttls" (default), "tls" or "none"
}

// SecureCookies reports whether cookies must be sent over HTTPS only.
func (c *Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// FromEnv reads the configuration from the environment.
func FromEnv() (*Config, error) { return Load(os.Getenv) }

// Load reads the configuration through getenv and validates it.
func Load(getenv func(string) string) (*Config, error) {
	c := &Config{
		Addr:      or(getenv("ADDR"), ":8080"),
		DataDir:   or(getenv("DATA_DIR"), "signoff-data"),
		LogLevel:  or(getenv("LOG_LEVEL"), "info"),
		LogFormat: or(getenv("LOG_FORMAT"), "json"),
	}
	var err error
	if c.DatabaseURL, err = secret(getenv, "DATABASE_URL"); err != nil {
		return nil, err
	}
	if c.SessionSecret, err = secret(getenv, "SESSION_SECRET"); err != nil {
		return nil, err
	}
	if c.SMTP.Password, err = secret(getenv, "SMTP_PASSWORD"); err != nil {
		return nil, err
	}
	if c.MetricsToken, err = secret(getenv, "METRICS_TOKEN"); err != nil {
		return nil, err
	}
	if c.MetricsAllowedNetworks, err = networks(getenv, "METRICS_ALLOWED_NETWORKS", DefaultMetricsNetworks); err != nil {
		return nil, err
	}
	c.SigningKey = getenv("SIGNING_KEY")
	c.SigningKeyFile = getenv("SIGNING_KEY_FILE")
	if c.SessionTTL, err = duration(getenv, "SESSION_TTL", 12*time.Hour); err != nil {
		return nil, err
	}
	if c.LiveKeepAlive, err = duration(getenv, "LIVE_KEEPALIVE", 25*time.Second); err != nil {
		return nil, err
	}
	if c.TrustProxy, err = boolean(getenv, "TRUST_PROXY", false); err != nil {
		return nil, err
	}
	if c.LoadFloors, err = boolean(getenv, "LOAD_FLOORS", false); err != nil {
		return nil, err
	}
	n, err := integer(getenv, "DB_MAX_CONNS", 0)
	if err != nil {
		return nil, err
	}
	c.DBMaxConns = int32(n)
	c.BaseURL = strings.TrimRight(getenv("BASE_URL"), "/")
	if c.BaseURL == "" {
		c.BaseURL = "http://" + hostFor(c.Addr)
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("BASE_URL must be an http or https URL such as https://signoff.example.com, got %q", c.BaseURL)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return nil, fmt.Errorf("LOG_FORMAT must be json or text, got %q", c.LogFormat)
	}
	if c.SessionSecret != "" && len(c.SessionSecret) < 32 {
		return nil, fmt.Errorf("SESSION_SECRET must be at least 32 characters")
	}
	c.SMTP.Host = getenv("SMTP_HOST")
	c.SMTP.Username = getenv("SMTP_USERNAME")
	c.SMTP.From = or(getenv("SMTP_FROM"), "signoff@localhost")
	c.SMTP.TLS = or(getenv("SMTP_TLS"), "starttls")
	if c.SMTP.Port, err = integer(getenv, "SMTP_PORT", 587); err != nil {
		return nil, err
	}
	switch c.SMTP.TLS {
	case "starttls", "tls", "none":
	default:
		return nil, fmt.Errorf("SMTP_TLS must be starttls, tls or none, got %q", c.SMTP.TLS)
	}
	return c, nil
}

// DefaultMetricsNetworks lets only the machine itself read /metrics.
const DefaultMetricsNetworks = "127.0.0.1/8,::1/128"

// MetricsAllowed reports whether a client address may read /metrics
// without a token.
func (c *Config) MetricsAllowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range c.MetricsAllowedNetworks {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// networks reads a comma-separated list of CIDR networks ("10.0.0.0/8,
// fd00::/8"); a bare address is a network of one.
func networks(getenv func(string) string, name, def string) ([]netip.Prefix, error) {
	v := getenv(name)
	if strings.TrimSpace(v) == "" {
		v = def
	}
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%s must list networks in CIDR notation such as 127.0.0.1/8,10.0.0.0/8; %q is not one", name, f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func hostFor(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return "localhost" + addr
	}
	return addr
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// secret reads NAME, or the file named by NAME_FILE.
func secret(getenv func(string) string, name string) (string, error) {
	v := getenv(name)
	file := getenv(name + "_FILE")
	if v != "" && file != "" {
		return "", fmt.Errorf("set %s or %s_FILE, not both", name, name)
	}
	if file == "" {
		return v, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func duration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s must be a positive duration such as 12h, got %q", name, v)
	}
	return d, nil
}

func boolean(getenv func(string) string, name string, def bool) (bool, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s must be true or false, got %q", name, v)
	}
	return b, nil
}

func integer(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s must be a non-negative whole number, got %q", name, v)
	}
	return n, nil
}
