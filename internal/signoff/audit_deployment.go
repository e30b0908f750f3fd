package signoff

// The payloads of a deployment's chain: one type per side (before, after)
// of each action, and one body type per action that says which sides it
// records. The store writes these and every reader (replay and verify, the
// exports, notifications, the history page, live updates) reads them, so
// a key is named once.
//
// The bytes are hashed into the chain and must never change. Most of these
// types replace maps, which encoding/json writes with their keys sorted:
// their fields are declared in the alphabetical order of their JSON keys,
// and a key the map held only sometimes is omitempty. ItemStateAfter was a
// struct from the start and keeps its own order. TestPayloadsAreWhatTheMapsWrote
// holds each type to the map it replaced.

// DeploymentCreateAfter is the deployment as created: what it runs and
// the shape of its checklist.
type DeploymentCreateAfter struct {
	Environment string `json:"environment"`
	// Gates says, per slot (positions 1, 2, …), how many items, the first
	// in Items, its signature attests to: a gate's (its signature goes
	// stale only when one of them changes); 0 for the whole checklist.
	// Absent when no slot is a gate.
	Gates     []int    `json:"gates,omitempty"`
	Items     []string `json:"items"`                // every item path, document order
	Notes     []string `json:"notes"`                // note field names, positions 1, 2, …
	PlannedAt string   `json:"planned_at,omitempty"` // RFC 3339 to the second; absent when none
	Service   string   `json:"service"`
	Slots     []string `json:"slots"` // sign-off roles, positions 1, 2, …
	Template  string   `json:"template"`
	// TemplateTitle and TemplateVersion name the template version the
	// deployment snapshotted.
	TemplateTitle   string `json:"template_title"`
	TemplateVersion int    `json:"template_version"`
	Version         string `json:"version"`
}

// DeploymentStatusBefore is the status a deployment.status event moved from.
type DeploymentStatusBefore struct {
	Status Status `json:"status"`
}

// DeploymentStatusAfter is the status moved to, with the reason an abort
// needs.
type DeploymentStatusAfter struct {
	Reason string `json:"reason,omitempty"`
	Status Status `json:"status"`
}

// ItemStateAfter is an item's recorded state in an item.state event. An
// N/A on a parent lists the leaves it changed in Items (the target names
// the parent); otherwise Items is absent and the target is the leaf.
type ItemStateAfter struct {
	State    ItemState `json:"state"`
	NAReason string    `json:"na_reason"`
	Items    []string  `json:"items,omitempty"`
}

// ItemStateBefore is the state an item.state event changed from: a leaf's
// own, or "open" for a parent's N/A.
type ItemStateBefore = ItemStateAfter

// ItemCommentAfter is a remark added to an item, with the file sent
// with it, if any (the same keys as ItemFileAfter, all absent without one).
type ItemCommentAfter struct {
	Body        string `json:"body"`
	Comment     int64  `json:"comment"` // the comment's id
	ContentType string `json:"content_type,omitempty"`
	File        int64  `json:"file,omitempty"` // the file's id
	Name        string `json:"name,omitempty"`
	SHA256      string `json:"sha256,omitempty"` // of the file's bytes, lowercase hex
	Size        int64  `json:"size,omitempty"`
}

// ItemFileAfter is an evidence file attached to an item: what it is
// called, how it is served, and the SHA-256 of its bytes, which the bulk
// export carries beside the record.
type ItemFileAfter struct {
	ContentType string `json:"content_type"`
	File        int64  `json:"file"` // the file's id
	Name        string `json:"name"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
}

// ItemAssignAfter is who an item, or every item of a section, is now
// assigned to: a person (user) or a role (role), named as they were; all
// absent when the assignment was cleared.
type ItemAssignAfter struct {
	Items []string `json:"items,omitempty"` // a section's: the items it assigned, document order
	Name  string   `json:"name,omitempty"`
	Role  int64    `json:"role,omitempty"`
	User  int64    `json:"user,omitempty"`
}

// ItemEvidenceAfter is the evidence attached to an item.
type ItemEvidenceAfter struct {
	Evidence string `json:"evidence"`
}

// ItemEvidenceBefore is the evidence an item.evidence event replaced.
type ItemEvidenceBefore = ItemEvidenceAfter

// NoteEditAfter is a note field's value after an edit, under the field's
// name.
type NoteEditAfter struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// NoteEditBefore is the value a note.edit event replaced.
type NoteEditBefore = NoteEditAfter

// SignoffSignBefore is the stale signature a new one replaced on its slot.
type SignoffSignBefore struct {
	PrintedName string `json:"printed_name"`
	Signature   int64  `json:"signature"` // the replaced signature's id
	SignerID    int64  `json:"signer_id"`
	State       string `json:"state"` // "stale"
}

// SignoffSignAfter is an electronic signature: the manifestation (printed
// name, role, meaning; the event's time) and the checklist state it
// attests to. The final approval also completes and locks the deployment.
type SignoffSignAfter struct {
	ChecklistRev    int64  `json:"checklist_rev"`
	ChecklistSHA256 string `json:"checklist_sha256"`
	Locked          bool   `json:"locked,omitempty"` // the final approval: the deployment is locked
	Meaning         string `json:"meaning"`
	// MultipleSlots is true when the template let one person sign several
	// slots at the time of this signature (absent otherwise).
	MultipleSlots bool   `json:"multiple_slots_allowed,omitempty"`
	PrintedName   string `json:"printed_name"`
	Role          string `json:"role"`
	// SignedWith is the credential the signer proved themselves with
	// (absent from signatures given before it was recorded: all were
	// given with the password).
	SignedWith *SignedWith `json:"signed_with,omitempty"`
	SignerID   int64       `json:"signer_id"`
	Slot       int         `json:"slot"`
	Status     Status      `json:"status,omitempty"` // "completed" with Locked
}

// How a signer proves it is them at the moment of signing.
const (
	SignedWithPassword = "password" // typed again
	SignedWithPasskey  = "passkey"  // a passkey assertion with user verification
	SignedWithSSO      = "sso"      // the identity provider re-authenticated them (prompt=login, max_age=0)
)

// SignedWith is the credential a signature was given with: the method,
// and which passkey or which provider's login (with its auth_time).
type SignedWith struct {
	AuthTime   string `json:"auth_time,omitempty"`  // sso: when the provider re-authenticated the signer (RFC 3339, UTC)
	Credential string `json:"credential,omitempty"` // passkey: its credential id, base64url
	Issuer     string `json:"issuer,omitempty"`     // sso: the provider's issuer URL
	Method     string `json:"method"`               // SignedWithPassword, SignedWithPasskey or SignedWithSSO
}

// SignoffRevokeBefore is the signature a revocation ended.
type SignoffRevokeBefore struct {
	PrintedName string `json:"printed_name"`
	Role        string `json:"role"`
	Signature   int64  `json:"signature"` // its id
}

// SignoffRevokeAfter is why it was revoked.
type SignoffRevokeAfter struct {
	Reason  string `json:"reason"`
	Revoked bool   `json:"revoked"` // always true
}

// SignoffRejectAfter is a request for changes: a holder of the slot's
// role refuses it, saying what must change.
type SignoffRejectAfter struct {
	Comment     string `json:"comment"`
	PrintedName string `json:"printed_name"`
	Role        string `json:"role"`
	UserID      int64  `json:"user_id"`
}

// SignoffWithdrawBefore is the request for changes a withdrawal ended:
// rejected_seq is its signoff.reject event.
type SignoffWithdrawBefore struct {
	Comment     string `json:"comment"`
	PrintedName string `json:"printed_name"`
	RejectedSeq int64  `json:"rejected_seq"`
}

// SignoffWithdrawAfter marks it withdrawn.
type SignoffWithdrawAfter struct {
	Withdrawn bool `json:"withdrawn"` // always true
}

// DeploymentCreateEvent records a new deployment (target deployment/<id>).
type DeploymentCreateEvent struct{ After DeploymentCreateAfter }

// DeploymentStatusEvent records a status change asked for by a person
// (target deployment/<id>); the first tick and the final approval move
// the status too, recorded by their own events.
type DeploymentStatusEvent struct {
	Before DeploymentStatusBefore
	After  DeploymentStatusAfter
}

// ItemStateEvent records a tick, an untick or an N/A (target item/<path>).
type ItemStateEvent struct {
	Before ItemStateBefore
	After  ItemStateAfter
}

// ItemCommentEvent records a comment (target item/<path>).
type ItemCommentEvent struct{ After ItemCommentAfter }

// ItemEvidenceEvent records evidence attached to an item (target item/<path>).
type ItemEvidenceEvent struct {
	Before ItemEvidenceBefore
	After  ItemEvidenceAfter
}

// ItemFileEvent records an evidence file attached to an item (target
// item/<path>).
type ItemFileEvent struct{ After ItemFileAfter }

// ItemAssignEvent records an item's assignment (target item/<path>) or a
// whole section's (target section/<phase.section>, its items listed).
type ItemAssignEvent struct{ After ItemAssignAfter }

// NoteEditEvent records a note field's edit (target note/<position>).
type NoteEditEvent struct {
	Before NoteEditBefore
	After  NoteEditAfter
}

// SignoffSignEvent records a signature (target slot/<position>). Before is
// the stale signature it replaced, if any.
type SignoffSignEvent struct {
	Before *SignoffSignBefore
	After  SignoffSignAfter
}

// SignoffRevokeEvent records a revocation (target slot/<position>).
type SignoffRevokeEvent struct {
	Before SignoffRevokeBefore
	After  SignoffRevokeAfter
}

// SignoffRejectEvent records a request for changes (target slot/<position>).
type SignoffRejectEvent struct{ After SignoffRejectAfter }

// SignoffWithdrawEvent records its withdrawal (target slot/<position>).
type SignoffWithdrawEvent struct {
	Before SignoffWithdrawBefore
	After  SignoffWithdrawAfter
}

func (*SignoffRejectEvent) Action() string                 { return ActSignoffReject }
func (*SignoffWithdrawEvent) Action() string               { return ActSignoffWithdraw }
func (e *SignoffRejectEvent) sides() (before, after any)   { return nil, &e.After }
func (e *SignoffWithdrawEvent) sides() (before, after any) { return &e.Before, &e.After }

func (*DeploymentCreateEvent) Action() string { return ActDeploymentCreate }
func (*DeploymentStatusEvent) Action() string { return ActDeploymentStatus }
func (*ItemStateEvent) Action() string        { return ActItemState }
func (*ItemCommentEvent) Action() string      { return ActItemComment }
func (*ItemEvidenceEvent) Action() string     { return ActItemEvidence }
func (*ItemFileEvent) Action() string         { return ActItemFile }
func (*ItemAssignEvent) Action() string       { return ActItemAssign }
func (*NoteEditEvent) Action() string         { return ActNoteEdit }
func (*SignoffSignEvent) Action() string      { return ActSignoffSign }
func (*SignoffRevokeEvent) Action() string    { return ActSignoffRevoke }

func (e *DeploymentCreateEvent) sides() (before, after any) { return nil, &e.After }
func (e *DeploymentStatusEvent) sides() (before, after any) { return &e.Before, &e.After }
func (e *ItemStateEvent) sides() (before, after any)        { return &e.Before, &e.After }
func (e *ItemCommentEvent) sides() (before, after any)      { return nil, &e.After }
func (e *ItemEvidenceEvent) sides() (before, after any)     { return &e.Before, &e.After }
func (e *ItemFileEvent) sides() (before, after any)         { return nil, &e.After }
func (e *ItemAssignEvent) sides() (before, after any)       { return nil, &e.After }
func (e *NoteEditEvent) sides() (before, after any)         { return &e.Before, &e.After }
func (e *SignoffSignEvent) sides() (before, after any)      { return &e.Before, &e.After }
func (e *SignoffRevokeEvent) sides() (before, after any)    { return &e.Before, &e.After }

// Leaves are the items an item.state event changed: the leaves an N/A on
// a parent closed, or the one item its target names.
func (e *ItemStateEvent) Leaves(target Target) []string {
	if len(e.After.Items) > 0 {
		return e.After.Items
	}
	return []string{target.Path}
}
