package signoff

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
}
