package signoff

import (
	"encoding/base64"
	"strings"
	"time"
)

// Passkey is a WebAuthn credential a person registered: what verifying
// its assertions needs (never a private key, which stays in the
// authenticator), and the name its owner gave it.
type Passkey struct {
	ID              int64
	UserID          int64
	CredentialID    []byte
	PublicKey       []byte
	AttestationType string
	AAGUID          []byte
	SignCount       uint32
	Transports      []string
	BackupEligible  bool // a synced passkey (iCloud Keychain, Google Password Manager…)
	BackupState     bool
	Name            string
	CreatedAt       time.Time
	LastUsedAt      *time.Time
}

// CredentialName is the credential id as signatures and audit events
// record it: unpadded base64url, as WebAuthn spells it.
func (p *Passkey) CredentialName() string { return CredentialName(p.CredentialID) }

// CredentialName spells a WebAuthn credential id.
func CredentialName(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// MaxPasskeys is how many passkeys one person may register.
const MaxPasskeys = 20

// ValidatePasskeyName checks the name a person gives a passkey.
func ValidatePasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	return name, ValidateText("Passkey name", name, 1, 100)
}
