package postgres

import (
	"encoding/hex"
	"strconv"
	"time"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/signoff"
)

// fillSim plays one deployment's life as the store would have recorded
// it: every event built by buildEvent, the function every write uses, in
// the order the people made the changes, and the rows those changes left.
// Nothing here touches the database; fillChunk copies what it made.
type fillSim struct {
	f      *filler
	id     int64
	chain  string
	seq    int64
	head   []byte
	at     time.Time
	rev    int64
	status signoff.Status

	items   []signoff.Item // the checklist state signatures attest to
	notes   []signoff.Note
	events  []signoff.Event
	signed  []fillSignature
	lived   *time.Time // went_live_at
	ended   *time.Time // completed_at and locked_at, or aborted_at
	created time.Time

	service, env, version string
}

type fillSignature struct {
	slot   signoff.SlotDef
	signer signoff.UserRef
	at     time.Time
	hash   []byte
	rev    int64
	seq    int64
}

func newFillSim(f *filler, id int64, created time.Time) *fillSim {
	s := &fillSim{f: f, id: id, chain: "deployment/" + strconv.FormatInt(id, 10),
		at: created.UTC().Truncate(time.Microsecond), status: signoff.StatusDraft}
	s.created = s.at
	s.items = make([]signoff.Item, len(f.flat))
	for i, it := range f.flat {
		s.items[i] = signoff.Item{Path: it.Path, ParentPath: it.ParentPath, HasChildren: it.HasChildren, State: signoff.ItemOpen}
	}
	s.notes = make([]signoff.Note, len(f.t.NoteFields))
	for i, n := range f.t.NoteFields {
		s.notes[i] = signoff.Note{Position: i + 1, Name: n.Name, Long: n.Long}
	}
	return s
}

// record appends one event, a few seconds after the one before.
func (s *fillSim) record(actor signoff.EventActor, target signoff.Target, body signoff.EventBody) error {
	if len(s.events) > 0 {
		s.at = s.at.Add(time.Duration(2+s.f.rand.IntN(40)) * time.Second)
	}
	ev, err := buildEvent(s.chain, s.seq+1, s.head, s.at, signoff.NewChange(actor, target, body))
	if err != nil {
		return err
	}
	ev.DeploymentID = s.id
	s.seq, s.head = ev.Seq, ev.Hash
	s.events = append(s.events, ev)
	return nil
}

func (s *fillSim) create(service, env, version string) error {
	s.service, s.env, s.version = service, env, version
	var paths []string
	for _, it := range s.f.flat {
		paths = append(paths, it.Path)
	}
	var notes, slots []string
	for _, n := range s.f.t.NoteFields {
		notes = append(notes, n.Name)
	}
	for _, sl := range s.f.slots {
		slots = append(slots, sl.Role)
	}
	return s.record(s.f.creator, signoff.DeploymentTarget(s.id), &signoff.DeploymentCreateEvent{After: signoff.DeploymentCreateAfter{
		Template: s.f.t.Slug, TemplateVersion: s.f.t.Version, TemplateTitle: s.f.t.Title,
		Service: service, Environment: env, Version: version,
		Items: paths, Notes: notes, Slots: slots,
	}})
}

// resolve settles the leaves in document order from the first open one
// until stop says to: conditional items N/A with a reason, the rest done,
// each by one of the people who tick, as the demo does.
func (s *fillSim) resolve(stop func(i int, it checklist.FlatItem) bool) error {
	for i, it := range s.f.flat {
		if it.HasChildren || s.items[i].State != signoff.ItemOpen {
			continue
		}
		if stop(i, it) {
			return nil
		}
		after := signoff.ItemStateAfter{State: signoff.ItemDone}
		if it.Conditional || it.ParentPath != "" && s.f.conditional[it.ParentPath] {
			after = signoff.ItemStateAfter{State: signoff.ItemNA, NAReason: "Not applicable to this release."}
		}
		who := s.f.tickers[s.f.rand.IntN(len(s.f.tickers))]
		if err := s.record(who, signoff.ItemTarget(it.Path), &signoff.ItemStateEvent{
			Before: signoff.ItemStateBefore{State: signoff.ItemOpen}, After: after}); err != nil {
			return err
		}
		if s.status == signoff.StatusDraft {
			s.status = signoff.StatusInProgress // the first change starts the deployment
		}
		at := s.at
		s.items[i].State, s.items[i].NAReason = after.State, after.NAReason
		s.items[i].StateBy, s.items[i].StateAt = &signoff.UserRef{ID: who.ID, Name: who.Name}, &at
		s.rev++
	}
	return nil
}

// untilTimed stops before the first task with a due time: the monitoring
// after go-live.
func untilTimed(_ int, it checklist.FlatItem) bool { return it.DueAfter > 0 }

func (s *fillSim) setStatus(to signoff.Status, reason string) error {
	err := s.record(s.f.creator, signoff.DeploymentTarget(s.id), &signoff.DeploymentStatusEvent{
		Before: signoff.DeploymentStatusBefore{Status: s.status},
		After:  signoff.DeploymentStatusAfter{Status: to, Reason: reason}})
	if err != nil {
		return err
	}
	s.status = to
	at := s.at
	switch to {
	case signoff.StatusLive:
		s.lived = &at
	case signoff.StatusAborted:
		s.ended = &at
	}
	return nil
}

func (s *fillSim) note(position int, value string) error {
	n := &s.notes[position-1]
	err := s.record(s.f.creator, signoff.NoteTarget(position), &signoff.NoteEditEvent{
		Before: signoff.NoteEditBefore{Name: n.Name, Value: n.Value},
		After:  signoff.NoteEditAfter{Name: n.Name, Value: value}})
	if err != nil {
		return err
	}
	at := s.at
	n.Value, n.UpdatedBy, n.UpdatedAt = value, &signoff.UserRef{ID: s.f.creator.ID, Name: s.f.creator.Name}, &at
	s.rev++
	return nil
}

// signAll signs every slot, the final approval last, each by its role's
// holder, bound to the checklist's state as Sign binds it.
func (s *fillSim) signAll() error {
	hash := signoff.NewChecklist(nil, s.items, s.notes).StateHash(s.id)
	for _, final := range []bool{false, true} {
		for k, sl := range s.f.slots {
			if s.f.final[k] != final || s.status == signoff.StatusCompleted {
				continue
			}
			who := s.f.signers[k]
			after := signoff.SignoffSignAfter{Slot: sl.Position, Role: sl.Role, SignerID: who.ID, PrintedName: who.Name,
				Meaning: signoff.Meaning(sl.Role), ChecklistSHA256: hex.EncodeToString(hash[:]), ChecklistRev: s.rev,
				SignedWith: &signoff.SignedWith{Method: signoff.SignedWithPassword}}
			if final {
				after.Status, after.Locked = signoff.StatusCompleted, true
			}
			if err := s.record(who, signoff.SlotTarget(sl.Position), &signoff.SignoffSignEvent{After: after}); err != nil {
				return err
			}
			s.signed = append(s.signed, fillSignature{slot: sl, signer: signoff.UserRef{ID: who.ID, Name: who.Name},
				at: s.at, hash: hash[:], rev: s.rev, seq: s.seq})
			if final {
				at := s.at
				s.status, s.ended = signoff.StatusCompleted, &at
			}
		}
	}
	return nil
}
