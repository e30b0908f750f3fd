package signoff

// The payloads of the system chain: people, roles, templates, tokens and
// webhooks. As on a deployment's chain (audit_deployment.go), fields are
// in the alphabetical order of their JSON keys, because maps wrote them.
// Some actions record more than one shape (a person added by an admin or
// by the first-admin setup; a permission, password or invitation change):
// each shape is its own body type with the same action, and decoding
// picks the one whose keys the payload has.

// UserCreateAfter is a person added by an admin or the CLI, or invited.
type UserCreateAfter struct {
	Admin   bool     `json:"admin"`
	Auditor bool     `json:"auditor"`
	Email   string   `json:"email"`
	Invited bool     `json:"invited,omitempty"` // added with an invitation link instead of a password
	Name    string   `json:"name"`
	Roles   []string `json:"roles"` // the roles granted, null when none
}

// SetupAdminAfter is the first admin, made through the one-time setup link.
type SetupAdminAfter struct {
	Admin bool   `json:"admin"` // always true
	Email string `json:"email"`
	Name  string `json:"name"`
	Setup bool   `json:"setup"` // always true
}

// UserPermissions are a person's admin and auditor permissions.
type UserPermissions struct {
	Admin   bool `json:"admin"`
	Auditor bool `json:"auditor"`
}

// UserPasswordAfter says how a password changed: "changed" (by the person
// or an admin) or "set from invitation". The password itself is never
// recorded.
type UserPasswordAfter struct {
	Password string `json:"password"`
}

// UserInvitationAfter records a new invitation link ("issued").
type UserInvitationAfter struct {
	Invitation string `json:"invitation"`
}

// UserActive is whether a person may sign in.
type UserActive struct {
	Active bool `json:"active"`
}

// RoleCreateAfter is a new role of the catalog.
type RoleCreateAfter struct {
	Name string `json:"name"`
}

// UserRole is a role granted to or withdrawn from a person.
type UserRole struct {
	Role string `json:"role"`
}

// TemplateImportAfter is a new template version and its shape.
type TemplateImportAfter struct {
	Items    int    `json:"items"`
	Notes    int    `json:"notes"`
	Phases   int    `json:"phases"`
	Sections int    `json:"sections"`
	SHA256   string `json:"sha256"` // of the Markdown source
	Slots    int    `json:"slots"`
	Title    string `json:"title"`
	Version  int    `json:"version"`
}

// TemplateSettings are a template's settings.
type TemplateSettings struct {
	AllowMultipleSlots bool `json:"allow_multiple_slots"`
}

// TokenCreateAfter is a new API token: whom it acts as and the prefix that
// identifies it (never the secret).
type TokenCreateAfter struct {
	Name     string `json:"name"`
	Prefix   string `json:"prefix"`
	UserID   int64  `json:"user_id"`
	UserName string `json:"user_name"`
}

// TokenRevokeBefore is the token a revocation ended.
type TokenRevokeBefore struct {
	Name   string `json:"name"`
	Prefix string `json:"prefix"`
	UserID int64  `json:"user_id"`
}

// TokenRevokeAfter marks the token revoked.
type TokenRevokeAfter struct {
	Revoked bool `json:"revoked"` // always true
}

// WebhookCreateAfter is a new webhook (never its secret).
type WebhookCreateAfter struct {
	Events []string `json:"events"` // [] for every event
	Format string   `json:"format"`
	URL    string   `json:"url"`
}

// WebhookDeleteBefore is the webhook a deletion stopped.
type WebhookDeleteBefore struct {
	URL string `json:"url"`
}

// UserCreateEvent records a person added (target user/<id>).
type UserCreateEvent struct{ After UserCreateAfter }

// SetupAdminEvent records the first admin (user.create, target user/<id>).
type SetupAdminEvent struct{ After SetupAdminAfter }

// UserPermissionsEvent records a change of permissions (user.update).
type UserPermissionsEvent struct{ Before, After UserPermissions }

// UserPasswordEvent records a password change (user.update).
type UserPasswordEvent struct{ After UserPasswordAfter }

// UserInvitationEvent records a new invitation link (user.update).
type UserInvitationEvent struct{ After UserInvitationAfter }

// UserActiveEvent records a deactivation or a reactivation: its action
// follows After.Active.
type UserActiveEvent struct{ Before, After UserActive }

// RoleCreateEvent records a new role (target role/<id>).
type RoleCreateEvent struct{ After RoleCreateAfter }

// RoleGrantEvent records a role given to a person (target user/<id>).
type RoleGrantEvent struct{ After UserRole }

// RoleWithdrawEvent records a role taken away (target user/<id>).
type RoleWithdrawEvent struct{ Before UserRole }

// TemplateImportEvent records a new template version (target template/<slug>).
type TemplateImportEvent struct{ After TemplateImportAfter }

// TemplateSettingsEvent records changed settings (target template/<slug>).
type TemplateSettingsEvent struct{ Before, After TemplateSettings }

// TokenCreateEvent records a new API token (target token/<id>).
type TokenCreateEvent struct{ After TokenCreateAfter }

// TokenRevokeEvent records a revoked API token (target token/<id>).
type TokenRevokeEvent struct {
	Before TokenRevokeBefore
	After  TokenRevokeAfter
}

// WebhookCreateEvent records a new webhook (target webhook/<id>).
type WebhookCreateEvent struct{ After WebhookCreateAfter }

// WebhookDeleteEvent records a stopped webhook (target webhook/<id>).
type WebhookDeleteEvent struct{ Before WebhookDeleteBefore }

func (*UserCreateEvent) Action() string       { return ActUserCreate }
func (*SetupAdminEvent) Action() string       { return ActUserCreate }
func (*UserPermissionsEvent) Action() string  { return ActUserUpdate }
func (*UserPasswordEvent) Action() string     { return ActUserUpdate }
func (*UserInvitationEvent) Action() string   { return ActUserUpdate }
func (*RoleCreateEvent) Action() string       { return ActRoleCreate }
func (*RoleGrantEvent) Action() string        { return ActRoleGrant }
func (*RoleWithdrawEvent) Action() string     { return ActRoleWithdraw }
func (*TemplateImportEvent) Action() string   { return ActTemplateImport }
func (*TemplateSettingsEvent) Action() string { return ActTemplateSettings }
func (*TokenCreateEvent) Action() string      { return ActTokenCreate }
func (*TokenRevokeEvent) Action() string      { return ActTokenRevoke }
func (*WebhookCreateEvent) Action() string    { return ActWebhookCreate }
func (*WebhookDeleteEvent) Action() string    { return ActWebhookDelete }

func (e *UserActiveEvent) Action() string {
	if e.After.Active {
		return ActUserActivate
	}
	return ActUserDeactivate
}

func (e *UserCreateEvent) sides() (before, after any)       { return nil, &e.After }
func (e *SetupAdminEvent) sides() (before, after any)       { return nil, &e.After }
func (e *UserPermissionsEvent) sides() (before, after any)  { return &e.Before, &e.After }
func (e *UserPasswordEvent) sides() (before, after any)     { return nil, &e.After }
func (e *UserInvitationEvent) sides() (before, after any)   { return nil, &e.After }
func (e *UserActiveEvent) sides() (before, after any)       { return &e.Before, &e.After }
func (e *RoleCreateEvent) sides() (before, after any)       { return nil, &e.After }
func (e *RoleGrantEvent) sides() (before, after any)        { return nil, &e.After }
func (e *RoleWithdrawEvent) sides() (before, after any)     { return &e.Before, nil }
func (e *TemplateImportEvent) sides() (before, after any)   { return nil, &e.After }
func (e *TemplateSettingsEvent) sides() (before, after any) { return &e.Before, &e.After }
func (e *TokenCreateEvent) sides() (before, after any)      { return nil, &e.After }
func (e *TokenRevokeEvent) sides() (before, after any)      { return &e.Before, &e.After }
func (e *WebhookCreateEvent) sides() (before, after any)    { return nil, &e.After }
func (e *WebhookDeleteEvent) sides() (before, after any)    { return &e.Before, nil }
