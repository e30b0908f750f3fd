package notify

import (
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

// fromEvent turns one audit event into what webhooks hear of it, given the
// deployment's status before it, and returns the status after it. Status
// is replayed from the events themselves: created as a draft, moved by a
// status change or the final approval, and started by the first tick.
func fromEvent(ev signoff.Event, status signoff.Status) ([]hookEvent, signoff.Status, error) {
	p, err := signoff.DecodeEvent([]byte(ev.Payload))
	if err != nil {
		return nil, status, fmt.Errorf("read event %d/%d: %w", ev.DeploymentID, ev.Seq, err)
	}
	t := &teller{status: status, actor: p.Actor,
		base: hookEvent{Source: eventSource(ev.DeploymentID, ev.Seq), At: ev.At, Actor: p.Actor}}
	switch e := p.Body.(type) {
	case *signoff.DeploymentCreateEvent:
		t.created(e)
	case *signoff.DeploymentStatusEvent:
		t.moved(e.After.Status, e.After.Reason)
	case *signoff.ItemStateEvent:
		if t.status == signoff.StatusDraft {
			t.moved(signoff.StatusInProgress, "")
		}
	case *signoff.SignoffSignEvent:
		t.signed(e)
	case *signoff.SignoffRevokeEvent:
		t.revoked(p.Target, e)
	}
	return t.out, t.status, nil
}

// teller collects what one audit event tells webhooks, following the
// deployment's status.
type teller struct {
	base   hookEvent
	actor  signoff.EventActor
	status signoff.Status
	out    []hookEvent
}

func (t *teller) tell(name string, data any, text string) {
	e := t.base
	e.Name, e.Status, e.Data, e.Text = name, t.status, data, text
	t.out = append(t.out, e)
}

func (t *teller) moved(to signoff.Status, reason string) {
	if to == "" || to == t.status {
		return
	}
	data := map[string]any{"status": to, "previous": t.status}
	if reason != "" {
		data["reason"] = reason
	}
	t.status = to
	t.tell(signoff.HookDeploymentStatus, data, "is now "+strings.ToLower(to.Label())+statusSuffix(to, reason))
}

func (t *teller) created(e *signoff.DeploymentCreateEvent) {
	t.status = signoff.StatusDraft
	a := e.After
	t.tell(signoff.HookDeploymentCreated, map[string]any{"template": a.Template, "template_title": a.TemplateTitle,
		"template_version": a.TemplateVersion, "planned_at": nullString(a.PlannedAt)},
		"was created by "+t.actor.Name)
}

func (t *teller) signed(e *signoff.SignoffSignEvent) {
	a := e.After
	t.tell(signoff.HookSignoffSigned, map[string]any{"slot": a.Slot, "role": a.Role, "signer_id": a.SignerID,
		"printed_name": a.PrintedName, "meaning": a.Meaning,
		"checklist_sha256": a.ChecklistSHA256, "final": a.Locked},
		"was signed off by "+a.PrintedName+" as "+a.Role)
	t.moved(a.Status, "")
}

func (t *teller) revoked(slot signoff.Target, e *signoff.SignoffRevokeEvent) {
	b, a := e.Before, e.After
	t.tell(signoff.HookSignoffRevoked, map[string]any{"slot": slot.Position(), "role": b.Role, "printed_name": b.PrintedName,
		"signature_id": b.Signature, "reason": a.Reason},
		"lost its "+b.Role+" sign-off ("+b.PrintedName+"), revoked by "+t.actor.Name+": "+a.Reason)
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
