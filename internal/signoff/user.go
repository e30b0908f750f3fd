package signoff

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// User is a person who can sign in.
type User struct {
	ID        int64
	Email     string
	Name      string
	IsAdmin   bool // manages people, roles, templates and tokens
	IsAuditor bool // reads everything and downloads exports; changes nothing
	Active    bool
	Roles     []Role
	CreatedAt time.Time
}

// HasRole reports whether the user holds the named role (case-insensitive).
func (u *User) HasRole(name string) bool {
	for _, r := range u.Roles {
		if strings.EqualFold(r.Name, name) {
			return true
		}
	}
	return false
}

// CanEditChecklists reports whether the user may tick items, add notes and
// create deployments. Auditors only read: that is what makes them auditors.
func (u *User) CanEditChecklists() bool {
	return u != nil && u.Active && !u.IsAuditor
}

// Role is an accountable role in the catalog, such as "Database Administrator".
type Role struct {
	ID   int64
	Name string
}

// NewUser is what it takes to create a user.
type NewUser struct {
	Email     string
	Name      string
	Password  string
	IsAdmin   bool
	IsAuditor bool
	Roles     []string
}

// MinPasswordLen is the shortest password accepted: long enough to resist
// guessing with the login rate limit, short enough for a passphrase.
const MinPasswordLen = 10

// Validate checks a new user's fields and normalises the email.
func (n *NewUser) Validate() error {
	n.Email = strings.TrimSpace(n.Email)
	n.Name = strings.TrimSpace(n.Name)
	if err := ValidateEmail(n.Email); err != nil {
		return err
	}
	if err := ValidateText("Name", n.Name, 1, 200); err != nil {
		return err
	}
	return ValidatePassword(n.Password)
}

// ValidateEmail checks that s is a plain email address.
func ValidateEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return Errorf(EINVALID, "Email must be a plain address such as alice@example.com.")
	}
	return nil
}

// ValidatePassword checks a new password's length.
func ValidatePassword(p string) error {
	n := utf8.RuneCountInString(p)
	if n < MinPasswordLen {
		return Errorf(EINVALID, "Password must be at least %d characters.", MinPasswordLen)
	}
	if len(p) > 1024 {
		return Errorf(EINVALID, "Password must be at most 1024 bytes.")
	}
	return nil
}

// ValidateText checks that a text field is valid UTF-8 of a sensible length,
// naming the field in the message so a person can fix it.
func ValidateText(field, s string, minLen, maxLen int) error {
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "%s must be valid UTF-8 text.", field)
	}
	if strings.ContainsRune(s, 0) {
		return Errorf(EINVALID, "%s must not contain NUL characters.", field)
	}
	n := utf8.RuneCountInString(s)
	if n < minLen {
		if minLen == 1 {
			return Errorf(EINVALID, "%s is required.", field)
		}
		return Errorf(EINVALID, "%s must be at least %d characters.", field, minLen)
	}
	if n > maxLen {
		return Errorf(EINVALID, "%s must be at most %d characters.", field, maxLen)
	}
	return nil
}
