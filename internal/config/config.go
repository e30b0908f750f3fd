// Package config reads Signoff's configuration from environment variables,
// once, at start-up. Secrets may also come from files: FOO_FILE names a file
// whose contents are FOO (Docker and Kubernetes secrets work that way).
//
// Load validates every value before the app creates or starts anything: a
// bad ADDR must not cost a new database cluster and a setup link that never
// works. Each failure is one line naming the variable; values that may be
// secret are not repeated in it.
package config

import (
	"crypto/ed25519"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/transparency"
)

// Config is the whole configuration.
type Config struct {
	DatabaseURL string // DATABASE_URL; empty starts the embedded PostgreSQL
	// MigrateDatabaseURL connects as the role that owns the schema and
	// runs migrations (MIGRATE_DATABASE_URL), when DATABASE_URL's role is
	// the runtime role that may not rewrite the audit log; empty migrates
	// as DATABASE_URL's role.
	MigrateDatabaseURL string
	Addr               string        // ADDR, the listen address
	BaseURL            string        // BASE_URL, how people reach the app (links in logs and mail)
	DataDir            string        // DATA_DIR, for the embedded database and generated keys
	LogLevel           string        // LOG_LEVEL: debug, info, warn, error
	LogFormat          string        // LOG_FORMAT: json or text
	SessionTTL         time.Duration // SESSION_TTL
	// PostgresBinDir is the folder holding the PostgreSQL server programs
	// for the embedded database (POSTGRES_BIN_DIR); empty searches PATH and
	// the usual install folders.
	PostgresBinDir string
	// SessionSecret signs session cookies; empty means a secret generated
	// once and shared by all instances through the database.
	SessionSecret string
	// TrustProxy makes the app take the client address from
	// X-Forwarded-For (only behind a proxy you run).
	TrustProxy bool
	DBMaxConns int32 // DB_MAX_CONNS
	// IdempotencyKeyTTL is how long an Idempotency-Key (or a web form's
	// key) is remembered: a retry within it is answered, not redone.
	IdempotencyKeyTTL time.Duration // IDEMPOTENCY_KEY_TTL
	// ShutdownTimeout is how long SIGTERM waits for requests in flight.
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT
	// ExportDrainTimeout is how long SIGTERM lets bulk exports already
	// streaming run on; new ones are refused at once.
	ExportDrainTimeout time.Duration // EXPORT_DRAIN_TIMEOUT
	// LogCheckpointInterval is how often the server signs a checkpoint of
	// the transparency log when events are waiting (sooner when many
	// are, and whenever an export needs one). Every checkpoint is kept,
	// so this bounds the log's storage by time rather than by events.
	LogCheckpointInterval time.Duration // LOG_CHECKPOINT_INTERVAL
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

	// SigningKey is the audit signing key from SIGNING_KEY or the file
	// SIGNING_KEY_FILE names, parsed; nil when neither is set (the key is
	// then generated once, see cmd/signoff/signingkey.go).
	SigningKey ed25519.PrivateKey
	// SigningKeySource names the variable SigningKey came from, for
	// messages.
	SigningKeySource string

	// PasswordLogin lets people sign in and sign with a password
	// (PASSWORD_LOGIN); off, only single sign-on and passkeys remain.
	PasswordLogin bool

	// OIDC is single sign-on with an OpenID Provider; off when Issuer is
	// empty.
	OIDC OIDC

	// WebhookAllowedNetworks are internal networks webhooks may reach
	// (WEBHOOK_ALLOWED_NETWORKS); every other internal address is refused.
	WebhookAllowedNetworks []netip.Prefix

	// WitnessKeys are the verifier keys of the witnesses whose
	// cosignatures the server accepts and keeps (WITNESS_KEYS, comma
	// separated), as `signoff witness` prints them; exports prefer
	// checkpoints all of them cosigned.
	WitnessKeys []string

	SMTP SMTP
}

// OIDC configures single sign-on with an OpenID Connect provider (Okta,
// Microsoft Entra ID, Google, Keycloak…). See README.md.
type OIDC struct {
	Issuer       string // OIDC_ISSUER: the provider's issuer URL; empty turns SSO off
	ClientID     string // OIDC_CLIENT_ID
	ClientSecret string // OIDC_CLIENT_SECRET or OIDC_CLIENT_SECRET_FILE
	RedirectURL  string // OIDC_REDIRECT_URL, default BASE_URL/login/sso/callback
	Name         string // OIDC_NAME: what the button says ("Sign in with Okta")
	Scopes       []string
	EmailClaim   string // OIDC_EMAIL_CLAIM, default "email"
	NameClaim    string // OIDC_NAME_CLAIM, default "name"
	// RequireVerifiedEmail refuses to create or link a person by an email
	// the provider does not mark email_verified (OIDC_REQUIRE_VERIFIED_EMAIL).
	RequireVerifiedEmail bool
	// CreateUsers creates people at their first sign-in (OIDC_CREATE_USERS),
	// from AllowedDomains only when that is set (OIDC_ALLOWED_DOMAINS).
	CreateUsers    bool
	AllowedDomains []string
	// RolesClaim names the claim whose values map to roles
	// (OIDC_ROLES_CLAIM); empty leaves roles to admins.
	RolesClaim string
	// RoleMap maps a claim value to a role's name (OIDC_ROLE_MAP).
	RoleMap map[string]string
	// AdminValues and AuditorValues are claim values that make a person an
	// admin or an auditor (OIDC_ADMIN_VALUES, OIDC_AUDITOR_VALUES); empty
	// leaves that permission to admins.
	AdminValues   []string
	AuditorValues []string
}

// Enabled reports whether single sign-on is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

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

// Embedded reports whether the app runs its own PostgreSQL cluster under
// DataDir (no DATABASE_URL).
func (c *Config) Embedded() bool { return c.DatabaseURL == "" }

// FromEnv reads the configuration from the environment.
func FromEnv() (*Config, error) { return Load(os.Getenv) }

// Load reads the configuration through getenv and validates it. It reads
// the files *_FILE variables name and looks at DATA_DIR and
// POSTGRES_BIN_DIR, but creates and starts nothing.
func Load(getenv func(string) string) (*Config, error) {
	r := &reader{getenv: getenv}
	c := &Config{}
	c.DatabaseURL = r.databaseURL("DATABASE_URL")
	c.MigrateDatabaseURL = r.databaseURL("MIGRATE_DATABASE_URL")
	if c.MigrateDatabaseURL != "" && c.DatabaseURL == "" {
		r.fail("MIGRATE_DATABASE_URL needs DATABASE_URL (the embedded database makes its own owner and runtime roles)")
	}
	c.Addr = r.listenAddr("ADDR", ":8080")
	c.BaseURL = r.baseURL("BASE_URL", "http://"+hostFor(c.Addr))
	c.DataDir = r.str("DATA_DIR", "signoff-data")
	if c.Embedded() {
		// Only the embedded database uses them: with DATABASE_URL set,
		// a stale value must not stop the app.
		r.dataDir("DATA_DIR", c.DataDir)
		c.PostgresBinDir = r.postgresBinDir("POSTGRES_BIN_DIR")
	}
	c.LogLevel = r.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error")
	c.LogFormat = r.oneOf("LOG_FORMAT", "json", "json", "text")
	c.SessionSecret = r.secret("SESSION_SECRET", 32)
	c.SessionTTL = r.duration("SESSION_TTL", 12*time.Hour)
	c.LiveKeepAlive = r.duration("LIVE_KEEPALIVE", 25*time.Second)
	c.TrustProxy = r.boolean("TRUST_PROXY", false)
	c.LoadFloors = r.boolean("LOAD_FLOORS", false)
	c.DBMaxConns = int32(r.integer("DB_MAX_CONNS", 0, 0, maxDBConns))
	c.IdempotencyKeyTTL = r.duration("IDEMPOTENCY_KEY_TTL", 24*time.Hour)
	c.ShutdownTimeout = r.duration("SHUTDOWN_TIMEOUT", 30*time.Second)
	c.ExportDrainTimeout = r.duration("EXPORT_DRAIN_TIMEOUT", 5*time.Minute)
	c.LogCheckpointInterval = r.duration("LOG_CHECKPOINT_INTERVAL", 5*time.Minute)
	c.MetricsToken = r.secret("METRICS_TOKEN", minMetricsToken)
	c.MetricsAllowedNetworks = r.networks("METRICS_ALLOWED_NETWORKS", DefaultMetricsNetworks)
	c.SigningKey, c.SigningKeySource = r.signingKey("SIGNING_KEY")
	c.WitnessKeys = r.witnessKeys("WITNESS_KEYS")
	c.SMTP = r.smtp()
	c.WebhookAllowedNetworks = r.networks("WEBHOOK_ALLOWED_NETWORKS", "")
	c.OIDC = r.oidc(c.BaseURL)
	c.PasswordLogin = r.boolean("PASSWORD_LOGIN", true)
	if !c.PasswordLogin && !c.OIDC.Enabled() && r.err == nil {
		r.fail("PASSWORD_LOGIN=false needs OIDC_ISSUER: without passwords, people sign in through single sign-on (and passkeys)")
	}
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

func (r *reader) smtp() SMTP {
	return SMTP{
		Host:     r.hostname("SMTP_HOST"),
		Port:     r.integer("SMTP_PORT", 587, 1, 65535),
		Username: r.str("SMTP_USERNAME", ""),
		Password: r.secret("SMTP_PASSWORD", 0),
		From:     r.mailAddress("SMTP_FROM", "signoff@localhost"),
		TLS:      r.oneOf("SMTP_TLS", "starttls", "starttls", "tls", "none"),
	}
}

const (
	// maxDBConns bounds DB_MAX_CONNS: far above what one instance can use,
	// low enough to catch a typo (and to fit the pool's int32).
	maxDBConns = 10000
	// minMetricsToken is the shortest METRICS_TOKEN accepted: the token
	// opens /metrics from any address, so it must not be guessable.
	minMetricsToken = 16
)

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

// signingKey reads SIGNING_KEY (or SIGNING_KEY_FILE) and parses it, so a
// garbage key stops the start before anything is created.
func (r *reader) signingKey(name string) (ed25519.PrivateKey, string) {
	v, source := r.secretFrom(name)
	if v == "" || r.err != nil {
		return nil, ""
	}
	k, err := audit.ParsePrivateKey(v)
	if err != nil {
		r.fail(source+" does not hold an Ed25519 private key (base64 of a 32-byte seed or a 64-byte key, or a PEM PKCS #8 block): %v", err)
		return nil, ""
	}
	return k, source
}

// witnessKeys reads comma-separated witness verifier keys.
func (r *reader) witnessKeys(name string) []string {
	var keys []string
	for k := range strings.SplitSeq(r.getenv(name), ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if _, err := transparency.ParseWitnessKey(k); err != nil {
			r.fail("%s: %v", name, err)
			return nil
		}
		keys = append(keys, k)
	}
	return keys
}

func hostFor(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return "localhost" + addr
	}
	return addr
}
