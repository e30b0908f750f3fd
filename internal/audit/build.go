package audit

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// JSON is the signed JSON export of a deployment's record.
func JSON(rec *signoff.Record, s *Signer, now time.Time) ([]byte, error) {
	doc, err := Build(rec, now)
	if err != nil {
		return nil, err
	}
	return Seal(doc, s, ts(now))
}

// Build assembles the export document (without its checkpoint) from a
// record.
func Build(rec *signoff.Record, now time.Time) (*Document, error) {
	d, cl := rec.Deployment, rec.Checklist
	doc := &Document{
		Format: Format, Version: Version, ExportedAt: ts(now),
		Deployment: Deployment{
			ID: d.ID, Service: d.Service, Environment: d.Environment, Version: d.Version,
			Status: string(d.Status), PlannedAt: tsp(d.PlannedAt), CreatedAt: ts(d.CreatedAt),
			CreatedBy: person(d.CreatedBy), WentLiveAt: tsp(d.WentLiveAt), CompletedAt: tsp(d.CompletedAt),
			AbortedAt: tsp(d.AbortedAt), LockedAt: tsp(d.LockedAt), ChecklistRev: d.ChecklistRev,
		},
		Items: make([]Item, 0, len(cl.Items)), Notes: make([]Note, 0, len(cl.Notes)),
		Slots: make([]Slot, 0, len(rec.Slots)), Signoffs: make([]Signoff, 0, len(rec.Signatures)),
		Comments: make([]Comment, 0, len(rec.Comments)), Events: make([]Event, 0, len(rec.Events)),
	}
	if t := cl.Template; t != nil {
		doc.Template = Template{Slug: t.Slug, Title: t.Title, Version: t.Version, AllowMultipleSlots: t.AllowMultipleSlots}
	}

	itemAt := make(map[string]int, len(cl.Items))
	for i := range cl.Items {
		it := &cl.Items[i]
		itemAt[it.Path] = i
		phase, section := sectionTitles(cl.Template, it)
		item := Item{
			Path: it.Path, Parent: it.ParentPath, Phase: phase, Section: section, Level: it.Level,
			Text: it.Text, Conditional: it.Conditional, HasChildren: it.HasChildren,
			State: string(it.State), Effective: string(cl.Effective(it)), NAReason: it.NAReason,
			StateAt: tsp(it.StateAt), Evidence: it.Evidence, History: []ItemChange{},
		}
		if it.StateBy != nil {
			p := person(*it.StateBy)
			item.StateBy = &p
		}
		doc.Items = append(doc.Items, item)
	}
	for _, n := range cl.Notes {
		note := Note{Position: n.Position, Name: n.Name, Value: n.Value, UpdatedAt: tsp(n.UpdatedAt), History: []NoteChange{}}
		if n.UpdatedBy != nil {
			p := person(*n.UpdatedBy)
			note.UpdatedBy = &p
		}
		doc.Notes = append(doc.Notes, note)
	}

	for _, e := range rec.Events {
		var p signoff.EventPayload
		if err := json.Unmarshal([]byte(e.Payload), &p); err != nil {
			return nil, fmt.Errorf("event %d of deployment %d: payload: %w", e.Seq, d.ID, err)
		}
		doc.Events = append(doc.Events, Event{
			Seq: e.Seq, At: p.At, Actor: Actor{ID: p.Actor.ID, Name: p.Actor.Name, Via: p.Actor.Via},
			Action: p.Action, Target: p.Target, Payload: e.Payload,
			PrevSHA256: hex.EncodeToString(e.PrevHash), SHA256: hex.EncodeToString(e.Hash),
		})
		who := Person{ID: p.Actor.ID, Name: p.Actor.Name}
		switch p.Action {
		case signoff.ActItemState:
			var a itemStateAfter
			if err := json.Unmarshal(p.After, &a); err != nil {
				return nil, fmt.Errorf("event %d of deployment %d: %w", e.Seq, d.ID, err)
			}
			paths := a.Items
			if len(paths) == 0 {
				paths = []string{strings.TrimPrefix(p.Target, "item/")}
			}
			for _, path := range paths {
				if i, ok := itemAt[path]; ok {
					doc.Items[i].History = append(doc.Items[i].History,
						ItemChange{Seq: e.Seq, At: p.At, Actor: who, State: a.State, NAReason: a.NAReason})
				}
			}
		case signoff.ActNoteEdit:
			var a noteAfter
			if err := json.Unmarshal(p.After, &a); err != nil {
				return nil, fmt.Errorf("event %d of deployment %d: %w", e.Seq, d.ID, err)
			}
			for i := range doc.Notes {
				if "note/"+strconv.Itoa(doc.Notes[i].Position) == p.Target {
					doc.Notes[i].History = append(doc.Notes[i].History, NoteChange{Seq: e.Seq, At: p.At, Actor: who, Value: a.Value})
				}
			}
		}
	}

	standing := map[int64]bool{}
	for _, s := range rec.Slots {
		slot := Slot{Position: s.Position, Group: s.Group, Role: s.Role, Final: s.Final, State: string(s.State(d.ChecklistRev))}
		if s.Signature != nil {
			seq := s.Signature.AuditSeq
			slot.SignoffSeq = &seq
			standing[s.Signature.ID] = true
		}
		doc.Slots = append(doc.Slots, slot)
	}
	for _, s := range rec.Signatures {
		so := Signoff{
			Slot: s.Slot, Role: s.Role, SignerID: s.Signer.ID, PrintedName: s.Signer.Name,
			SignedAt: ts(s.SignedAt), Meaning: s.Meaning, ChecklistSHA256: hex.EncodeToString(s.ChecklistHash),
			ChecklistRev: s.ChecklistRev, AuditSeq: s.AuditSeq, EndedAt: tsp(s.EndedAt), EndReason: s.EndReason,
		}
		switch {
		case s.EndedAt == nil && s.ChecklistRev < d.ChecklistRev:
			so.Status = "stale"
		case s.EndedAt == nil:
			so.Status = "standing"
		case s.EndReason == "superseded":
			so.Status = "superseded"
		default:
			so.Status = "revoked"
		}
		if s.EndedBy != nil {
			p := person(*s.EndedBy)
			so.EndedBy = &p
		}
		doc.Signoffs = append(doc.Signoffs, so)
	}
	for _, c := range rec.Comments {
		doc.Comments = append(doc.Comments, Comment{Item: c.ItemPath, At: ts(c.CreatedAt), Author: person(c.Author), Body: c.Body})
	}
	return doc, nil
}

// sectionTitles names an item's phase and section from the template.
func sectionTitles(t *signoff.Template, it *signoff.Item) (phase, section string) {
	if t == nil || it.Phase < 1 || it.Phase > len(t.Phases) {
		return "", ""
	}
	ph := t.Phases[it.Phase-1]
	if it.Section >= 1 && it.Section <= len(ph.Sections) {
		section = ph.Sections[it.Section-1].Title
	}
	return ph.Title, section
}

func person(u signoff.UserRef) Person { return Person{ID: u.ID, Name: u.Name} }

// ts writes a time as event payloads do.
func ts(t time.Time) string { return t.UTC().Format(signoff.TimeFormat) }

func tsp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ts(*t)
	return &s
}
