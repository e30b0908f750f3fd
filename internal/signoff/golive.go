package signoff

import (
	"fmt"
	"strings"
)

// CanMove checks who may take a deployment live or abort it: its owner
// (who started it), a holder of a role its sign-off slots name, or an
// admin. Auditors change nothing.
func CanMove(u *User, d *Deployment, slots []Slot, to Status) error {
	if u == nil || !u.Active || u.IsAuditor {
		return Errorf(EFORBIDDEN, "Auditors cannot change a deployment.")
	}
	if u.IsAdmin || u.ID == d.CreatedBy.ID {
		return nil
	}
	var roles []string
	seen := map[string]bool{}
	for _, s := range slots {
		if u.HasRole(s.Role) {
			return nil
		}
		if k := strings.ToLower(s.Role); !seen[k] {
			seen[k] = true
			roles = append(roles, s.Role)
		}
	}
	verb := "take this deployment live"
	if to == StatusAborted {
		verb = "abort this deployment"
	}
	return Errorf(EFORBIDDEN, "Only %s (who started it), an admin or a holder of a role it is signed by (%s) can %s.",
		d.CreatedBy.Name, strings.Join(roles, ", "), verb)
}

// GoLive is what stands open when a deployment is about to go live.
type GoLive struct {
	// Waiting are the go/no-go slots without a fresh signature, each
	// with what holds it ("unsigned", "stale", "changes requested by …"):
	// going live is refused until they are signed.
	Waiting []string
	// Open counts the pre-deployment tasks still open: the items above
	// the last go/no-go gate, or without one the first phase's.
	Open int
	// OpenTitles names the first few of them.
	OpenTitles []string
	// Unsigned are the other gates standing among the pre-deployment
	// items whose slots are not all freshly signed.
	Unsigned []string
}

// CheckGoLive says what stands open before going live.
func CheckGoLive(d *Deployment, cl *Checklist, slots []Slot) GoLive {
	var g GoLive
	scope := 0
	for _, s := range slots {
		if s.GoNoGo && !s.Final {
			scope = max(scope, s.Above)
		}
	}
	if scope == 0 {
		for i := range cl.Items {
			if cl.Items[i].Phase == 1 {
				scope = i + 1
			}
		}
	}
	for i := range cl.Items[:min(scope, len(cl.Items))] {
		it := &cl.Items[i]
		if it.HasChildren || it.State != ItemOpen {
			continue
		}
		g.Open++
		if len(g.OpenTitles) < 5 {
			g.OpenTitles = append(g.OpenTitles, it.Path+" "+it.Title())
		}
	}
	unsigned := map[string]bool{}
	for i := range slots {
		s := &slots[i]
		state := s.State(d.ChecklistRev)
		switch {
		case s.GoNoGo && !s.Final && (state != SlotSigned || s.Rejection != nil):
			why := string(state)
			if s.Rejection != nil {
				why = "changes requested by " + s.Rejection.By.Name
			}
			g.Waiting = append(g.Waiting, s.Role+" ("+why+")")
		case !s.GoNoGo && !s.Final && s.Above > 0 && s.Above <= scope && state != SlotSigned && !unsigned[s.Group]:
			unsigned[s.Group] = true
			g.Unsigned = append(g.Unsigned, s.Group)
		}
	}
	return g
}

// Err refuses going live while a go/no-go gate is not signed.
func (g GoLive) Err() error {
	if len(g.Waiting) == 0 {
		return nil
	}
	return Errorf(ECONFLICT, "The go/no-go sign-off must be given before going live; waiting on %s.", strings.Join(g.Waiting, ", "))
}

// NeedsConfirmation reports whether going live leaves work open that a
// person should confirm they mean to leave.
func (g GoLive) NeedsConfirmation() bool { return g.Open > 0 || len(g.Unsigned) > 0 }

// Summary says what is open, in one sentence.
func (g GoLive) Summary() string {
	var parts []string
	if g.Open > 0 {
		parts = append(parts, fmt.Sprintf("%d pre-deployment %s open", g.Open, map[bool]string{true: "item is", false: "items are"}[g.Open == 1]))
	}
	if len(g.Unsigned) > 0 {
		parts = append(parts, "not signed: "+strings.Join(g.Unsigned, ", "))
	}
	return strings.Join(parts, "; ")
}
