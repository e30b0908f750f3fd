package audit

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// replay rebuilds, from a deployment's events alone, everything in the
// record that the events can back: the header, the items and notes with
// who changed them when, the sign-offs and what became of them, the slots
// and the comments. Verify compares the record with it; Build takes from it
// what the database does not keep (names as they were, how signatures
// ended).
type replay struct {
	deploymentID int64
	create       signoff.DeploymentCreateAfter
	plannedAt    *string // create.PlannedAt as the file writes times, or nil
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
	parsed []*signoff.DecodedEvent

	// items and notes are the checklist state a signature attests to.
	items     []signoff.Item
	itemViews []itemView
	index     map[string]int
	notes     []signoff.Note
	noteViews []noteView

	// gates, per slot, how many items a gate's signature attests to (0:
	// the whole checklist), from the deployment.create event; changed,
	// per item, the seq of the last event that changed it.
	gates   []int
	changed []int64

	sigs     []sigView
	bySeq    map[int64]int // signoff.sign seq → index in sigs
	standing []int         // by slot position - 1: index in sigs, or -1
	comments []Comment

	rejections []Rejection
	rejecting  []int // by slot position - 1: index in rejections of the standing one, or -1
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

func newReplay(deploymentID int64, create *signoff.DecodedEvent) (*replay, error) {
	c, ok := create.Body.(*signoff.DeploymentCreateEvent)
	if !ok {
		return nil, fmt.Errorf("the first event is %s, not %s", create.Action, signoff.ActDeploymentCreate)
	}
	a := c.After
	r := &replay{deploymentID: deploymentID, create: a, createdAt: create.At,
		createdBy: Person{ID: create.Actor.ID, Name: create.Actor.Name},
		status:    string(signoff.StatusDraft), index: make(map[string]int, len(a.Items)),
		items: make([]signoff.Item, 0, len(a.Items)), itemViews: make([]itemView, len(a.Items)),
		noteViews: make([]noteView, len(a.Notes)), bySeq: map[int64]int{}, standing: make([]int, len(a.Slots))}
	if a.PlannedAt != "" {
		t, err := time.Parse(time.RFC3339, a.PlannedAt)
		if err != nil {
			return nil, fmt.Errorf("the deployment.create event's planned_at %q is not an RFC 3339 time", a.PlannedAt)
		}
		r.plannedAt = tsp(&t)
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
	r.rejecting = make([]int, len(a.Slots))
	for i := range r.standing {
		r.standing[i], r.rejecting[i] = -1, -1
	}
	if a.Gates != nil {
		if len(a.Gates) != len(a.Slots) {
			return nil, fmt.Errorf("the deployment.create event gives %d gates for %d slots", len(a.Gates), len(a.Slots))
		}
		for i, g := range a.Gates {
			if g < 0 || g >= len(a.Items) {
				return nil, fmt.Errorf("the deployment.create event says slot %d attests to %d items of %d", i+1, g, len(a.Items))
			}
		}
		r.gates, r.changed = a.Gates, make([]int64, len(a.Items))
	}
	return r, nil
}

// stale reports whether the standing signature sigs[k] is stale: the
// checklist changed after it, or, for a gate's, an item above the gate.
func (r *replay) stale(k int) bool {
	so := &r.sigs[k].so
	if r.gates != nil && r.gates[so.Slot-1] > 0 {
		for _, seq := range r.changed[:r.gates[so.Slot-1]] {
			if seq > so.AuditSeq {
				return true
			}
		}
		return false
	}
	return so.ChecklistRev < r.rev
}

// actorRef is who an event names, as the database refers to them: nobody
// (null) for the system actor.
func actorRef(p *signoff.DecodedEvent) *Person {
	if p.Actor.ID == 0 {
		return nil
	}
	return &Person{ID: p.Actor.ID, Name: p.Actor.Name}
}

// who is the person an event names, as the record lists them.
func who(p *signoff.DecodedEvent) Person { return Person{ID: p.Actor.ID, Name: p.Actor.Name} }

// apply changes the state by one event, refusing events that could not
// have happened: a kind of event a deployment's chain does not hold,
// targets the deployment does not have, a change after the deployment was
// locked or aborted, a status change from a status it did not have, a
// signature whose checklist hash or revision is not the state the events
// before it give. Each kind of event has its method.
func (r *replay) apply(p *signoff.DecodedEvent) error {
	if r.closedBy != 0 {
		return fmt.Errorf("%s after event %d %s the deployment: nothing may change it then", p.Action, r.closedBy, r.closed)
	}
	switch e := p.Body.(type) {
	case *signoff.DeploymentStatusEvent:
		return r.moveStatus(p, e)
	case *signoff.ItemStateEvent:
		return r.itemState(p, e)
	case *signoff.ItemCommentEvent:
		return r.comment(p, e)
	case *signoff.ItemEvidenceEvent:
		return r.evidence(p, e)
	case *signoff.ItemFileEvent:
		return r.file(p, e)
	case *signoff.ItemAssignEvent:
		return r.assign(p, e)
	case *signoff.NoteEditEvent:
		return r.note(p, e)
	case *signoff.SignoffSignEvent:
		return r.sign(p, e)
	case *signoff.SignoffRevokeEvent:
		return r.revoke(p, e)
	case *signoff.SignoffRejectEvent:
		return r.reject(p, e)
	case *signoff.SignoffWithdrawEvent:
		return r.withdraw(p, e)
	}
	return fmt.Errorf("a %s event has no place after a deployment's first event", p.Action)
}

// moveStatus records a status change asked for by a person.
func (r *replay) moveStatus(p *signoff.DecodedEvent, e *signoff.DeploymentStatusEvent) error {
	if string(e.Before.Status) != r.status {
		return fmt.Errorf("deployment.status from %q, but the events before it leave the deployment %q", e.Before.Status, r.status)
	}
	d := signoff.Deployment{Status: e.Before.Status}
	if err := d.CanMoveTo(e.After.Status); err != nil {
		return fmt.Errorf("deployment.status from %q to %q, which is not a move a deployment can make", e.Before.Status, e.After.Status)
	}
	if (e.After.Status == signoff.StatusAborted) != (e.After.Reason != "") {
		return fmt.Errorf("deployment.status to %q with reason %q: an abort, and only an abort, gives a reason", e.After.Status, e.After.Reason)
	}
	at := p.At
	switch e.After.Status {
	case signoff.StatusInProgress:
	case signoff.StatusLive:
		r.wentLiveAt = &at
	case signoff.StatusAborted:
		r.abortedAt, r.closedBy, r.closed = &at, p.Seq, "aborted"
	default:
		return fmt.Errorf("deployment.status to %q, which no person can ask for", e.After.Status)
	}
	r.status = string(e.After.Status)
	return nil
}

// itemState records a tick, an untick or an N/A on every leaf it changed.
func (r *replay) itemState(p *signoff.DecodedEvent, e *signoff.ItemStateEvent) error {
	a := e.After
	if !a.State.Valid() {
		return fmt.Errorf("item.state to unknown state %q", a.State)
	}
	if (a.State == signoff.ItemNA) != (a.NAReason != "") {
		return fmt.Errorf("item.state to %q with N/A reason %q: N/A, and only N/A, needs a reason", a.State, a.NAReason)
	}
	if err := r.checkItemBefore(p, e); err != nil {
		return err
	}
	at := p.At
	for _, path := range e.Leaves(p.Target) {
		i := r.index[path] // checked by checkItemBefore
		r.items[i].State, r.items[i].NAReason = a.State, a.NAReason
		v := &r.itemViews[i]
		v.stateBy, v.stateAt = actorRef(p), &at
		if r.changed != nil {
			r.changed[i] = p.Seq
		}
		v.history = append(v.history, ItemChange{Seq: p.Seq, At: at, Actor: who(p), State: string(a.State), NAReason: a.NAReason})
	}
	r.rev++
	if r.status == string(signoff.StatusDraft) {
		r.status = string(signoff.StatusInProgress) // the first change starts the deployment
	}
	return nil
}

// checkItemBefore checks an item.state event against the items as the
// events before it leave them: a tick, untick or N/A of one leaf names
// the state it changes (its before) and changes it; an N/A on a parent
// (its leaves in after.items) has before {"open", ""} and closes only
// open leaves below the parent.
func (r *replay) checkItemBefore(p *signoff.DecodedEvent, e *signoff.ItemStateEvent) error {
	t, ok := r.index[p.Target.Path]
	if !ok {
		return fmt.Errorf("item.state on %s, which the deployment does not have", p.Target)
	}
	if len(e.After.Items) == 0 {
		it := r.items[t]
		switch {
		case it.HasChildren:
			return fmt.Errorf("item.state on %s, a parent, without the leaves it changed", p.Target)
		case e.Before.Items != nil || e.Before.State != it.State || e.Before.NAReason != it.NAReason:
			return fmt.Errorf("item.state on %s says it was %q (%q), but the events before it leave it %q (%q)",
				p.Target, e.Before.State, e.Before.NAReason, it.State, it.NAReason)
		case e.After.State == it.State && e.After.NAReason == it.NAReason:
			return fmt.Errorf("item.state on %s changes nothing", p.Target)
		}
		return nil
	}
	if !r.items[t].HasChildren || e.After.State != signoff.ItemNA ||
		e.Before.State != signoff.ItemOpen || e.Before.NAReason != "" || e.Before.Items != nil {
		return fmt.Errorf("item.state on %s lists leaves, which only an N/A on a parent (before: open) does", p.Target)
	}
	for _, path := range e.After.Items {
		i, ok := r.index[path]
		if !ok || !strings.HasPrefix(path, p.Target.Path+".") || r.items[i].HasChildren || r.items[i].State != signoff.ItemOpen {
			return fmt.Errorf("item.state on %s closes %s, which is not an open leaf below it", p.Target, path)
		}
	}
	return nil
}

// item is the index of the item an event's target names.
func (r *replay) item(p *signoff.DecodedEvent) (int, error) {
	i, ok := r.index[p.Target.Path]
	if !ok {
		return 0, fmt.Errorf("%s on %q, which the deployment does not have", p.Action, p.Target)
	}
	return i, nil
}

// comment records a comment on an item.
func (r *replay) comment(p *signoff.DecodedEvent, e *signoff.ItemCommentEvent) error {
	if _, err := r.item(p); err != nil {
		return err
	}
	if e.After.Body == "" {
		return fmt.Errorf("item.comment on %s is empty", p.Target)
	}
	a := e.After
	if a.File != 0 || a.Name != "" || a.ContentType != "" || a.SHA256 != "" || a.Size != 0 {
		if err := checkFile(p, signoff.ItemFileAfter{ContentType: a.ContentType, File: a.File, Name: a.Name, SHA256: a.SHA256, Size: a.Size}); err != nil {
			return err
		}
	}
	r.comments = append(r.comments, Comment{Item: p.Target.Path, At: p.At, Author: who(p), Body: e.After.Body})
	return nil
}

// evidence records an item's evidence.
func (r *replay) evidence(p *signoff.DecodedEvent, e *signoff.ItemEvidenceEvent) error {
	i, err := r.item(p)
	if err != nil {
		return err
	}
	if e.Before.Evidence != r.itemViews[i].evidence {
		return fmt.Errorf("item.evidence on %s replaces %q, but the events before it leave %q", p.Target, e.Before.Evidence, r.itemViews[i].evidence)
	}
	r.itemViews[i].evidence = e.After.Evidence
	return nil
}

// file records an evidence file attached to an item.
func (r *replay) file(p *signoff.DecodedEvent, e *signoff.ItemFileEvent) error {
	if _, err := r.item(p); err != nil {
		return err
	}
	return checkFile(p, e.After)
}

// checkFile holds a file's description to what the store writes: an id,
// a name, a type, a size within the limit and a SHA-256 in lowercase hex.
func checkFile(p *signoff.DecodedEvent, f signoff.ItemFileAfter) error {
	sum, err := hex.DecodeString(f.SHA256)
	switch {
	case f.File <= 0 || f.Name == "" || f.ContentType == "":
		return fmt.Errorf("%s on %s describes a file without an id, a name or a type", p.Action, p.Target)
	case f.Size <= 0 || f.Size > signoff.MaxFileBytes:
		return fmt.Errorf("%s on %s gives a file of %d bytes", p.Action, p.Target, f.Size)
	case err != nil || len(sum) != 32 || hex.EncodeToString(sum) != f.SHA256:
		return fmt.Errorf("%s on %s gives %q, not a SHA-256 in lowercase hex", p.Action, p.Target, f.SHA256)
	}
	return nil
}

// assign records an item's or a section's assignment: to a person or a
// role (with the name they had), or to nobody; a section's lists its items.
func (r *replay) assign(p *signoff.DecodedEvent, e *signoff.ItemAssignEvent) error {
	a := e.After
	switch {
	case a.User != 0 && a.Role != 0:
		return fmt.Errorf("item.assign on %s names a person and a role", p.Target)
	case (a.User != 0 || a.Role != 0) != (a.Name != ""):
		return fmt.Errorf("item.assign on %s: an assignee, and only an assignee, has a name", p.Target)
	}
	if p.Target.Kind == signoff.TargetItem {
		if len(a.Items) > 0 {
			return fmt.Errorf("item.assign on %s lists items, which only a section's does", p.Target)
		}
		_, err := r.item(p)
		return err
	}
	if len(a.Items) == 0 {
		return fmt.Errorf("item.assign on %s lists no items", p.Target)
	}
	last := -1
	for _, path := range a.Items {
		i, ok := r.index[path]
		if !ok || !strings.HasPrefix(path, p.Target.Path+".") || i <= last {
			return fmt.Errorf("item.assign on %s lists %s, which is not the section's next item", p.Target, path)
		}
		last = i
	}
	return nil
}

// note records a note field's edit.
func (r *replay) note(p *signoff.DecodedEvent, e *signoff.NoteEditEvent) error {
	pos := p.Target.Position()
	if pos > len(r.notes) {
		return fmt.Errorf("note.edit on %q, which the deployment does not have", p.Target)
	}
	n := r.notes[pos-1]
	if e.Before.Name != n.Name || e.After.Name != n.Name || e.Before.Value != n.Value {
		return fmt.Errorf("note.edit on %s says it changes %q of %q, but the events before it leave %q of %q",
			p.Target, e.Before.Value, e.Before.Name, n.Value, n.Name)
	}
	at := p.At
	r.notes[pos-1].Value = e.After.Value
	v := &r.noteViews[pos-1]
	v.updatedBy, v.updatedAt = actorRef(p), &at
	v.history = append(v.history, NoteChange{Seq: p.Seq, At: at, Actor: who(p), Value: e.After.Value})
	r.rev++
	return nil
}

// sign records a signature, after checking that it attests to the state
// the events before it give.
func (r *replay) sign(p *signoff.DecodedEvent, e *signoff.SignoffSignEvent) error {
	pos, err := r.slotOf(p)
	if err != nil {
		return err
	}
	a := e.After
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
	case a.Meaning != signoff.Meaning(a.Role):
		return fmt.Errorf("%s means %q, not %q", desc, a.Meaning, signoff.Meaning(a.Role))
	case p.Actor.ID == 0 || p.Actor.Via != "web":
		return fmt.Errorf("%s was given through %q by actor %d: a person signs, on the web", desc, p.Actor.Via, p.Actor.ID)
	}
	if err := r.checkReplaced(desc, pos, e.Before); err != nil {
		return err
	}
	if k := r.rejecting[pos-1]; k >= 0 {
		// A request for changes holds the slot for the one who made it:
		// their signature ends it; nobody else's may be given.
		rj := &r.rejections[k]
		if rj.UserID != a.SignerID {
			return fmt.Errorf("%s is given while %s's request for changes (event %d) stands on the slot", desc, rj.PrintedName, rj.AuditSeq)
		}
		rj.Status, rj.EndedAt = "signed", &p.At
		r.rejecting[pos-1] = -1
	}
	if k := r.standing[pos-1]; k >= 0 {
		// A new signature on a slot ends the one it replaces.
		so := &r.sigs[k].so
		so.Status, so.EndedAt, so.EndedBy, so.EndReason = "superseded", &p.At, actorRef(p), "superseded"
	}
	r.standing[pos-1] = len(r.sigs)
	r.bySeq[p.Seq] = len(r.sigs)
	r.sigs = append(r.sigs, sigView{signer: who(p), locked: a.Locked, so: Signoff{
		Slot: a.Slot, Role: a.Role, SignerID: a.SignerID, PrintedName: a.PrintedName, SignedAt: p.At,
		Meaning: a.Meaning, ChecklistSHA256: a.ChecklistSHA256, ChecklistRev: a.ChecklistRev,
		MultipleSlotsAllowed: a.MultipleSlots, AuditSeq: p.Seq, Status: "standing",
	}})
	if a.Locked {
		if a.Status != signoff.StatusCompleted {
			return fmt.Errorf("%s locked the deployment with status %q, not completed", desc, a.Status)
		}
		r.status, r.completedAt, r.lockedAt, r.closedBy, r.closed = string(a.Status), &p.At, &p.At, p.Seq, "locked"
	}
	return nil
}

// checkReplaced checks a signature's before: absent on a slot with no
// standing signature, else the stale signature it replaces (a standing
// signature that is not stale cannot be replaced).
func (r *replay) checkReplaced(desc string, pos int, before *signoff.SignoffSignBefore) error {
	k := r.standing[pos-1]
	if k < 0 {
		if before != nil {
			return fmt.Errorf("%s says it replaces a signature, but the slot has none standing", desc)
		}
		return nil
	}
	old := r.sigs[k].so
	switch {
	case !r.stale(k):
		return fmt.Errorf("%s is given over a standing signature that is not stale", desc)
	case before == nil || before.State != "stale" || before.SignerID != old.SignerID || before.PrintedName != old.PrintedName:
		return fmt.Errorf("%s does not name the stale signature it replaces (%d, %s)", desc, old.SignerID, old.PrintedName)
	}
	return nil
}

// revoke ends the standing signature of a slot.
func (r *replay) revoke(p *signoff.DecodedEvent, e *signoff.SignoffRevokeEvent) error {
	pos, err := r.slotOf(p)
	if err != nil {
		return err
	}
	k := r.standing[pos-1]
	if k < 0 {
		return fmt.Errorf("signoff.revoke on slot %d, which has no standing signature", pos)
	}
	if old := r.sigs[k].so; e.Before.PrintedName != old.PrintedName || e.Before.Role != old.Role || e.After.Reason == "" || !e.After.Revoked {
		return fmt.Errorf("signoff.revoke on slot %d names %s (%s), revoked %v with reason %q; the standing signature is %s (%s), and a revocation needs a reason",
			pos, e.Before.PrintedName, e.Before.Role, e.After.Revoked, e.After.Reason, old.PrintedName, old.Role)
	}
	at := p.At
	so := &r.sigs[k].so
	so.Status, so.EndedAt, so.EndedBy, so.EndReason = "revoked", &at, actorRef(p), e.After.Reason
	r.standing[pos-1] = -1
	return nil
}

// reject records a request for changes: a person refusing an unsigned
// slot, with a comment. One stands on a slot at a time.
func (r *replay) reject(p *signoff.DecodedEvent, e *signoff.SignoffRejectEvent) error {
	pos, err := r.slotOf(p)
	if err != nil {
		return err
	}
	a := e.After
	switch {
	case r.standing[pos-1] >= 0:
		return fmt.Errorf("signoff.reject on slot %d, which holds a signature", pos)
	case r.rejecting[pos-1] >= 0:
		return fmt.Errorf("signoff.reject on slot %d, which already holds a request for changes", pos)
	case a.Comment == "" || a.Role != r.create.Slots[pos-1]:
		return fmt.Errorf("signoff.reject on slot %d with comment %q for role %q: it needs a comment and the slot's role %q", pos, a.Comment, a.Role, r.create.Slots[pos-1])
	case p.Actor.ID == 0 || a.UserID != p.Actor.ID || a.PrintedName != p.Actor.Name:
		return fmt.Errorf("signoff.reject on slot %d names %d (%s), but the event's actor is %d (%s)", pos, a.UserID, a.PrintedName, p.Actor.ID, p.Actor.Name)
	}
	r.rejecting[pos-1] = len(r.rejections)
	r.rejections = append(r.rejections, Rejection{Slot: pos, Role: a.Role, UserID: a.UserID, PrintedName: a.PrintedName,
		Comment: a.Comment, At: p.At, AuditSeq: p.Seq, Status: "standing"})
	return nil
}

// withdraw ends a standing request for changes, by the one who made it.
func (r *replay) withdraw(p *signoff.DecodedEvent, e *signoff.SignoffWithdrawEvent) error {
	pos, err := r.slotOf(p)
	if err != nil {
		return err
	}
	k := r.rejecting[pos-1]
	if k < 0 {
		return fmt.Errorf("signoff.withdraw on slot %d, which holds no request for changes", pos)
	}
	rj := &r.rejections[k]
	b := e.Before
	if b.RejectedSeq != rj.AuditSeq || b.Comment != rj.Comment || b.PrintedName != rj.PrintedName || !e.After.Withdrawn || p.Actor.ID != rj.UserID {
		return fmt.Errorf("signoff.withdraw on slot %d by %d names request %d by %s; the standing one is event %d by %s (%d), which only they withdraw",
			pos, p.Actor.ID, b.RejectedSeq, b.PrintedName, rj.AuditSeq, rj.PrintedName, rj.UserID)
	}
	rj.Status, rj.EndedAt = "withdrawn", &p.At
	r.rejecting[pos-1] = -1
	return nil
}

// slotOf is the position of the slot an event's target names.
func (r *replay) slotOf(p *signoff.DecodedEvent) (int, error) {
	n := p.Target.Position()
	if n > len(r.standing) {
		return 0, fmt.Errorf("%s on %q, which the deployment does not have", p.Action, p.Target)
	}
	return n, nil
}

// finish marks the signatures that still stand but attest to an older
// checklist as stale.
func (r *replay) finish() {
	for _, k := range r.standing {
		if k >= 0 && r.stale(k) {
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

// signatureFate reports whether an action bears on what became of a
// signature: the signature events, and with gates the item changes (a
// gate's signature goes stale only by an item above it).
func signatureFate(action string, gates bool) bool {
	switch action {
	case signoff.ActSignoffSign, signoff.ActSignoffRevoke, signoff.ActSignoffReject, signoff.ActSignoffWithdraw:
		return true
	case signoff.ActItemState:
		return gates
	}
	return false
}

func replayRecord(deploymentID int64, events []signoff.Event, signaturesOnly bool) (*replay, error) {
	var r *replay
	for _, e := range events {
		if r != nil && signaturesOnly && !signatureFate(e.Action, r.gates != nil) {
			if e.Action == signoff.ActItemState || e.Action == signoff.ActNoteEdit {
				r.rev++
			}
			continue
		}
		p, err := signoff.DecodeEvent([]byte(e.Payload))
		switch {
		case err != nil:
		case r == nil:
			r, err = newReplay(deploymentID, p)
			if r != nil {
				r.signaturesOnly = signaturesOnly
				if !signaturesOnly {
					r.parsed = make([]*signoff.DecodedEvent, 0, len(events))
				}
			}
		default:
			err = r.apply(p)
		}
		if err == nil && !signaturesOnly {
			r.parsed = append(r.parsed, p)
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
