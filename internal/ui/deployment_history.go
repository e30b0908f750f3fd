package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/signoff/signoff/internal/signoff"
)

type historyView struct {
	D          *signoff.Deployment
	CL         *signoff.Checklist
	Events     []signoff.Event
	Signatures []signoff.Signature
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
// with each event's place in the hash chain.
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
	events, err := s.db.Events(r.Context(), id, 0, 0)
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
	for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
		events[i], events[j] = events[j], events[i]
	}
	s.render(w, r, http.StatusOK, historyPage(s.page(w, r, "History · "+d.Name(), "deployments"), historyView{D: d, CL: cl, Events: events, Signatures: sigs}))
}
