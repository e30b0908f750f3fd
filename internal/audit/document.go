// Package audit turns a deployment's record into the exports auditors take
// away (JSON, CSV, PDF, Markdown, and ZIPs of many) and verifies a JSON
// export offline. It knows neither HTTP nor SQL: the store hands it a
// signoff.Record, and Verify needs nothing but the file (and, ideally, the
// server's public key).
//
// The JSON export is canonical: Encode writes it one way only (version 2:
// RFC 8785, JSON Canonicalization Scheme), and Verify re-encodes what it
// parsed and requires the same bytes, so any edited byte, whitespace and
// key order included, fails. docs/audit.md describes the schema and the
// verification algorithm for re-implementers, and verifier/python holds
// an independent verifier written from it.
package audit

// Format and Version identify the JSON export's schema. Version 1 files
// (exported before issue 14) still verify.
const (
	Format  = "signoff-audit-record"
	Version = 2
)

// Document is the JSON export. In version 2 the file is the RFC 8785
// canonical form of this object (members sorted, no whitespace) and a
// newline; in version 1 it was encoding/json's, indented, fields in this
// order. Times are RFC 3339 UTC with microseconds (signoff.TimeFormat);
// hashes are lowercase hex; optional values are null, never missing.
type Document struct {
	Format     string     `json:"format"`  // "signoff-audit-record"
	Version    int        `json:"version"` // 1
	ExportedAt string     `json:"exported_at"`
	Deployment Deployment `json:"deployment"`
	Template   Template   `json:"template"`
	Items      []Item     `json:"items"`
	Notes      []Note     `json:"notes"`
	Slots      []Slot     `json:"slots"`
	Signoffs   []Signoff  `json:"signoffs"`
	Comments   []Comment  `json:"comments"`
	// Rejections are the requests for changes, absent when none was made
	// (records made before they existed verify unchanged).
	Rejections []Rejection `json:"rejections,omitempty"`
	Events     []Event     `json:"events"`
	// Log (version 2) proves the last event is its chain's head in a
	// signed, cosigned checkpoint of the server's transparency log.
	Log *Log `json:"log,omitempty"`
	// Checkpoint signs the record. In version 1 it must stay last: the
	// record digest covers every byte before it; in version 2 the digest
	// is of the canonical form of everything else.
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
}

// Log is a record's proof in the transparency log (docs/audit.md, "The
// transparency log"): the last event's entry is leaf LeafIndex of the log
// of the checkpoint's size, and its chain's head there.
type Log struct {
	// Checkpoint is the signed note: the checkpoint text, the log's
	// signature (the server's key) and the witnesses' cosignatures.
	Checkpoint     string   `json:"checkpoint"`
	LeafIndex      int64    `json:"leaf_index"`
	InclusionProof []string `json:"inclusion_proof"` // base64 hashes
	ChainIndex     int64    `json:"chain_index"`     // the chain's place among the chain heads
	ChainProof     []string `json:"chain_proof"`     // base64 hashes
}

// Deployment is the deployment's header.
type Deployment struct {
	ID          int64   `json:"id"`
	Service     string  `json:"service"`
	Environment string  `json:"environment"`
	Version     string  `json:"version"`
	Status      string  `json:"status"`
	PlannedAt   *string `json:"planned_at"` // to the second, as the deployment.create event records it
	// CreatedAt is the time of the deployment.create event (the row's own
	// is the start of the same transaction, a moment earlier).
	CreatedAt    string  `json:"created_at"`
	CreatedBy    Person  `json:"created_by"`
	WentLiveAt   *string `json:"went_live_at"`
	CompletedAt  *string `json:"completed_at"`
	AbortedAt    *string `json:"aborted_at"`
	LockedAt     *string `json:"locked_at"`
	ChecklistRev int64   `json:"checklist_rev"`
}

// Template names the template version the deployment ran. Whether one
// person could sign several slots is recorded per signature (Signoff's
// MultipleSlotsAllowed): an admin can change it while deployments run.
type Template struct {
	Slug    string `json:"slug"`
	Title   string `json:"title"`
	Version int    `json:"version"`
}

// Person names someone in the record (id 0 is the system).
type Person struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Item is one checklist item with its state and every change to it.
type Item struct {
	Path        string  `json:"path"`
	Parent      string  `json:"parent"` // "" for a top-level item
	Phase       string  `json:"phase"`
	Section     string  `json:"section"`
	Level       int     `json:"level"`
	Text        string  `json:"text"` // Markdown, as in the template
	Conditional bool    `json:"conditional"`
	HasChildren bool    `json:"has_children"`
	State       string  `json:"state"`     // the item's own state: open, done or na
	Effective   string  `json:"effective"` // as people count it: a parent follows its children
	NAReason    string  `json:"na_reason"`
	StateBy     *Person `json:"state_by"`
	StateAt     *string `json:"state_at"`
	Evidence    string  `json:"evidence"`
	// History lists every item.state event that changed this item, in
	// order (an N/A on a parent appears on each leaf it changed).
	History []ItemChange `json:"history"`
}

// ItemChange is one state change of an item.
type ItemChange struct {
	Seq      int64  `json:"seq"`
	At       string `json:"at"`
	Actor    Person `json:"actor"`
	State    string `json:"state"`
	NAReason string `json:"na_reason"`
}

// Note is one note field with its value and every edit.
type Note struct {
	Position  int          `json:"position"`
	Name      string       `json:"name"`
	Value     string       `json:"value"`
	UpdatedBy *Person      `json:"updated_by"`
	UpdatedAt *string      `json:"updated_at"`
	History   []NoteChange `json:"history"`
}

// NoteChange is one edit of a note.
type NoteChange struct {
	Seq   int64  `json:"seq"`
	At    string `json:"at"`
	Actor Person `json:"actor"`
	Value string `json:"value"`
}

// Slot is a sign-off slot and where it stands at export time.
type Slot struct {
	Position int    `json:"position"`
	Group    string `json:"group"`
	Role     string `json:"role"`
	Final    bool   `json:"final"`
	State    string `json:"state"` // unsigned, signed or stale
	// SignoffSeq is the audit seq of the standing signature, if any.
	SignoffSeq *int64 `json:"signoff_seq"`
}

// Signoff is one electronic signature, standing or ended, with its
// manifestation (printed name, role, time, meaning) and the hash of the
// checklist state it attests to.
type Signoff struct {
	Slot            int    `json:"slot"`
	Role            string `json:"role"`
	SignerID        int64  `json:"signer_id"`
	PrintedName     string `json:"printed_name"`
	SignedAt        string `json:"signed_at"`
	Meaning         string `json:"meaning"`
	ChecklistSHA256 string `json:"checklist_sha256"`
	ChecklistRev    int64  `json:"checklist_rev"`
	// MultipleSlotsAllowed is true when the template let one person sign
	// more than one slot at the time of this signature (the sign event
	// says so); false when "one person, one slot" was in force.
	MultipleSlotsAllowed bool    `json:"multiple_slots_allowed"`
	AuditSeq             int64   `json:"audit_seq"` // the seq of its signoff.sign event
	Status               string  `json:"status"`    // standing, stale, revoked or superseded
	EndedAt              *string `json:"ended_at"`
	EndedBy              *Person `json:"ended_by"`
	EndReason            string  `json:"end_reason"`
}

// Comment is a remark on an item.
type Comment struct {
	Item   string `json:"item"`
	At     string `json:"at"`
	Author Person `json:"author"`
	Body   string `json:"body"`
}

// Rejection is a role holder's refusal of their slot, asking for changes:
// it stood until withdrawn or until they signed.
type Rejection struct {
	Slot        int     `json:"slot"`
	Role        string  `json:"role"`
	UserID      int64   `json:"user_id"`
	PrintedName string  `json:"printed_name"`
	Comment     string  `json:"comment"`
	At          string  `json:"at"`
	AuditSeq    int64   `json:"audit_seq"` // its signoff.reject event
	Status      string  `json:"status"`    // standing, withdrawn, signed
	EndedAt     *string `json:"ended_at"`
}

// Event is one link of the deployment's audit hash chain. Payload is the
// canonical JSON that was hashed, as a string; the other fields repeat what
// it says, for readers.
type Event struct {
	Seq        int64  `json:"seq"`
	At         string `json:"at"`
	Actor      Actor  `json:"actor"`
	Action     string `json:"action"`
	Target     string `json:"target"`
	Payload    string `json:"payload"`
	PrevSHA256 string `json:"prev_sha256"`
	SHA256     string `json:"sha256"` // SHA-256(prev ‖ payload bytes)
}

// Actor is who made a change and through which door.
type Actor struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Via  string `json:"via"`
}

// Checkpoint is the signed head of the record.
type Checkpoint struct {
	DeploymentID   int64  `json:"deployment_id"`
	EventCount     int64  `json:"event_count"`
	HeadSHA256     string `json:"head_sha256"`   // the last event's sha256
	RecordSHA256   string `json:"record_sha256"` // of every byte before the checkpoint member
	SignedAt       string `json:"signed_at"`
	Algorithm      string `json:"algorithm"`  // "ed25519"
	PublicKey      string `json:"public_key"` // base64 of the 32 raw bytes
	KeyFingerprint string `json:"key_fingerprint"`
	Signature      string `json:"signature"` // base64 Ed25519 signature of CheckpointMessage
}
