package signoff

// The payloads of account changes on the system chain (issue 13): a
// password changed by its owner or through a reset link, a reset link
// issued, sessions ended, passkeys registered and removed, and people
// who arrive through single sign-on. As everywhere, fields are in the
// alphabetical order of their JSON keys, and no secret (a password, a
// link, a session id, a key) is ever recorded.

// UserResetAfter records a one-time password reset link issued by an
// admin, and whether it was mailed to the person.
type UserResetAfter struct {
	Mailed bool   `json:"mailed"`
	Reset  string `json:"reset"` // "issued"
}

// SessionEndAfter records sessions ended: "one" (a session chosen from
// the list) or "others" (every session but the one asking).
type SessionEndAfter struct {
	Ended int    `json:"ended"`
	Which string `json:"which"`
}

// PasskeyAfter is a passkey: its credential id (base64url) and the name
// its owner gave it.
type PasskeyAfter struct {
	Credential string `json:"credential"`
	Name       string `json:"name"`
}

// SSOCreateAfter is a person created at their first single sign-on: who
// the provider says they are, and the roles and permissions its claims
// mapped to (none when no mapping is configured).
type SSOCreateAfter struct {
	Admin   bool     `json:"admin"`
	Auditor bool     `json:"auditor"`
	Email   string   `json:"email"`
	Issuer  string   `json:"issuer"`
	Name    string   `json:"name"`
	Roles   []string `json:"roles"` // null when none
	Subject string   `json:"subject"`
}

// SSOLinkAfter is the identity-provider account an existing person was
// linked to at their first single sign-on (by their verified email).
type SSOLinkAfter struct {
	Issuer  string `json:"issuer"`
	Subject string `json:"subject"`
}

// UserAccess is a person's roles and permissions, as a single sign-on
// sets them from the provider's claims.
type UserAccess struct {
	Admin   bool     `json:"admin"`
	Auditor bool     `json:"auditor"`
	Roles   []string `json:"roles"` // sorted; null when none
}

// UserResetEvent records a reset link issued (user.update, target user/<id>).
type UserResetEvent struct{ After UserResetAfter }

// SessionEndEvent records sessions ended by their owner (target user/<id>).
type SessionEndEvent struct{ After SessionEndAfter }

// PasskeyRegisterEvent records a passkey added (target user/<id>).
type PasskeyRegisterEvent struct{ After PasskeyAfter }

// PasskeyRemoveEvent records a passkey removed (target user/<id>).
type PasskeyRemoveEvent struct{ Before PasskeyAfter }

// SSOCreateEvent records a person created at their first single sign-on
// (user.create, target user/<id>).
type SSOCreateEvent struct{ After SSOCreateAfter }

// SSOLinkEvent records a person linked to their identity-provider account
// (user.update, target user/<id>).
type SSOLinkEvent struct{ After SSOLinkAfter }

// UserSyncEvent records roles and permissions changed by a single sign-on
// (target user/<id>): only when something changed.
type UserSyncEvent struct{ Before, After UserAccess }

func (*UserResetEvent) Action() string       { return ActUserUpdate }
func (*SessionEndEvent) Action() string      { return ActSessionEnd }
func (*PasskeyRegisterEvent) Action() string { return ActPasskeyRegister }
func (*PasskeyRemoveEvent) Action() string   { return ActPasskeyRemove }
func (*SSOCreateEvent) Action() string       { return ActUserCreate }
func (*SSOLinkEvent) Action() string         { return ActUserUpdate }
func (*UserSyncEvent) Action() string        { return ActUserSync }

func (e *UserResetEvent) sides() (before, after any)       { return nil, &e.After }
func (e *SessionEndEvent) sides() (before, after any)      { return nil, &e.After }
func (e *PasskeyRegisterEvent) sides() (before, after any) { return nil, &e.After }
func (e *PasskeyRemoveEvent) sides() (before, after any)   { return &e.Before, nil }
func (e *SSOCreateEvent) sides() (before, after any)       { return nil, &e.After }
func (e *SSOLinkEvent) sides() (before, after any)         { return nil, &e.After }
func (e *UserSyncEvent) sides() (before, after any)        { return &e.Before, &e.After }
