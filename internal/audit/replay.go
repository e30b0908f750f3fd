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

// The parts of event payloads that the replay reads (docs/audit.md lists
// them for re-implementers).
type (
	// createAfter is what a deployment.create event records about the new
	// deployment.
	createAfter struct {
		Template        string   `json:"template"`
		TemplateVersion int      `json:"template_version"`
		TemplateTitle   string   `json:"template_title"`
		Service         string   `json:"service"`
		Environment     string   `json:"environment"`
		Version         string   `json:"version"`
		PlannedAt       *string  `json:"planned_at"` // RFC 3339, to the second
		Items           []string `json:"items"`      // paths, document order
		Notes           []string `json:"notes"`      // note field names, positions 1, 2, …
		Slots           []string `json:"slots"`      // sign-off roles, positions 1, 2, …
	}
	// statusChange is a deployment.status event's before and after.
	statusChange struct {
		Status string `json:"status"`
	}
	// itemStateAfter is an item.state event's "after": the new state and,
	// for an N/A on a parent, the leaves it changed.
	itemStateAfter struct {
		State    string   `json:"state"`
		NAReason string   `json:"na_reason"`
		Items    []string `json:"items"`
	}
	commentAfter struct {
		Body string `json:"body"`
	}
	evidenceAfter struct {
		Evidence string `json:"evidence"`
	}
	// noteAfter is a note.edit event's "after".
	noteAfter struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	// signAfter is what a signoff.sign event records about the signature.
	signAfter struct {
		Slot            int    `json:"slot"`
		Role            string `json:"role"`
		SignerID        int64  `json:"signer_id"`
		PrintedName     string `json:"printed_name"`
		Meaning         string `json:"meaning"`
		ChecklistSHA256 string `json:"checklist_sha256"`
		ChecklistRev    int64  `json:"checklist_rev"`
		// MultipleSlots is present (true) when the template let one
		// person sign several slots at the time of this signature.
		MultipleSlots bool   `json:"multiple_slots_allowed"`
		Status        string `json:"status"` // "completed" when it was the final approval
		Locked        bool   `json:"locked"`
	}
	revokeAfter struct {
		Reason string `json:"reason"`
	}
)

// replay rebuilds, from a deployment's events alone, everything in the
// record that the events can back: the header, the items and notes with
// who changed them when, the sign-offs and what became of them, the slots
// and the comments. Verify compares the record with it; Build takes from it
// what the database does not keep (names as they were, how signatures
// ended).
type replay struct {
	deploymentID int64
	create       createAfter
	createdAt    string
	createdBy    Person

	status                                       string
	wentLiveAt, completedAt, abortedAt, lockedAt *string
	rev                                          int64  // item.state and note.edit events so far
	closedBy                                     int64  // the event that locked or aborted the deployment
	closed                                       string // "locked" or "aborted"
	// signaturesOnly: the items and notes are not replayed (see
	// replaySignatures).
	signaturesOnly bool
	// parsed holds the payloads replayRecord read, in order, for Build.
	parsed []signoff.EventPayload

	// items and notes are the checklist state a signature attests to.
	items     []signoff.Item
	itemViews []itemView
	index     map[string]int
	notes     []signoff.Note
	noteViews []noteView

	sigs     []sigView
	bySeq    map[int64]int // signoff.sign seq → index in sigs
	standing []int         // by slot position - 1: index in sigs, or -1
	comments []Comment
}

type itemView struct {
	stateBy  *Person
	stateAt  *string
	evidence string
	history  []ItemChange
}

type noteView struct {
	updatedBy *Person
	updatedAt *string
	history   []NoteChange
}

type sigView struct {
	so     Signoff // as the record must list it
	signer Person  // as the event names the signer
	locked bool    // this signature completed and locked the deployment
}

func newReplay(deploymentID int64, create *signoff.EventPayload) (*replay, error) {
	if create.Action != signoff.ActDeploymentCreate {
		return nil, fmt.Errorf("the first event is %s, not %s", create.Action, signoff.ActDeploymentCreate)
	}
	var a createAfter
	if err := json.Unmarshal(create.After, &a); err != nil {
		return nil, fmt.Errorf("the deployment.create event is unreadable: %v", err)
	}
	r := &replay{deploymentID: deploymentID, create: a, createdAt: create.At,
		createdBy: Person{ID: create.Actor.ID, Name: create.Actor.Name},
		status:    string(signoff.StatusDraft), index: make(map[string]int, len(a.Items)),
		items: make([]signoff.Item, 0, len(a.Items)), itemViews: make([]itemView, len(a.Items)),
		noteViews: make([]noteView, len(a.Notes)), bySeq: map[int64]int{}, standing: make([]int, len(a.Slots))}
	if a.PlannedAt != nil {
		t, err := time.Parse(time.RFC3339, *a.PlannedAt)
		if err != nil {
			return nil, fmt.Errorf("the deployment.create event's planned_at %q is not an RFC 3339 time", *a.PlannedAt)
		}
		r.create.PlannedAt = tsp(&t)
	}
	for i, p := range a.Items {
		if _, dup := r.index[p]; dup {
			return nil, fmt.Errorf("the deployment.create event lists item %s twice", p)
		}
		r.index[p] = i
		parent := ""
		if parts := strings.Split(p, "."); len(parts) > 3 {
			parent = strings.Join(parts[:len(parts)-1], ".")
		}
		r.items = append(r.items, signoff.Item{Path: p, ParentPath: parent, Level: strings.Count(p, ".") - 1, State: signoff.ItemOpen})
		r.itemViews[i].history = []ItemChange{}
	}
	for i := range r.items {
		if j, ok := r.index[r.items[i].ParentPath]; ok {
			r.items[j].HasChildren = true
		}
	}
	for i, name := range a.Notes {
		r.notes = append(r.notes, signoff.Note{Position: i + 1, Name: name})
		r.noteViews[i].history = []NoteChange{}
	}
	for i := range r.standing {
		r.standing[i] = -1
	}
	return r, nil
}

// actorRef is who an event names, as the database refers to them: nobody
// (null) for the system actor.
func actorRef(p *signoff.EventPayload) *Person {
	if p.Actor.ID == 0 {
		return nil
	}
	return &Person{ID: p.Actor.ID, Name: p.Actor.Name}
}

// apply changes the state by one event, refusing events that could not
// have happened: unknown actions and targets, a change after the
// deployment was locked or aborted, a status change from a status it did
// not have, a signature whose checklist hash or revision is not the state
// the events before it give.
func (r *replay) apply(p *signoff.EventPayload) error {
	if r.closedBy != 0 {
		return fmt.Errorf("%s after event %d %s the deployment: nothing may change it then", p.Action, r.closedBy, r.closed)
	}
	who := Person{ID: p.Actor.ID, Name: p.Actor.Name}
	at := p.At
	switch p.Action {
	case signoff.ActDeploymentStatus:
		var before, after statusChange
		if err := unmarshalBoth(p, &before, &after); err != nil {
			return err
		}
		if before.Status != r.status {
			return fmt.Errorf("deployment.status from %q, but the events before it leave the deployment %q", before.Status, r.status)
		}
		switch signoff.Status(after.Status) {
		case signoff.StatusInProgress:
		case signoff.StatusLive:
			r.wentLiveAt = &at
		case signoff.StatusAborted:
			r.abortedAt, r.closedBy, r.closed = &at, p.Seq, "aborted"
		default:
			return fmt.Errorf("deployment.status to %q, which no person can ask for", after.Status)
		}
		r.status = after.Status

	case signoff.ActItemState:
		var a itemStateAfter
		if err := json.Unmarshal(p.After, &a); err != nil {
			return fmt.Errorf("item.state payload unreadable: %v", err)
		}
		st := signoff.ItemState(a.State)
		if !st.Valid() {
			return fmt.Errorf("item.state to unknown state %q", a.State)
		}
		paths := a.Items
		if len(paths) == 0 {
			path, ok := strings.CutPrefix(p.Target, "item/")
			if !ok {
				return fmt.Errorf("item.state on %q, not an item", p.Target)
			}
			paths = []string{path}
		}
		for _, path := range paths {
			i, ok := r.index[path]
			if !ok {
				return fmt.Errorf("item.state on item %s, which the deployment does not have", path)
			}
			r.items[i].State, r.items[i].NAReason = st, a.NAReason
			v := &r.itemViews[i]
			v.stateBy, v.stateAt = actorRef(p), &at
			v.history = append(v.history, ItemChange{Seq: p.Seq, At: at, Actor: who, State: a.State, NAReason: a.NAReason})
		}
		r.rev++
		if r.status == string(signoff.StatusDraft) {
			r.status = string(signoff.StatusInProgress) // the first change starts the deployment
		}

	case signoff.ActItemComment, signoff.ActItemEvidence:
		path, ok := strings.CutPrefix(p.Target, "item/")
		i, known := r.index[path]
		if !ok || !known {
			return fmt.Errorf("%s on %q, which the deployment does not have", p.Action, p.Target)
		}
		if p.Action == signoff.ActItemComment {
			var a commentAfter
			if err := json.Unmarshal(p.After, &a); err != nil {
				return fmt.Errorf("item.comment payload unreadable: %v", err)
			}
			r.comments = append(r.comments, Comment{Item: path, At: at, Author: who, Body: a.Body})
		} else {
			var a evidenceAfter
			if err := json.Unmarshal(p.After, &a); err != nil {
				return fmt.Errorf("item.evidence payload unreadable: %v", err)
			}
			r.itemViews[i].evidence = a.Evidence
		}

	case signoff.ActNoteEdit:
		var a noteAfter
		if err := json.Unmarshal(p.After, &a); err != nil {
			return fmt.Errorf("note.edit payload unreadable: %v", err)
		}
		pos, err := strconv.Atoi(strings.TrimPrefix(p.Target, "note/"))
		if err != nil || pos < 1 || pos > len(r.notes) || !strings.HasPrefix(p.Target, "note/") {
			return fmt.Errorf("note.edit on %q, which the deployment does not have", p.Target)
		}
		r.notes[pos-1].Value = a.Value
		v := &r.noteViews[pos-1]
		v.updatedBy, v.updatedAt = actorRef(p), &at
		v.history = append(v.history, NoteChange{Seq: p.Seq, At: at, Actor: who, Value: a.Value})
		r.rev++

	case signoff.ActSignoffSign:
		return r.sign(p, who)

	case signoff.ActSignoffRevoke:
		pos, err := r.slotOf(p)
		if err != nil {
			return err
		}
		var a revokeAfter
		if err := json.Unmarshal(p.After, &a); err != nil {
			return fmt.Errorf("signoff.revoke payload unreadable: %v", err)
		}
		k := r.standing[pos-1]
		if k < 0 {
			return fmt.Errorf("signoff.revoke on slot %d, which has no standing signature", pos)
		}
		so := &r.sigs[k].so
		so.Status, so.EndedAt, so.EndedBy, so.EndReason = "revoked", &at, actorRef(p), a.Reason
		r.standing[pos-1] = -1

	default:
		return fmt.Errorf("unknown action %q", p.Action)
	}
	return nil
}

// sign records a signoff.sign event, after checking that it attests to the
// state the events before it give.
func (r *replay) sign(p *signoff.EventPayload, who Person) error {
	pos, err := r.slotOf(p)
	if err != nil {
		return err
	}
	var a signAfter
	if err := json.Unmarshal(p.After, &a); err != nil {
		return fmt.Errorf("signoff.sign payload unreadable: %v", err)
	}
	desc := fmt.Sprintf("the sign-off of slot %d (%s, %s)", a.Slot, a.Role, a.PrintedName)
	got := a.ChecklistSHA256
	if !r.signaturesOnly {
		sum := r.hash()
		got = hex.EncodeToString(sum[:])
	}
	switch {
	case got != a.ChecklistSHA256:
		return fmt.Errorf("%s claims checklist SHA-256 %s, but the events before it give a checklist state hashing to %s: the signature does not match what was signed",
			desc, a.ChecklistSHA256, got)
	case a.ChecklistRev != r.rev && !r.signaturesOnly:
		return fmt.Errorf("%s says checklist_rev %d, but the events before it changed the checklist %d times", desc, a.ChecklistRev, r.rev)
	case a.Slot != pos || a.Role != r.create.Slots[pos-1]:
		return fmt.Errorf("%s is on %s, whose role the deployment.create event says is %s", desc, p.Target, r.create.Slots[pos-1])
	case a.SignerID != p.Actor.ID || a.PrintedName != p.Actor.Name:
		return fmt.Errorf("%s names signer %d (%s), but the event's actor is %d (%s)", desc, a.SignerID, a.PrintedName, p.Actor.ID, p.Actor.Name)
	}
	if k := r.standing[pos-1]; k >= 0 {
		// A new signature on a slot ends the one it replaces.
		so := &r.sigs[k].so
		so.Status, so.EndedAt, so.EndedBy, so.EndReason = "superseded", &p.At, actorRef(p), "superseded"
	}
	r.standing[pos-1] = len(r.sigs)
	r.bySeq[p.Seq] = len(r.sigs)
	r.sigs = append(r.sigs, sigView{signer: who, locked: a.Locked, so: Signoff{
		Slot: a.Slot, Role: a.Role, SignerID: a.SignerID, PrintedName: a.PrintedName, SignedAt: p.At,
		Meaning: a.Meaning, ChecklistSHA256: a.ChecklistSHA256, ChecklistRev: a.ChecklistRev,
		MultipleSlotsAllowed: a.MultipleSlots, AuditSeq: p.Seq, Status: "standing",
	}})
	if a.Locked {
		if a.Status != string(signoff.StatusCompleted) {
			return fmt.Errorf("%s locked the deployment with status %q, not completed", desc, a.Status)
		}
		r.status, r.completedAt, r.lockedAt, r.closedBy, r.closed = a.Status, &p.At, &p.At, p.Seq, "locked"
	}
	return nil
}

// slotOf reads a "slot/<n>" target.
func (r *replay) slotOf(p *signoff.EventPayload) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(p.Target, "slot/"))
	if err != nil || n < 1 || n > len(r.standing) || !strings.HasPrefix(p.Target, "slot/") {
		return 0, fmt.Errorf("%s on %q, which the deployment does not have", p.Action, p.Target)
	}
	return n, nil
}

func unmarshalBoth(p *signoff.EventPayload, before, after any) error {
	if err := json.Unmarshal(p.Before, before); err != nil {
		return fmt.Errorf("%s payload unreadable: %v", p.Action, err)
	}
	if err := json.Unmarshal(p.After, after); err != nil {
		return fmt.Errorf("%s payload unreadable: %v", p.Action, err)
	}
	return nil
}

// finish marks the signatures that still stand but attest to an older
// checklist as stale.
func (r *replay) finish() {
	for _, k := range r.standing {
		if k >= 0 && r.sigs[k].so.ChecklistRev < r.rev {
			r.sigs[k].so.Status = "stale"
		}
	}
}

// hash is the SHA-256 of the current state in signoff.Checklist's canonical
// format: what a signature given now would attest to.
func (r *replay) hash() [32]byte {
	return signoff.NewChecklist(nil, r.items, r.notes).StateHash(r.deploymentID)
}

// replayEvents replays a record's events as Verify does (without checking
// the chain's hashes, which is Verify's part). When an event cannot be
// replayed it returns the error and, if the first event could be read, the
// state the events before the bad one give: Build still makes the export
// (and Verify will name the bad event), so an auditor gets the evidence.
func replayEvents(deploymentID int64, events []signoff.Event) (*replay, error) {
	return replayRecord(deploymentID, events, false)
}

// replaySignatures replays only what the signatures' fates need (how
// each ended, whether it went stale, the slot rule when it was given):
// the sign-off events are read, the others only counted. The PDF and
// Markdown exports use it; it trusts the record's events (Verify checks
// them).
func replaySignatures(deploymentID int64, events []signoff.Event) (*replay, error) {
	return replayRecord(deploymentID, events, true)
}

func replayRecord(deploymentID int64, events []signoff.Event, signaturesOnly bool) (*replay, error) {
	var r *replay
	for _, e := range events {
		if r != nil && signaturesOnly && e.Action != signoff.ActSignoffSign && e.Action != signoff.ActSignoffRevoke {
			if e.Action == signoff.ActItemState || e.Action == signoff.ActNoteEdit {
				r.rev++
			}
			continue
		}
		var p signoff.EventPayload
		err := json.Unmarshal([]byte(e.Payload), &p)
		if err == nil && r != nil && !signaturesOnly {
			r.parsed = append(r.parsed, p)
		}
		switch {
		case err != nil:
		case r == nil:
			r, err = newReplay(deploymentID, &p)
			if r != nil {
				r.signaturesOnly = signaturesOnly
				if !signaturesOnly {
					r.parsed = append(make([]signoff.EventPayload, 0, len(events)), p)
				}
			}
		default:
			err = r.apply(&p)
		}
		if err != nil {
			if r != nil {
				r.finish()
			}
			return r, fmt.Errorf("event %d of deployment %d: %w", e.Seq, deploymentID, err)
		}
	}
	if r == nil {
		return nil, fmt.Errorf("deployment %d has no events", deploymentID)
	}
	r.finish()
	return r, nil
}
