// Package configtest holds what the tests of configuration share: the bad
// value of every variable, which internal/config feeds to Load and
// cmd/signoff to the binary.
package configtest

import (
	"os"
	"path/filepath"
	"testing"
)

// BadSetting is a value config.Load must refuse, naming Name; Extra is set
// with it.
type BadSetting struct {
	Name, Value string
	Extra       map[string]string
}

// SigningKey is a valid SIGNING_KEY (base64 of a 32-byte seed).
const SigningKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// BadSettings lists, for every variable, values config.Load must refuse
// with one line naming the variable. Each is meant to be set alone (with
// Extra) over an environment that is otherwise valid; the files it names
// live in a temporary folder of t.
func BadSettings(t testing.TB) []BadSetting {
	t.Helper()
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := filepath.Join(dir, "no-such-file")
	notDir := file("not-a-folder", "x")
	emptyBin := filepath.Join(dir, "empty-bin")
	if err := os.Mkdir(emptyBin, 0o755); err != nil {
		t.Fatal(err)
	}
	key := "bm90IGEga2V5IGF0IGFsbCwganVzdCB0ZXh0" // base64 of 27 bytes
	sso := map[string]string{"OIDC_ISSUER": "https://acme.okta.com", "OIDC_CLIENT_ID": "signoff", "OIDC_CLIENT_SECRET": "s3cret"}
	withClaim := map[string]string{"OIDC_ISSUER": "https://acme.okta.com", "OIDC_CLIENT_ID": "signoff", "OIDC_CLIENT_SECRET": "s3cret", "OIDC_ROLES_CLAIM": "groups"}
	return []BadSetting{
		{"DATABASE_URL", "postgres://u:hunter2@db:notaport/x", nil},
		{"DATABASE_URL", "://nope", nil},
		{"DATABASE_URL_FILE", missing, nil},
		{"DATABASE_URL_FILE", file("empty", "\n"), nil},
		{"DATABASE_URL", "postgres://db/x", map[string]string{"DATABASE_URL_FILE": file("db", "postgres://db/x")}},
		{"ADDR", "notanaddress", nil},
		{"ADDR", ":http", nil},
		{"ADDR", ":99999", nil},
		{"ADDR", "bad host!:8080", nil},
		{"BASE_URL", "ftp://x", nil},
		{"BASE_URL", "signoff.example.com", nil},
		{"BASE_URL", "https://signoff.example.com/?x=1", nil},
		{"DATA_DIR", notDir, nil},
		{"DATA_DIR", filepath.Join(dir, "a$b"), nil},
		{"POSTGRES_BIN_DIR", emptyBin, nil},
		{"POSTGRES_BIN_DIR", missing, nil},
		{"LOG_LEVEL", "loud", nil},
		{"LOG_FORMAT", "xml", nil},
		{"SESSION_SECRET", "short", nil},
		{"SESSION_SECRET_FILE", missing, nil},
		{"SESSION_SECRET_FILE", file("session", "too short for a secret"), nil},
		{"SESSION_TTL", "soon", nil},
		{"SESSION_TTL", "0s", nil},
		{"LIVE_KEEPALIVE", "-5s", nil},
		{"IDEMPOTENCY_KEY_TTL", "a day", nil},
		{"SHUTDOWN_TIMEOUT", "0s", nil},
		{"EXPORT_DRAIN_TIMEOUT", "-1m", nil},
		{"LOG_CHECKPOINT_INTERVAL", "0s", nil},
		{"TRUST_PROXY", "perhaps", nil},
		{"LOAD_FLOORS", "2", nil},
		{"DB_MAX_CONNS", "-1", nil},
		{"DB_MAX_CONNS", "many", nil},
		{"DB_MAX_CONNS", "4294967296", nil},
		{"METRICS_TOKEN", "short", nil},
		{"METRICS_TOKEN_FILE", dir, nil},
		{"METRICS_ALLOWED_NETWORKS", "10.0.0.0/8,10.0.0.0/33", nil},
		{"METRICS_ALLOWED_NETWORKS", "localhost", nil},
		{"SIGNING_KEY", "garbage!", nil},
		{"SIGNING_KEY", key, nil},
		{"SIGNING_KEY_FILE", missing, nil},
		{"SIGNING_KEY_FILE", file("bad.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), nil},
		{"SIGNING_KEY", SigningKey, map[string]string{"SIGNING_KEY_FILE": file("good.key", SigningKey)}},
		{"SMTP_HOST", "smtp://mail.example.com", nil},
		{"SMTP_HOST", "mail.example.com:587", nil},
		{"SMTP_PORT", "0", nil},
		{"SMTP_PORT", "70000", nil},
		{"SMTP_PASSWORD_FILE", missing, nil},
		{"SMTP_FROM", "not an address", nil},
		{"SMTP_TLS", "maybe", nil},
		{"WEBHOOK_ALLOWED_NETWORKS", "10.0.5.0/24,intranet", nil},
		{"PASSWORD_LOGIN", "no", nil},
		{"PASSWORD_LOGIN", "false", nil}, // without OIDC_ISSUER nobody could sign in
		{"OIDC_ISSUER", "acme.okta.com", nil},
		{"OIDC_ISSUER", "https://acme.okta.com?x=1", map[string]string{"OIDC_CLIENT_ID": "signoff", "OIDC_CLIENT_SECRET": "s3cret"}},
		{"OIDC_CLIENT_ID", "", map[string]string{"OIDC_ISSUER": "https://acme.okta.com", "OIDC_CLIENT_SECRET": "s3cret"}},
		{"OIDC_CLIENT_SECRET", "", map[string]string{"OIDC_ISSUER": "https://acme.okta.com", "OIDC_CLIENT_ID": "signoff"}},
		{"OIDC_CLIENT_SECRET_FILE", missing, map[string]string{"OIDC_ISSUER": "https://acme.okta.com", "OIDC_CLIENT_ID": "signoff"}},
		{"OIDC_REDIRECT_URL", "/callback", sso},
		{"OIDC_SCOPES", "email profile", sso},
		{"OIDC_REQUIRE_VERIFIED_EMAIL", "sometimes", sso},
		{"OIDC_CREATE_USERS", "yes please", sso},
		{"OIDC_ROLE_MAP", "dba:Database Administrator", withClaim},
		{"OIDC_ROLES_CLAIM", "", map[string]string{"OIDC_ISSUER": "https://acme.okta.com", "OIDC_CLIENT_ID": "signoff", "OIDC_CLIENT_SECRET": "s3cret", "OIDC_ADMIN_VALUES": "admins"}},
	}
}
