package audit

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"github.com/signoff/signoff/internal/signoff"
)

// checkRecord compares every field of the record that the events can back
// with what replaying them gives, in the order of the file, and names the
// first that differs. The fields the events cannot back are the template's
// texts (the title of each item's phase and section, its text and whether
// it is conditional) and each slot's group, and, for a slot never signed,
// whether it is the final approval: they come from the template version,
// whose import is on the system chain, not in this file. The signature
// over the file covers them, as it covers every byte.
func checkRecord(doc *Document, r *replay) error {
	c := &recordCheck{}
	d := &doc.Deployment
	c.eq("deployment.service", "", d.Service, r.create.Service)
	c.eq("deployment.environment", "", d.Environment, r.create.Environment)
	c.eq("deployment.version", "", d.Version, r.create.Version)
	c.eq("deployment.status", "", d.Status, r.status)
	c.eq("deployment.planned_at", "", d.PlannedAt, r.plannedAt)
	c.eq("deployment.created_at", "", d.CreatedAt, r.createdAt)
	c.eq("deployment.created_by", "", d.CreatedBy, r.createdBy)
	c.eq("deployment.went_live_at", "", d.WentLiveAt, r.wentLiveAt)
	c.eq("deployment.completed_at", "", d.CompletedAt, r.completedAt)
	c.eq("deployment.aborted_at", "", d.AbortedAt, r.abortedAt)
	c.eq("deployment.locked_at", "", d.LockedAt, r.lockedAt)
	c.eq("deployment.checklist_rev", "", d.ChecklistRev, r.rev)
	c.eq("template.slug", "", doc.Template.Slug, r.create.Template)
	c.eq("template.title", "", doc.Template.Title, r.create.TemplateTitle)
	c.eq("template.version", "", doc.Template.Version, r.create.TemplateVersion)

	if c.count("items", len(doc.Items), len(r.items)) {
		cl := signoff.NewChecklist(nil, r.items, nil)
		for i := range doc.Items {
			got, want, v := &doc.Items[i], &r.items[i], &r.itemViews[i]
			f, about := "items["+strconv.Itoa(i)+"].", "item "+want.Path
			c.eq(f+"path", about, got.Path, want.Path)
			c.eq(f+"parent", about, got.Parent, want.ParentPath)
			c.eq(f+"level", about, got.Level, want.Level)
			c.eq(f+"has_children", about, got.HasChildren, want.HasChildren)
			c.eq(f+"state", about, got.State, string(want.State))
			c.eq(f+"na_reason", about, got.NAReason, want.NAReason)
			c.eq(f+"effective", about, got.Effective, string(cl.Effective(want)))
			c.eq(f+"state_by", about, got.StateBy, v.stateBy)
			c.eq(f+"state_at", about, got.StateAt, v.stateAt)
			c.eq(f+"evidence", about, got.Evidence, v.evidence)
			if c.count(f+"history", len(got.History), len(v.history)) {
				for j := range got.History {
					c.eq(f+"history["+strconv.Itoa(j)+"]", about, got.History[j], v.history[j])
				}
			}
		}
	}

	if c.count("notes", len(doc.Notes), len(r.notes)) {
		for i := range doc.Notes {
			got, want, v := &doc.Notes[i], &r.notes[i], &r.noteViews[i]
			f, about := "notes["+strconv.Itoa(i)+"].", want.Name
			c.eq(f+"position", about, got.Position, want.Position)
			c.eq(f+"name", about, got.Name, want.Name)
			c.eq(f+"value", about, got.Value, want.Value)
			c.eq(f+"updated_by", about, got.UpdatedBy, v.updatedBy)
			c.eq(f+"updated_at", about, got.UpdatedAt, v.updatedAt)
			if c.count(f+"history", len(got.History), len(v.history)) {
				for j := range got.History {
					c.eq(f+"history["+strconv.Itoa(j)+"]", about, got.History[j], v.history[j])
				}
			}
		}
	}

	// A slot that was ever signed is the final approval exactly when its
	// signature completed and locked the deployment.
	final := map[int]bool{}
	for _, s := range r.sigs {
		final[s.so.Slot] = s.locked
	}
	if c.count("slots", len(doc.Slots), len(r.create.Slots)) {
		for i := range doc.Slots {
			got, role := &doc.Slots[i], r.create.Slots[i]
			f, about := "slots["+strconv.Itoa(i)+"].", role
			state, seq := string(signoff.SlotUnsigned), (*int64)(nil)
			if k := r.standing[i]; k >= 0 {
				state, seq = string(signoff.SlotSigned), &r.sigs[k].so.AuditSeq
				if r.sigs[k].so.Status == "stale" {
					state = string(signoff.SlotStale)
				}
			}
			c.eq(f+"position", about, got.Position, i+1)
			c.eq(f+"role", about, got.Role, role)
			if want, ok := final[i+1]; ok {
				c.eq(f+"final", about, got.Final, want)
			}
			c.eq(f+"state", about, got.State, state)
			c.eq(f+"signoff_seq", about, got.SignoffSeq, seq)
		}
	}

	for i := range doc.Signoffs {
		got := &doc.Signoffs[i]
		f := "signoffs[" + strconv.Itoa(i) + "]"
		if i >= len(r.sigs) {
			c.fail("%s (slot %d, %s, %s) points at event %d, but the chain has only %d signoff.sign events",
				f, got.Slot, got.Role, got.PrintedName, got.AuditSeq, len(r.sigs))
			break
		}
		want := &r.sigs[i].so
		f += "."
		about := fmt.Sprintf("slot %d, %s, %s", want.Slot, want.Role, want.PrintedName)
		c.eq(f+"audit_seq", about, got.AuditSeq, want.AuditSeq)
		c.eq(f+"slot", about, got.Slot, want.Slot)
		c.eq(f+"role", about, got.Role, want.Role)
		c.eq(f+"signer_id", about, got.SignerID, want.SignerID)
		c.eq(f+"printed_name", about, got.PrintedName, want.PrintedName)
		c.eq(f+"signed_at", about, got.SignedAt, want.SignedAt)
		c.eq(f+"meaning", about, got.Meaning, want.Meaning)
		c.eq(f+"checklist_sha256", about, got.ChecklistSHA256, want.ChecklistSHA256)
		c.eq(f+"checklist_rev", about, got.ChecklistRev, want.ChecklistRev)
		c.eq(f+"multiple_slots_allowed", about, got.MultipleSlotsAllowed, want.MultipleSlotsAllowed)
		c.eq(f+"status", about, got.Status, want.Status)
		c.eq(f+"ended_at", about, got.EndedAt, want.EndedAt)
		c.eq(f+"ended_by", about, got.EndedBy, want.EndedBy)
		c.eq(f+"end_reason", about, got.EndReason, want.EndReason)
	}
	if n := len(doc.Signoffs); n < len(r.sigs) {
		c.fail("the record lists %d sign-offs, but the chain has %d signoff.sign events: event %d is not listed",
			n, len(r.sigs), r.sigs[n].so.AuditSeq)
	}

	if c.count("rejections", len(doc.Rejections), len(r.rejections)) {
		for i := range doc.Rejections {
			c.eq("rejections["+strconv.Itoa(i)+"]", "on slot "+strconv.Itoa(r.rejections[i].Slot), doc.Rejections[i], r.rejections[i])
		}
	}
	if c.count("comments", len(doc.Comments), len(r.comments)) {
		for i := range doc.Comments {
			c.eq("comments["+strconv.Itoa(i)+"]", "on item "+r.comments[i].Item, doc.Comments[i], r.comments[i])
		}
	}
	return c.err
}

// recordCheck keeps the first difference between the record and the
// replay.
type recordCheck struct{ err error }

// eq records a difference unless got and want are equal (pointers compare
// by what they point at; nil is null).
func (c *recordCheck) eq(field, about string, got, want any) {
	if c.err != nil || reflect.DeepEqual(got, want) {
		return
	}
	if about != "" {
		field += " (" + about + ")"
	}
	c.fail("%s is %s in the record, but replaying the events gives %s", field, show(got), show(want))
}

// count records a difference in the length of a list, and reports whether
// the lists can be compared entry by entry.
func (c *recordCheck) count(field string, got, want int) bool {
	if c.err == nil && got != want {
		c.fail("the record lists %d %s, but replaying the events gives %d", got, field, want)
	}
	return c.err == nil
}

func (c *recordCheck) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fail(0, format, args...)
	}
}

// show writes a value as JSON (null for nil), cut short when long, so the
// message stays one readable line.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if r := []rune(string(b)); len(r) > 120 {
		return string(r[:117]) + "…"
	}
	return string(b)
}
