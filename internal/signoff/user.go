package signoff

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
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
	// HasPassword is false for people who sign in only through single
	// sign-on (or passkeys): they have no password with Signoff.
	HasPassword bool
	// SSOIssuer is the identity provider the person is linked to, if any.
	SSOIssuer string
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

// MinPasswordLen is the shortest password accepted (spaces at either end
// not counted): long enough to resist guessing under the login throttle,
// short enough for a passphrase. Length alone is not enough: see
// ValidatePassword.
const MinPasswordLen = 10

// minPasswordScore is the least zxcvbn score a password must reach: 3,
// "safely unguessable" (about 10⁸ guesses), with the person's own name and
// email counted as known to the guesser.
const minPasswordScore = 3

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
	return ValidatePassword(n.Password, n.Email, n.Name)
}

// ValidateEmail checks that s is a plain email address.
func ValidateEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return Errorf(EINVALID, "Email must be a plain address such as alice@example.com.")
	}
	return nil
}

// ValidatePassword checks a new password: long enough once blanks at
// either end are set aside, and not guessable. Guessable is measured with
// zxcvbn (Dropbox's estimator, also used by GitHub-style sign-up forms):
// common passwords, keyboard rows, repeats, dates, l33t spellings and the
// person's own name and email (personal) all count against it. NIST SP
// 800-63B asks for exactly this: length, and a check against passwords
// known to be used, not rules about digits and symbols.
func ValidatePassword(p string, personal ...string) error {
	if len(p) > 1024 {
		return Errorf(EINVALID, "Password must be at most 1024 bytes.")
	}
	if !utf8.ValidString(p) {
		return Errorf(EINVALID, "Password must be valid UTF-8 text.")
	}
	trimmed := strings.TrimSpace(p)
	if trimmed == "" {
		return Errorf(EINVALID, "Password cannot be only spaces.")
	}
	if utf8.RuneCountInString(trimmed) < MinPasswordLen {
		return Errorf(EINVALID, "Password must be at least %d characters (not counting spaces at either end).", MinPasswordLen)
	}
	if passwordScore(p, personal) < minPasswordScore {
		return Errorf(EINVALID, "This password is too easy to guess: it is a common password, a pattern (a keyboard row, repeats, a date) or close to your name or email. Try four or more unrelated words.")
	}
	return nil
}

// passwordScore is zxcvbn's score (0–4) of p, with the person's own
// words (name, email) known to the guesser. zxcvbn still multiplies its
// way to a fair score for "rachelkim2026", so a password that holds any
// of them must also be strong without them.
func passwordScore(p string, personal []string) int {
	if r := []rune(p); len(r) > 100 {
		p = string(r[:100]) // the cost grows with length; 100 tell all there is
	}
	words := personalWords(personal)
	score := zxcvbn.PasswordStrength(p, words).Score
	rest := strings.ToLower(p)
	for _, w := range words {
		if utf8.RuneCountInString(w) >= 3 {
			rest = strings.ReplaceAll(rest, w, "")
		}
	}
	if rest != strings.ToLower(p) {
		score = min(score, zxcvbn.PasswordStrength(rest, words).Score)
	}
	return score
}

// personalWords are the words a guesser knows: the product's, and the
// person's name and email, whole and in parts.
func personalWords(personal []string) []string {
	words := []string{"signoff", "deployment", "checklist"}
	for _, s := range personal {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		words = append(words, s)
		words = append(words, strings.FieldsFunc(s, func(r rune) bool {
			return r == '.' || r == ' ' || r == '-' || r == '_' || r == '+' || r == '@'
		})...)
	}
	return words
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
