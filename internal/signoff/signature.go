package signoff

import (
	"strings"
	"time"
)

// Slot is a sign-off slot of a deployment with its standing signature.
type Slot struct {
	Position  int
	Group     string
	Role      string
	Final     bool
	Signature *Signature // the standing one, nil when unsigned
}

// SlotState is what a slot shows.
type SlotState string

const (
	SlotUnsigned SlotState = "unsigned"
	SlotSigned   SlotState = "signed"
	SlotStale    SlotState = "stale" // signed, but the checklist changed since
)

// State is the slot's state against the deployment's current checklist rev.
func (s *Slot) State(checklistRev int64) SlotState {
	switch {
	case s.Signature == nil:
		return SlotUnsigned
	case s.Signature.ChecklistRev < checklistRev:
		return SlotStale
	}
	return SlotSigned
}

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

// IsFinalGroup reports whether a sign-off group is the final approval.
func IsFinalGroup(name string) bool {
	return strings.Contains(strings.ToLower(name), "final")
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
	if p := r.Checklist.Progress(0, 0); !p.Complete() {
		return Errorf(ECONFLICT, "Every item must be done or N/A before signing off: %d of %d are still open.", p.Total-p.Resolved(), p.Total)
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
