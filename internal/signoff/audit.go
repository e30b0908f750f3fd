package signoff

import (
	"crypto/sha256"
	"encoding/json"
	"time"
)

// Event is one immutable audit record: who did what, when, with the state
// before and after. Events form a hash chain per deployment (and one for
// system changes such as people and templates).
type Event struct {
	ID           int64
	DeploymentID int64 // 0 for the system chain
	Seq          int64
	At           time.Time
	Actor        UserRef
	Action       string
	Target       string
	Payload      string // the canonical JSON that was hashed, byte for byte
	PrevHash     []byte
	Hash         []byte
}

// Actions recorded in the audit log.
const (
	ActDeploymentCreate = "deployment.create"
	ActDeploymentStatus = "deployment.status"
	ActItemState        = "item.state"
	ActItemComment      = "item.comment"
	ActItemEvidence     = "item.evidence"
	ActItemFile         = "item.file"   // an evidence file attached
	ActItemAssign       = "item.assign" // an item or a section assigned to a person or a role
	ActNoteEdit         = "note.edit"
	ActSignoffSign      = "signoff.sign"
	ActSignoffRevoke    = "signoff.revoke"
	ActSignoffReject    = "signoff.reject"   // a role holder refuses their slot, asking for changes
	ActSignoffWithdraw  = "signoff.withdraw" // they withdraw that request
	ActDeploymentLock   = "deployment.lock"
	ActUserCreate       = "user.create"
	ActUserUpdate       = "user.update"
	ActUserDeactivate   = "user.deactivate"
	ActUserActivate     = "user.activate"
	ActRoleCreate       = "role.create"
	ActRoleGrant        = "role.grant"
	ActRoleWithdraw     = "role.withdraw"
	ActTemplateImport   = "template.import"
	ActTemplateSettings = "template.settings"
	ActTokenCreate      = "token.create"
	ActTokenRevoke      = "token.revoke"
	ActWebhookCreate    = "webhook.create"
	ActWebhookDelete    = "webhook.delete"
	ActUserSync         = "user.sync"        // roles and permissions set from the identity provider's claims
	ActSessionEnd       = "session.end"      // sessions ended by their owner
	ActPasskeyRegister  = "passkey.register" // a passkey added to a person
	ActPasskeyRemove    = "passkey.remove"   // a passkey removed
)

// EventPayload is the canonical content of an event. Its JSON encoding (Go's
// encoding/json, fields in this order) is stored verbatim and hashed, so the
// verifier needs only the bytes, never this struct's rules.
type EventPayload struct {
	V      int             `json:"v"`
	Chain  string          `json:"chain"` // "deployment/42" or "system"
	Seq    int64           `json:"seq"`
	At     string          `json:"at"` // RFC 3339, UTC, microseconds
	Actor  EventActor      `json:"actor"`
	Action string          `json:"action"`
	Target string          `json:"target,omitempty"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// EventActor is who made a change and through which door.
type EventActor struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Via  string `json:"via"` // "web", "api", "cli" or "system"
}

// Change is what a store method records about one change; the audit writer
// adds the chain, sequence and time.
type Change struct {
	Actor  EventActor
	Action string
	Target string
	Before any
	After  any
}

// TimeFormat is how event times are written in payloads: PostgreSQL keeps
// microseconds, so the payload does too and never disagrees with the row.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// ChainHash is the hash that links an event to its predecessor:
// SHA-256(previous hash ‖ payload bytes). The first event's previous hash is
// 32 zero bytes.
func ChainHash(prev []byte, payload []byte) []byte {
	if len(prev) == 0 {
		prev = make([]byte, sha256.Size)
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(payload)
	return h.Sum(nil)
}
