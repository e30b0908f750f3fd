package signoff

import (
	"fmt"
	"strings"
	"time"
)

// Slot is a sign-off slot of a deployment with its standing signature.
type Slot struct {
	Position int
	Group    string
	Role     string
	// Final marks the slots of the template's final group: its last
	// sign-off group, declared by where it stands, not by its name.
	Final bool
	// Above is how many items, in document order, stand above the slot's
	// group when it is a gate: what its signature attests to. Zero means
	// the whole checklist (the final group, a group below every item, and
	// deployments started before gates).
	Above int
	// AboveChanged: an item above the gate changed after its standing
	// signature was given (read with the slot).
	AboveChanged bool
	// GoNoGo marks a gate that must be signed before the deployment goes
	// live (see IsGoNoGo).
	GoNoGo    bool
	Signature *Signature // the standing one, nil when unsigned
	Rejection *Rejection // a standing request for changes, nil when none
}

// Rejection is a role holder's refusal of their slot, with what they want
// changed. It stands until the same person withdraws it or signs.
type Rejection struct {
	ID      int64
	Slot    int
	By      UserRef
	Comment string
	At      time.Time
}

// SlotState is what a slot shows.
type SlotState string

const (
	SlotUnsigned SlotState = "unsigned"
	SlotSigned   SlotState = "signed"
	SlotStale    SlotState = "stale" // signed, but the checklist changed since
)

// State is the slot's state against the deployment's current checklist
// rev: a signature goes stale when the checklist changes after it; a
// gate's, when an item above the gate does.
func (s *Slot) State(checklistRev int64) SlotState {
	switch {
	case s.Signature == nil:
		return SlotUnsigned
	case s.Gate():
		if s.AboveChanged {
			return SlotStale
		}
	case s.Signature.ChecklistRev < checklistRev:
		return SlotStale
	}
	return SlotSigned
}

// Gate reports whether the slot's signature attests to the items above
// it only.
func (s *Slot) Gate() bool { return s.Above > 0 && !s.Final }

// Signature is an electronic signature on a slot (21 CFR Part 11 §11.50:
// printed name, time, meaning; §11.70: bound to the record by its hash).
type Signature struct {
	ID            int64
	DeploymentID  int64
	Slot          int
	Role          string
	Signer        UserRef
	Meaning       string
	SignedAt      time.Time
	ChecklistHash []byte
	ChecklistRev  int64
	AuditSeq      int64
	EndedAt       *time.Time
	EndedBy       *UserRef
	EndReason     string
}

// Meaning is the statement a signer makes for a role.
func Meaning(role string) string {
	return "I approve this deployment as " + role + "."
}

// Attests is how many items, in document order, a signature on the slot
// attests to, of a checklist of n: a gate's items above it; the final
// approval's, everything.
func (s *Slot) Attests(n int) int {
	if !s.Gate() || s.Above > n {
		return n
	}
	return s.Above
}

// SignRequest is everything the rules need to decide whether a person may
// sign a slot now.
type SignRequest struct {
	Deployment    *Deployment
	Checklist     *Checklist
	Slots         []Slot
	Slot          int
	Signer        *User
	AllowMultiple bool // the template lets one person sign several slots
}

// CheckSign applies PRODUCT.md's rules 3, 4 and 6 to a signature request.
func CheckSign(r SignRequest) error {
	if err := r.Deployment.Writable(); err != nil {
		return err
	}
	var slot *Slot
	for i := range r.Slots {
		if r.Slots[i].Position == r.Slot {
			slot = &r.Slots[i]
		}
	}
	if slot == nil {
		return Errorf(ENOTFOUND, "This deployment has no sign-off slot %d.", r.Slot)
	}
	if r.Signer.IsAuditor || !r.Signer.Active || !r.Signer.HasRole(slot.Role) {
		return Errorf(EFORBIDDEN, "Only a holder of the %s role can sign this slot.", slot.Role)
	}
	if slot.State(r.Deployment.ChecklistRev) == SlotSigned {
		return Errorf(ECONFLICT, "The %s slot is already signed by %s.", slot.Role, slot.Signature.Signer.Name)
	}
	if !r.AllowMultiple {
		for _, s := range r.Slots {
			if s.Position != slot.Position && s.Signature != nil && s.Signature.Signer.ID == r.Signer.ID {
				return Errorf(ECONFLICT, "You already signed this deployment as %s; one person signs at most one slot.", s.Role)
			}
		}
	}
	if rj := slot.Rejection; rj != nil && rj.By.ID != r.Signer.ID {
		return Errorf(ECONFLICT, "%s asked for changes on the %s slot; only they can sign it or withdraw the request.", rj.By.Name, slot.Role)
	}
	if p := r.Checklist.ProgressAbove(slot.Attests(len(r.Checklist.Items))); !p.Complete() {
		if slot.Attests(len(r.Checklist.Items)) < len(r.Checklist.Items) {
			return Errorf(ECONFLICT, "Every item above this sign-off must be done or N/A before signing it: %d of %d are still open.", p.Open(), p.Total)
		}
		return Errorf(ECONFLICT, "Every item must be done or N/A before signing off: %d of %d are still open.", p.Open(), p.Total)
	}
	if slot.Final {
		var waiting []string
		for _, s := range r.Slots {
			if !s.Final && s.State(r.Deployment.ChecklistRev) != SlotSigned {
				waiting = append(waiting, s.Role)
			}
		}
		if len(waiting) > 0 {
			return Errorf(ECONFLICT, "The final approval needs every other slot signed first; waiting on %s.", strings.Join(waiting, ", "))
		}
	}
	return nil
}

// Locks reports whether signing the slot at pos now gives the last
// required signature, completing and locking the deployment: the slot is
// in the final group and every other final slot is signed freshly (the
// final group's slots wait for every other slot, CheckSign).
func Locks(slots []Slot, pos int, checklistRev int64) bool {
	final := false
	for i := range slots {
		s := &slots[i]
		switch {
		case s.Position == pos:
			final = s.Final
		case s.Final && s.State(checklistRev) != SlotSigned:
			return false
		}
	}
	return final
}

// FinalSlots marks the slots of a template's final group, its last
// sign-off group: the final approval is declared by where the group
// stands, never guessed from its name ("Semi-final review" is a group
// like any other).
func FinalSlots(t *Template) []bool {
	slots := t.Slots()
	out := make([]bool, len(slots))
	last := len(t.SignoffGroups) - 1
	for i, s := range slots {
		out[i] = s.GroupIndex == last
	}
	return out
}

// Seen is the checklist state a sign page showed: the hash the signer was
// asked to attest to, and the last audit event the page knew of.
type Seen struct {
	SHA256   []byte
	AuditSeq int64
}

// CheckSeen refuses a signature when the checklist state is no longer the
// one the signer was shown (current is its hash now), saying what changed
// since: events are the deployment's events after seen.AuditSeq.
func CheckSeen(seen Seen, current []byte, events []Event) error {
	if string(seen.SHA256) == string(current) {
		return nil
	}
	var changes []string
	for _, e := range events {
		if e.Action != ActItemState && e.Action != ActNoteEdit {
			continue
		}
		changes = append(changes, describeChange(e))
	}
	const shown = 5
	list := strings.Join(changes[:min(len(changes), shown)], "; ")
	if len(changes) > shown {
		list += fmt.Sprintf("; and %d more", len(changes)-shown)
	}
	if list == "" {
		list = "the checklist is not the one the page showed"
	}
	return Errorf(ECONFLICT, "The checklist changed while you were reading it (%s); nothing was signed. Review the changes and sign again.", list)
}

// describeChange says in a few words who changed what.
func describeChange(e Event) string {
	d, err := DecodeEvent([]byte(e.Payload))
	if err != nil {
		return e.Actor.Name + " changed " + e.Target
	}
	switch b := d.Body.(type) {
	case *ItemStateEvent:
		what := map[ItemState]string{ItemDone: "ticked", ItemOpen: "reopened", ItemNA: "marked N/A"}[b.After.State]
		return e.Actor.Name + " " + what + " item " + d.Target.Path
	case *NoteEditEvent:
		return e.Actor.Name + " edited the note " + b.After.Name
	}
	return e.Actor.Name + " changed " + e.Target
}

// CheckReject applies the rules of a request for changes: a holder of the
// slot's role refuses it, while it holds no signature and no other
// request, on a deployment that may still change.
func CheckReject(d *Deployment, slots []Slot, pos int, by *User) (*Slot, error) {
	if err := d.Writable(); err != nil {
		return nil, err
	}
	var slot *Slot
	for i := range slots {
		if slots[i].Position == pos {
			slot = &slots[i]
		}
	}
	switch {
	case slot == nil:
		return nil, Errorf(ENOTFOUND, "This deployment has no sign-off slot %d.", pos)
	case by.IsAuditor || !by.Active || !by.HasRole(slot.Role):
		return nil, Errorf(EFORBIDDEN, "Only a holder of the %s role can ask for changes on this slot.", slot.Role)
	case slot.Rejection != nil:
		return nil, Errorf(ECONFLICT, "%s already asked for changes on the %s slot.", slot.Rejection.By.Name, slot.Role)
	case slot.Signature != nil:
		return nil, Errorf(ECONFLICT, "The %s slot holds %s's signature; it must be revoked before asking for changes.", slot.Role, slot.Signature.Signer.Name)
	}
	return slot, nil
}
