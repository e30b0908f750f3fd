package notify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// hookEvent is something a webhook is told about: an audit event's
// consequence, or a notice.
type hookEvent struct {
	Name string // signoff.Hook*
	// Source is what caused it: "deployment/<id>/event/<seq>" or
	// "notice/<id>". With Name it is unique per webhook (the delivery
	// log's key), so it names the deployment: every deployment has an
	// event 1.
	Source string
	At     time.Time
	Actor  signoff.EventActor
	Status signoff.Status // the deployment's status at the time
	Data   any
	Text   string // one line for people (Slack), after the deployment's name
}

// eventSource names an audit event as a delivery's cause.
func eventSource(deploymentID, seq int64) string {
	return "deployment/" + strconv.FormatInt(deploymentID, 10) + "/event/" + strconv.FormatInt(seq, 10)
}

// systemActor is who tells of conditions nobody caused directly.
var systemActor = signoff.EventActor{Name: "Signoff", Via: "system"}

// eventFields are the parts of events' before/after that webhooks use.
type eventFields struct {
	Status          signoff.Status `json:"status"`
	Reason          string         `json:"reason"`
	Slot            int            `json:"slot"`
	Role            string         `json:"role"`
	SignerID        int64          `json:"signer_id"`
	PrintedName     string         `json:"printed_name"`
	Meaning         string         `json:"meaning"`
	ChecklistSHA256 string         `json:"checklist_sha256"`
	Locked          bool           `json:"locked"`
	Template        string         `json:"template"`
	TemplateVersion int            `json:"template_version"`
	TemplateTitle   string         `json:"template_title"`
	PlannedAt       string         `json:"planned_at"`
	Signature       int64          `json:"signature"`
}

// fromEvent turns one audit event into what webhooks hear of it, given the
// deployment's status before it, and returns the status after it. Status
// is replayed from the events themselves: created as a draft, moved by a
// status change or the final approval, and started by the first tick.
func fromEvent(ev signoff.Event, status signoff.Status) ([]hookEvent, signoff.Status, error) {
	var p struct {
		Actor  signoff.EventActor `json:"actor"`
		Before json.RawMessage    `json:"before"`
		After  json.RawMessage    `json:"after"`
	}
	if err := json.Unmarshal([]byte(ev.Payload), &p); err != nil {
		return nil, status, fmt.Errorf("read event %d/%d: %w", ev.DeploymentID, ev.Seq, err)
	}
	var before, after eventFields
	for _, f := range []struct {
		raw json.RawMessage
		dst *eventFields
	}{{p.Before, &before}, {p.After, &after}} {
		if len(f.raw) > 0 && f.raw[0] == '{' {
			if err := json.Unmarshal(f.raw, f.dst); err != nil {
				return nil, status, fmt.Errorf("read event %d/%d: %w", ev.DeploymentID, ev.Seq, err)
			}
		}
	}
	base := hookEvent{Source: eventSource(ev.DeploymentID, ev.Seq), At: ev.At, Actor: p.Actor}
	var out []hookEvent
	moved := func(to signoff.Status, reason string) {
		if to == "" || to == status {
			return
		}
		e := base
		e.Name, e.Status = signoff.HookDeploymentStatus, to
		data := map[string]any{"status": to, "previous": status}
		if reason != "" {
			data["reason"] = reason
		}
		e.Data = data
		e.Text = "is now " + strings.ToLower(to.Label()) + statusSuffix(to, reason)
		out = append(out, e)
		status = to
	}

	switch ev.Action {
	case signoff.ActDeploymentCreate:
		status = signoff.StatusDraft
		e := base
		e.Name, e.Status = signoff.HookDeploymentCreated, status
		e.Data = map[string]any{"template": after.Template, "template_title": after.TemplateTitle,
			"template_version": after.TemplateVersion, "planned_at": nullString(after.PlannedAt)}
		e.Text = "was created by " + p.Actor.Name
		out = append(out, e)
	case signoff.ActDeploymentStatus:
		moved(after.Status, after.Reason)
	case signoff.ActItemState:
		if status == signoff.StatusDraft {
			moved(signoff.StatusInProgress, "")
		}
	case signoff.ActSignoffSign:
		e := base
		e.Name, e.Status = signoff.HookSignoffSigned, status
		e.Data = map[string]any{"slot": after.Slot, "role": after.Role, "signer_id": after.SignerID,
			"printed_name": after.PrintedName, "meaning": after.Meaning,
			"checklist_sha256": after.ChecklistSHA256, "final": after.Locked}
		e.Text = "was signed off by " + after.PrintedName + " as " + after.Role
		out = append(out, e)
		moved(after.Status, "")
	case signoff.ActSignoffRevoke:
		e := base
		e.Name, e.Status = signoff.HookSignoffRevoked, status
		slot, _ := strconv.Atoi(strings.TrimPrefix(ev.Target, "slot/"))
		e.Data = map[string]any{"slot": slot, "role": before.Role, "printed_name": before.PrintedName,
			"signature_id": before.Signature, "reason": after.Reason}
		e.Text = "lost its " + before.Role + " sign-off (" + before.PrintedName + "), revoked by " + p.Actor.Name + ": " + after.Reason
		out = append(out, e)
	}
	return out, status, nil
}

func statusSuffix(s signoff.Status, reason string) string {
	switch {
	case s == signoff.StatusCompleted:
		return ": signed off and locked"
	case reason != "":
		return ": " + reason
	}
	return ""
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
