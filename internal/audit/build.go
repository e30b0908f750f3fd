package audit

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// JSON is the signed JSON export of a deployment's record.
func JSON(rec *signoff.Record, s *Signer, now time.Time) ([]byte, error) {
	r, _ := replayEvents(rec.Deployment.ID, rec.Events)
	return sealedJSON(rec, r, s, now)
}

// sealedJSON is JSON with the events replayed already.
func sealedJSON(rec *signoff.Record, r *replay, s *Signer, now time.Time) ([]byte, error) {
	doc, err := build(rec, r, now)
	if err != nil {
		return nil, err
	}
	return Seal(doc, s, ts(now))
}

// Build assembles the export document (without its checkpoint) from a
// record. The database gives the values; the events give what it does not
// keep: every change's history, names as they were when people acted (a
// person renamed since still appears under the name they signed with), and
// how each signature ended. Where the database and the events disagree,
// the database's value is exported and Verify names the difference.
func Build(rec *signoff.Record, now time.Time) (*Document, error) {
	// A chain that cannot be replayed still exports (the replay holds the
	// events before the bad one); Verify will name the bad event.
	r, _ := replayEvents(rec.Deployment.ID, rec.Events)
	return build(rec, r, now)
}

// build is Build with the events replayed already (nil when none could
// be).
func build(rec *signoff.Record, r *replay, now time.Time) (*Document, error) {
	d, cl := rec.Deployment, rec.Checklist
	if r == nil {
		r = &replay{}
	}
	doc := &Document{
		Format: Format, Version: Version, ExportedAt: ts(now),
		Deployment: Deployment{
			ID: d.ID, Service: d.Service, Environment: d.Environment, Version: d.Version,
			Status: string(d.Status), PlannedAt: tsp(truncSecond(d.PlannedAt)), CreatedAt: or(r.createdAt, ts(d.CreatedAt)),
			CreatedBy: named(d.CreatedBy, &r.createdBy), WentLiveAt: tsp(d.WentLiveAt), CompletedAt: tsp(d.CompletedAt),
			AbortedAt: tsp(d.AbortedAt), LockedAt: tsp(d.LockedAt), ChecklistRev: d.ChecklistRev,
		},
		Items: make([]Item, 0, len(cl.Items)), Notes: make([]Note, 0, len(cl.Notes)),
		Slots: make([]Slot, 0, len(rec.Slots)), Signoffs: make([]Signoff, 0, len(rec.Signatures)),
		Comments: make([]Comment, 0, len(rec.Comments)), Events: make([]Event, 0, len(rec.Events)),
	}
	if p := rec.Log; p != nil {
		doc.Log = &Log{Checkpoint: p.Checkpoint, LeafIndex: p.Index, InclusionProof: p.Proof.Strings(),
			ChainIndex: p.ChainIndex, ChainProof: p.ChainProof.Strings()}
	}
	if t := cl.Template; t != nil {
		doc.Template = Template{Slug: t.Slug, Title: t.Title, Version: t.Version}
	}
	if r.create.Template != "" {
		// The title the deployment.create event recorded: a template's
		// title may change with a later import.
		doc.Template.Title = r.create.TemplateTitle
	}

	for i := range cl.Items {
		it := &cl.Items[i]
		phase, section := sectionTitles(cl.Template, it)
		item := Item{
			Path: it.Path, Parent: it.ParentPath, Phase: phase, Section: section, Level: it.Level,
			Text: it.Text, Conditional: it.Conditional, HasChildren: it.HasChildren,
			State: string(it.State), Effective: string(cl.Effective(it)), NAReason: it.NAReason,
			StateAt: tsp(it.StateAt), Evidence: it.Evidence, History: []ItemChange{},
		}
		var chain *itemView
		if j, ok := r.index[it.Path]; ok {
			chain = &r.itemViews[j]
			item.History = chain.history
		}
		if it.StateBy != nil {
			p := named(*it.StateBy, nil)
			if chain != nil {
				p = named(*it.StateBy, chain.stateBy)
			}
			item.StateBy = &p
		}
		doc.Items = append(doc.Items, item)
	}
	for i, n := range cl.Notes {
		note := Note{Position: n.Position, Name: n.Name, Value: n.Value, UpdatedAt: tsp(n.UpdatedAt), History: []NoteChange{}}
		var chain *noteView
		if i < len(r.noteViews) && n.Position == i+1 {
			chain = &r.noteViews[i]
			note.History = chain.history
		}
		if n.UpdatedBy != nil {
			p := named(*n.UpdatedBy, nil)
			if chain != nil {
				p = named(*n.UpdatedBy, chain.updatedBy)
			}
			note.UpdatedBy = &p
		}
		doc.Notes = append(doc.Notes, note)
	}

	for i, e := range rec.Events {
		var p signoff.EventPayload
		if i < len(r.parsed) {
			p = r.parsed[i].EventPayload // read by the replay already
		} else {
			// From the event the replay could not read on, the envelope
			// is all the document needs, and it still exports them.
			var err error
			if p, err = signoff.DecodeEnvelope([]byte(e.Payload)); err != nil {
				return nil, fmt.Errorf("event %d of deployment %d: %w", e.Seq, d.ID, err)
			}
		}
		doc.Events = append(doc.Events, Event{
			Seq: e.Seq, At: p.At, Actor: Actor{ID: p.Actor.ID, Name: p.Actor.Name, Via: p.Actor.Via},
			Action: p.Action, Target: p.Target, Payload: e.Payload,
			PrevSHA256: hex.EncodeToString(e.PrevHash), SHA256: hex.EncodeToString(e.Hash),
		})
	}

	for _, s := range rec.Slots {
		slot := Slot{Position: s.Position, Group: s.Group, Role: s.Role, Final: s.Final, State: string(s.State(d.ChecklistRev))}
		if s.Signature != nil {
			seq := s.Signature.AuditSeq
			slot.SignoffSeq = &seq
		}
		doc.Slots = append(doc.Slots, slot)
	}
	for _, s := range rec.Signatures {
		so := Signoff{
			Slot: s.Slot, Role: s.Role, SignerID: s.Signer.ID, PrintedName: s.Signer.Name,
			SignedAt: ts(s.SignedAt), Meaning: s.Meaning, ChecklistSHA256: hex.EncodeToString(s.ChecklistHash),
			ChecklistRev: s.ChecklistRev, AuditSeq: s.AuditSeq, EndedAt: tsp(s.EndedAt), EndReason: s.EndReason,
			Status: signatureStatus(s, d.ChecklistRev),
		}
		var chain *sigView
		if k, ok := r.bySeq[s.AuditSeq]; ok {
			chain = &r.sigs[k]
			so.Status, so.MultipleSlotsAllowed = chain.so.Status, chain.so.MultipleSlotsAllowed
		}
		if s.EndedBy != nil {
			p := named(*s.EndedBy, nil)
			if chain != nil {
				p = named(*s.EndedBy, chain.so.EndedBy)
			}
			so.EndedBy = &p
		}
		doc.Signoffs = append(doc.Signoffs, so)
	}
	for _, c := range rec.Comments {
		doc.Comments = append(doc.Comments, Comment{Item: c.ItemPath, At: ts(c.CreatedAt), Author: person(c.Author), Body: c.Body})
	}
	// Requests for changes are what their events say (the table keeps
	// nothing the events do not).
	doc.Rejections = r.rejections
	return doc, nil
}

// signatureStatus is what the database alone says became of a signature;
// Build prefers the events' account, which tells a revocation from a
// replacement whatever reason was typed.
func signatureStatus(s signoff.Signature, checklistRev int64) string {
	switch {
	case s.EndedAt == nil && s.ChecklistRev < checklistRev:
		return "stale"
	case s.EndedAt == nil:
		return "standing"
	case s.EndReason == "superseded":
		return "superseded"
	}
	return "revoked"
}

// named is a person as the database refers to them, under the name the
// events recorded for them when they acted, if the events name the same
// person.
func named(db signoff.UserRef, chain *Person) Person {
	if chain != nil && chain.ID == db.ID {
		return *chain
	}
	return person(db)
}

// truncSecond drops the fraction of a second: the deployment.create event
// records the planned time to the second.
func truncSecond(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	s := t.Truncate(time.Second)
	return &s
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

// signatureFacts is what the events say of each signature, by the seq of
// its signoff.sign event: how it ended, who ended it (named as they were),
// and whether one person could sign several slots when it was given.
func signatureFacts(rec *signoff.Record) map[int64]Signoff {
	r, _ := replaySignatures(rec.Deployment.ID, rec.Events)
	return factsOf(r)
}

func factsOf(r *replay) map[int64]Signoff {
	out := map[int64]Signoff{}
	if r != nil {
		for _, s := range r.sigs {
			out[s.so.AuditSeq] = s.so
		}
	}
	return out
}
