package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Signer signs checkpoints with the server's Ed25519 key.
type Signer struct {
	key ed25519.PrivateKey
}

// NewSigner wraps an Ed25519 private key.
func NewSigner(key ed25519.PrivateKey) *Signer { return &Signer{key: key} }

// SignerFromSeed makes a signer from a 32-byte Ed25519 seed.
func SignerFromSeed(seed []byte) (*Signer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("an Ed25519 seed has %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	return &Signer{key: ed25519.NewKeyFromSeed(seed)}, nil
}

// Public is the key auditors verify with.
func (s *Signer) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Fingerprint is the public key's fingerprint.
func (s *Signer) Fingerprint() string { return Fingerprint(s.Public()) }

func (s *Signer) sign(msg []byte) []byte { return ed25519.Sign(s.key, msg) }

// PrivateKey is the key itself, for the transparency log's checkpoints,
// which the same key signs (in a format no export message can take).
func (s *Signer) PrivateKey() ed25519.PrivateKey { return s.key }

// ParsePrivateKey reads an Ed25519 private key as SIGNING_KEY or the file
// named by SIGNING_KEY_FILE holds it: base64 (standard or URL alphabet,
// padded or not) of the 32-byte seed or the 64-byte private key, or a PEM
// "PRIVATE KEY" block (PKCS #8, as `openssl genpkey -algorithm ed25519`
// writes).
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	s = strings.TrimSpace(s)
	if block, _ := pem.Decode([]byte(s)); block != nil {
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing key: PEM block is not a PKCS #8 private key: %w", err)
		}
		ed, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, errors.New("signing key: the PEM key is not an Ed25519 key")
		}
		return ed, nil
	}
	b, err := decodeBase64(s)
	if err != nil {
		return nil, errors.New("signing key: not base64 or PEM")
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		k := ed25519.NewKeyFromSeed(b[:32])
		if !k.Equal(ed25519.PrivateKey(b)) {
			return nil, errors.New("signing key: the 64-byte key's public half does not match its seed")
		}
		return k, nil
	}
	return nil, fmt.Errorf("signing key: %d bytes; want a 32-byte seed or a 64-byte private key", len(b))
}

// ParsePublicKey reads a public key as auditors get it: base64 of the 32
// raw bytes, a PEM "PUBLIC KEY" block, the text the well-known URL serves
// (comment lines starting with #, then base64, then PEM), or its JSON form.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		var j PublicKeyJSON
		if err := json.Unmarshal([]byte(s), &j); err != nil {
			return nil, fmt.Errorf("public key: bad JSON: %w", err)
		}
		return ParsePublicKey(j.PublicKey)
	}
	if i := strings.Index(s, "-----BEGIN"); i >= 0 {
		block, _ := pem.Decode([]byte(s[i:]))
		if block == nil {
			return nil, errors.New("public key: malformed PEM block")
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: PEM block is not a public key: %w", err)
		}
		ed, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, errors.New("public key: the PEM key is not an Ed25519 key")
		}
		return ed, nil
	}
	var lines []string
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	if len(lines) != 1 {
		return nil, errors.New("public key: want base64, PEM or the text of /.well-known/signoff-signing-key")
	}
	b, err := decodeBase64(lines[0])
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("public key: want the base64 of 32 bytes")
	}
	return ed25519.PublicKey(b), nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// Fingerprint names a public key the way OpenSSH does: "SHA256:" and the
// unpadded base64 of the SHA-256 of the key's 32 raw bytes.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// PublicKeyPEM is the key as a PEM "PUBLIC KEY" block (openssl reads it).
func PublicKeyPEM(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err) // an Ed25519 key always marshals
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// PublicKeyText is what the well-known URL and `signoff keys` print:
// comment lines, the base64 key alone on a line, and the PEM block.
func PublicKeyText(pub ed25519.PublicKey) string {
	return "# Signoff audit signing key (Ed25519)\n" +
		"# fingerprint: " + Fingerprint(pub) + "\n" +
		base64.StdEncoding.EncodeToString(pub) + "\n\n" +
		PublicKeyPEM(pub)
}

// PublicKeyJSON is the key's JSON form.
type PublicKeyJSON struct {
	Algorithm   string `json:"algorithm"`
	PublicKey   string `json:"public_key"` // base64 of the 32 raw bytes
	Fingerprint string `json:"fingerprint"`
	PEM         string `json:"pem"`
}

// PublicKeyInfo returns the key's JSON form.
func PublicKeyInfo(pub ed25519.PublicKey) PublicKeyJSON {
	return PublicKeyJSON{Algorithm: "ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub),
		Fingerprint: Fingerprint(pub), PEM: PublicKeyPEM(pub)}
}
