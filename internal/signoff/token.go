package signoff

import (
	"strings"
	"time"
)

// Token is an API token as people see it: never its secret, which is shown
// once when the token is created and then kept only as a hash. A token acts
// as its user, with that user's permissions, except that it can never sign.
type Token struct {
	ID         int64
	Name       string
	User       UserRef // the person the token acts as
	UserEmail  string
	Prefix     string // the secret's first characters, to tell tokens apart
	CreatedBy  *UserRef
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	RevokedBy  *UserRef
}

// Revoked reports whether the token was revoked.
func (t *Token) Revoked() bool { return t.RevokedAt != nil }

// Actor is how the audit log records a change made with the token: the
// person it acts as, the token named, through the API.
func (t *Token) Actor(u *User) EventActor {
	return EventActor{ID: u.ID, Name: u.Name + " (token " + t.Name + ")", Via: "api"}
}

// TokenPrefix starts every API token secret, so secret scanners and people
// can recognise one ("sgf_" + 43 characters of base64url).
const TokenPrefix = "sgf_"

// TokenSecretLen is the length of a token secret: the prefix and 32 random
// bytes in unpadded base64url.
const TokenSecretLen = len(TokenPrefix) + 43

// LooksLikeToken reports whether s has the shape of a token secret, so
// obvious garbage is refused without a database round trip.
func LooksLikeToken(s string) bool {
	if len(s) != TokenSecretLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	for _, c := range s[len(TokenPrefix):] {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// NewToken is what it takes to issue a token.
type NewToken struct {
	Name   string // which pipeline holds it, e.g. "github-actions voxflow-api"
	UserID int64  // the person it acts as
}

// Validate trims and checks the fields.
func (n *NewToken) Validate() error {
	n.Name = strings.TrimSpace(n.Name)
	if err := ValidateText("Token name", n.Name, 1, 100); err != nil {
		return err
	}
	if n.UserID <= 0 {
		return Errorf(EINVALID, "Choose the person the token acts as.")
	}
	return nil
}
