package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/signoff/signoff/internal/signoff"
)

type historyView struct {
	D          *signoff.Deployment
	CL         *signoff.Checklist
	Events     []signoff.Event
	Signatures []signoff.Signature
	// Since, when set, narrows the page to the events after one: "what
	// changed since Dana signed".
	Since *sinceView
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
		if changesChecklist(e) {
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
func (v historyView) describe(e signoff.Event) string {
	var p struct {
		Before map[string]any `json:"before"`
		After  map[string]any `json:"after"`
	}
	json.Unmarshal([]byte(e.Payload), &p)
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	title := func(target string) string {
		path := strings.TrimPrefix(target, "item/")
		if it := v.CL.Item(path); it != nil {
			return path + " “" + it.Title() + "”"
		}
		return path
	}
	switch e.Action {
	case signoff.ActDeploymentCreate:
		return "Created from " + str(p.After, "template_title")
	case signoff.ActDeploymentStatus:
		s := "Status " + str(p.Before, "status") + " → " + str(p.After, "status")
		if r := str(p.After, "reason"); r != "" {
			s += ": " + r
		}
		return s
	case signoff.ActItemState:
		switch str(p.After, "state") {
		case "done":
			return "Ticked " + title(e.Target)
		case "open":
			return "Reopened " + title(e.Target)
		case "na":
			s := "Marked N/A " + title(e.Target) + ": " + str(p.After, "na_reason")
			if items, ok := p.After["items"].([]any); ok && len(items) > 0 {
				s += fmt.Sprintf(" (%d items)", len(items))
			}
			return s
		}
	case signoff.ActItemComment:
		return "Commented on " + title(e.Target) + ": " + str(p.After, "body")
	case signoff.ActItemEvidence:
		return "Attached evidence to " + title(e.Target)
	case signoff.ActNoteEdit:
		return "Edited note " + str(p.After, "name")
	case signoff.ActSignoffSign:
		s := str(p.After, "printed_name") + " signed as " + str(p.After, "role") + ": “" + str(p.After, "meaning") + "”"
		if locked, _ := p.After["locked"].(bool); locked {
			s += " — deployment completed and locked"
		}
		return s
	case signoff.ActSignoffRevoke:
		return "Revoked " + str(p.Before, "printed_name") + "'s signature as " + str(p.Before, "role") + ": " + str(p.After, "reason")
	}
	return e.Action + " " + e.Target
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
	v := historyView{D: d, CL: cl, Events: events, Signatures: sigs}
	if after > 0 && len(events) > 0 {
		v.Since = &sinceView{Event: events[0]}
		v.Events = events[1:]
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
