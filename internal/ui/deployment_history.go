package ui

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/a-h/templ"

	"github.com/signoff/signoff/internal/signoff"
)

type historyView struct {
	D          *signoff.Deployment
	CL         *signoff.Checklist
	Events     []historyEvent
	Signatures []signoff.Signature
	// Since, when set, narrows the page to the events after one: "what
	// changed since Dana signed".
	Since *sinceView
}

// historyEvent is an event as stored, and as read (nil when its payload
// could not be read: the page still lists it, and the log says why).
type historyEvent struct {
	signoff.Event
	read *signoff.DecodedEvent
}

// sinceView is the event a narrowed history starts after, and the
// signature recorded by it, if any.
type sinceView struct {
	Event     signoff.Event
	Signature *signoff.Signature
}

// Heading says what the narrowed page shows.
func (v historyView) SinceHeading() string {
	if sig := v.Since.Signature; sig != nil {
		return "Changes since " + sig.Signer.Name + " signed as " + sig.Role + " at " + fmtTime(sig.SignedAt)
	}
	return fmt.Sprintf("Changes since event %d (%s)", v.Since.Event.Seq, fmtTime(v.Since.Event.At))
}

// ChecklistChanges counts the listed events that changed the checklist
// (and so made any signature before them stale).
func (v historyView) ChecklistChanges() int {
	n := 0
	for _, e := range v.Events {
		if changesChecklist(e.Event) {
			n++
		}
	}
	return n
}

// changesChecklist reports whether an event changed what a signature
// attests to: an item's state or a note (the store bumps the deployment's
// checklist revision for exactly these).
func changesChecklist(e signoff.Event) bool {
	return e.Action == signoff.ActItemState || e.Action == signoff.ActNoteEdit
}

// changesSince says how many checklist changes a stale signature missed,
// for links to the narrowed history: "3 changes since you signed".
func changesSince(d *signoff.Deployment, sig *signoff.Signature, you *signoff.User) string {
	n := int(d.ChecklistRev - sig.ChecklistRev)
	what := plural(n, "change", "changes")
	who := sig.Signer.Name
	if you != nil && sig.Signer.ID == you.ID {
		who = "you"
	}
	return fmt.Sprintf("%d %s since %s signed", n, what, who)
}

// sinceURL is the history narrowed to what happened after a signature.
func sinceURL(d *signoff.Deployment, sig *signoff.Signature) templ.SafeURL {
	return templ.SafeURL(fmt.Sprintf("/deployments/%d/history?since=%d", d.ID, sig.AuditSeq))
}

// describe says in words what an event recorded.
func (v historyView) describe(e historyEvent) string {
	if e.read == nil {
		return e.Action + " " + e.Target
	}
	switch b := e.read.Body.(type) {
	case *signoff.DeploymentCreateEvent:
		return "Created from " + b.After.TemplateTitle
	case *signoff.DeploymentStatusEvent:
		s := "Status " + string(b.Before.Status) + " → " + string(b.After.Status)
		if b.After.Reason != "" {
			s += ": " + b.After.Reason
		}
		return s
	case *signoff.ItemStateEvent:
		if s := v.describeItemState(e.read.Target, b); s != "" {
			return s
		}
	case *signoff.ItemCommentEvent:
		s := "Commented on " + v.itemTitle(e.read.Target) + ": " + b.After.Body
		if b.After.Name != "" {
			s += " (with " + b.After.Name + ", SHA-256 " + b.After.SHA256 + ")"
		}
		return s
	case *signoff.ItemFileEvent:
		return "Attached " + b.After.Name + " (" + signoff.FormatBytes(b.After.Size) + ", SHA-256 " + b.After.SHA256 + ") to " + v.itemTitle(e.read.Target)
	case *signoff.ItemAssignEvent:
		what := v.itemTitle(e.read.Target)
		if e.read.Target.Kind == signoff.TargetSection {
			what = "section " + e.read.Target.Path + " (" + strconv.Itoa(len(b.After.Items)) + " items)"
		}
		if b.After.Name == "" {
			return "Unassigned " + what
		}
		return "Assigned " + what + " to " + b.After.Name
	case *signoff.ItemEvidenceEvent:
		return "Attached evidence to " + v.itemTitle(e.read.Target)
	case *signoff.NoteEditEvent:
		return "Edited note " + b.After.Name
	case *signoff.SignoffSignEvent:
		s := b.After.PrintedName + " signed as " + b.After.Role + signedWithText(b.After.SignedWith) + ": “" + b.After.Meaning + "”"
		if b.After.Locked {
			s += " — deployment completed and locked"
		}
		return s
	case *signoff.SignoffRevokeEvent:
		return "Revoked " + b.Before.PrintedName + "'s signature as " + b.Before.Role + ": " + b.After.Reason
	case *signoff.SignoffRejectEvent:
		return b.After.PrintedName + " asked for changes as " + b.After.Role + ": " + b.After.Comment
	case *signoff.SignoffWithdrawEvent:
		return b.Before.PrintedName + " withdrew their request for changes"
	}
	return e.Action + " " + e.Target
}

// describeItemState says what a tick, an untick or an N/A did.
func (v historyView) describeItemState(t signoff.Target, e *signoff.ItemStateEvent) string {
	switch e.After.State {
	case signoff.ItemDone:
		return "Ticked " + v.itemTitle(t)
	case signoff.ItemOpen:
		return "Reopened " + v.itemTitle(t)
	case signoff.ItemNA:
		s := "Marked N/A " + v.itemTitle(t) + ": " + e.After.NAReason
		if n := len(e.After.Items); n > 0 {
			s += fmt.Sprintf(" (%d items)", n)
		}
		return s
	}
	return ""
}

// itemTitle names an item by its path and title.
func (v historyView) itemTitle(t signoff.Target) string {
	if it := v.CL.Item(t.Path); it != nil {
		return t.Path + " “" + it.Title() + "”"
	}
	return t.Path
}

// readEvents reads the events' payloads for the page. One that cannot be
// read is still listed (by its action and target) and the log says why.
func (s *Server) readEvents(r *http.Request, deploymentID int64, events []signoff.Event) []historyEvent {
	out := make([]historyEvent, len(events))
	for i, e := range events {
		out[i].Event = e
		p, err := signoff.DecodeEvent([]byte(e.Payload))
		if err != nil {
			s.logger.LogAttrs(r.Context(), slog.LevelError, "history: unreadable audit event",
				slog.String("request_id", requestID(r.Context())), slog.Int64("deployment_id", deploymentID),
				slog.Int64("seq", e.Seq), slog.String("action", e.Action), slog.Any("err", err))
			continue
		}
		out[i].read = p
	}
	return out
}

// deploymentHistory lists every audit event of a deployment, newest first,
// with each event's place in the hash chain. ?since=SEQ lists only the
// events after event SEQ (a signature's, to show what made it stale).
func (s *Server) deploymentHistory(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.db.Deployment(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	after := int64(0)
	if q := r.URL.Query(); q.Has("since") {
		seq, err := strconv.ParseInt(q.Get("since"), 10, 64)
		if err != nil || seq < 1 || seq > d.AuditSeq {
			s.fail(w, r, signoff.Errorf(signoff.EINVALID,
				"“since” must be the number of one of this deployment's audit events, 1 to %d.", d.AuditSeq))
			return
		}
		after = seq - 1 // read the event itself too: the heading names it
	}
	events, err := s.db.Events(r.Context(), id, after, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cl, err := s.db.Checklist(r.Context(), d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sigs, err := s.db.Signatures(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := historyView{D: d, CL: cl, Events: s.readEvents(r, id, events), Signatures: sigs}
	if after > 0 && len(events) > 0 {
		v.Since = &sinceView{Event: events[0]}
		v.Events = v.Events[1:]
		for i := range sigs {
			if sigs[i].AuditSeq == events[0].Seq {
				v.Since.Signature = &sigs[i]
			}
		}
	}
	for i, j := 0, len(v.Events)-1; i < j; i, j = i+1, j-1 {
		v.Events[i], v.Events[j] = v.Events[j], v.Events[i]
	}
	s.render(w, r, http.StatusOK, historyPage(s.page(w, r, "History · "+d.Name(), "deployments"), v))
}

// signedWithText says how a signer proved it was them, for the history.
func signedWithText(w *signoff.SignedWith) string {
	if w == nil {
		return ""
	}
	switch w.Method {
	case signoff.SignedWithPasskey:
		return " with passkey " + w.Credential
	case signoff.SignedWithSSO:
		return " after logging in again at " + w.Issuer + " (" + w.AuthTime + ")"
	}
	return " with their password"
}
