package signoff

import "github.com/signoff/signoff/internal/transparency"

// Record is everything known about one deployment, read at one moment:
// what an audit export holds. The store fills it from a single snapshot so
// its parts agree with each other (the items' states are what the events
// say they are).
type Record struct {
	Deployment *Deployment
	Checklist  *Checklist // the template version, the items and notes
	Slots      []Slot     // every sign-off slot with its standing signature
	Signatures []Signature
	Comments   []Comment
	Events     []Event // the whole chain, in seq order
	// Log proves, for the JSON export, that the last event is the chain's
	// head in a signed checkpoint of the transparency log; nil when not
	// asked for (postgres.DB.SignedRecord).
	Log *transparency.RecordProof
}
