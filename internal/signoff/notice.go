package signoff

import (
	"strconv"
	"time"
)

// Notice kinds: the conditions of a deployment worth telling people about.
const (
	NoticeSignable = "signable" // a slot can be signed now: its role's holders hear of it
	NoticeStale    = "stale"    // a standing signature went stale: the owner hears of it
	NoticeOverdue  = "overdue"  // a timed item passed its due time: the owner hears of it
	NoticeRejected = "rejected" // a role holder asked for changes on their slot: the owner hears of it
)

// Notice is one condition that holds for a deployment at some moment.
// Subject names what it is about ("slot/3", "signature/17", "item/5.1.2"),
// so that the same condition found again is recognised and not told twice;
// once a condition stops holding, its coming back is news again.
type Notice struct {
	Kind    string
	Subject string
	Slot    *Slot     // signable and stale: the slot (with its standing signature)
	Resign  bool      // signable: the slot's signature went stale, so it is signed again
	Item    *Item     // overdue: the item
	DueAt   time.Time // overdue: when it was due
}

// Notices lists the conditions that hold for a deployment at now, in a
// stable order. These are PRODUCT.md's rules seen from the other side:
//
//   - a slot is signable when every item it attests to is resolved (a
//     gate's: those above it), it has no fresh signature and nobody's
//     request for changes stands on it; the final approval also needs
//     every other slot signed freshly;
//   - a request for changes that stands on a slot is news to the owner;
//   - a standing signature given before the checklist's latest change is
//     stale;
//   - an open timed item of a live deployment is overdue once its due time
//     (go-live plus the section's window) has passed.
//
// A locked or aborted deployment has nothing left to tell.
func Notices(d *Deployment, cl *Checklist, slots []Slot, now time.Time) []Notice {
	if d.Locked() || d.Status == StatusAborted {
		return nil
	}
	var out []Notice
	othersSigned := true
	for i := range slots {
		if !slots[i].Final && slots[i].State(d.ChecklistRev) != SlotSigned {
			othersSigned = false
		}
	}
	for i := range slots {
		s := &slots[i]
		state := s.State(d.ChecklistRev)
		switch {
		case state == SlotSigned || s.Rejection != nil || s.Final && !othersSigned:
			continue
		case !cl.ProgressAbove(s.Attests(len(cl.Items))).Complete():
			continue
		}
		out = append(out, Notice{Kind: NoticeSignable, Subject: "slot/" + strconv.Itoa(s.Position),
			Slot: s, Resign: state == SlotStale})
	}
	for i := range slots {
		if s := &slots[i]; s.Rejection != nil {
			out = append(out, Notice{Kind: NoticeRejected, Subject: "rejection/" + strconv.FormatInt(s.Rejection.ID, 10), Slot: s})
		}
	}
	for i := range slots {
		s := &slots[i]
		if s.State(d.ChecklistRev) == SlotStale {
			out = append(out, Notice{Kind: NoticeStale,
				Subject: "signature/" + strconv.FormatInt(s.Signature.ID, 10), Slot: s})
		}
	}
	if d.Status == StatusLive && d.WentLiveAt != nil {
		for i := range cl.Items {
			it := &cl.Items[i]
			if it.HasChildren || it.DueAfter <= 0 || it.State != ItemOpen {
				continue
			}
			if due := d.WentLiveAt.Add(it.DueAfter); now.After(due) {
				out = append(out, Notice{Kind: NoticeOverdue, Subject: "item/" + it.Path, Item: it, DueAt: due})
			}
		}
	}
	return out
}
