package audit

import (
	"strconv"
	"unicode/utf8"
)

// The RFC 8785 form of a Document, written directly: each type's members
// in their canonical order (every name is ASCII, so UTF-16 order is byte
// order), strings escaped as JCS escapes them, no reflection and no second
// pass to sort. It makes exactly the bytes encoding/json and jsontext's
// Canonicalize make together (TestCanonicalEncoderAgrees holds the two
// side by side), at a fraction of the cost: the record is most of a bulk
// export's JSON. An integer JCS would have to round (beyond ±2^53, none in
// practice) sends the whole value to the general path.

// jcs appends canonical JSON to b; big is set when an integer is out of
// the range a double holds exactly.
type jcs struct {
	b   []byte
	big bool
}

// maxExact is 2^53: every integer of smaller magnitude is written by
// ECMAScript as its decimal digits.
const maxExact = 1 << 53

func (e *jcs) raw(s string) { e.b = append(e.b, s...) }

func (e *jcs) int(v int64) {
	if v >= maxExact || v <= -maxExact {
		e.big = true
	}
	e.b = strconv.AppendInt(e.b, v, 10)
}

func (e *jcs) bool(v bool) {
	if v {
		e.raw("true")
	} else {
		e.raw("false")
	}
}

// jcsSafe marks the ASCII bytes a JCS string holds as they are.
var jcsSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// str writes s quoted: only ", \ and control characters escaped (the five
// with a short form as \b \t \n \f \r, the rest as \u00xx), everything
// else as it is; each byte of invalid UTF-8 becomes U+FFFD, as
// encoding/json replaces it.
func (e *jcs) str(s string) {
	b := append(e.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jcsSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\t':
				b = append(b, '\\', 't')
			case '\n':
				b = append(b, '\\', 'n')
			case '\f':
				b = append(b, '\\', 'f')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	e.b = append(b, '"')
}

func (e *jcs) strp(s *string) {
	if s == nil {
		e.raw("null")
		return
	}
	e.str(*s)
}

func (e *jcs) strs(v []string) {
	if v == nil {
		e.raw("null")
		return
	}
	e.b = append(e.b, '[')
	for i, s := range v {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.str(s)
	}
	e.b = append(e.b, ']')
}

func (e *jcs) person(p Person) {
	e.raw(`{"id":`)
	e.int(p.ID)
	e.raw(`,"name":`)
	e.str(p.Name)
	e.b = append(e.b, '}')
}

func (e *jcs) personp(p *Person) {
	if p == nil {
		e.raw("null")
		return
	}
	e.person(*p)
}

// list writes a slice as a JSON array, null when nil.
func list[T any](e *jcs, v []T, each func(*jcs, *T)) {
	if v == nil {
		e.raw("null")
		return
	}
	e.b = append(e.b, '[')
	for i := range v {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		each(e, &v[i])
	}
	e.b = append(e.b, ']')
}

func (e *jcs) document(d *Document) {
	e.b = append(e.b, '{')
	if d.Checkpoint != nil {
		e.raw(`"checkpoint":`)
		e.checkpoint(d.Checkpoint)
		e.b = append(e.b, ',')
	}
	e.raw(`"comments":`)
	list(e, d.Comments, (*jcs).comment)
	e.raw(`,"deployment":`)
	e.deployment(&d.Deployment)
	e.raw(`,"events":`)
	list(e, d.Events, (*jcs).event)
	e.raw(`,"exported_at":`)
	e.str(d.ExportedAt)
	e.raw(`,"format":`)
	e.str(d.Format)
	e.raw(`,"items":`)
	list(e, d.Items, (*jcs).item)
	if d.Log != nil {
		e.raw(`,"log":`)
		e.log(d.Log)
	}
	e.raw(`,"notes":`)
	list(e, d.Notes, (*jcs).note)
	if len(d.Rejections) > 0 {
		e.raw(`,"rejections":`)
		list(e, d.Rejections, (*jcs).rejection)
	}
	e.raw(`,"signoffs":`)
	list(e, d.Signoffs, (*jcs).signoff)
	e.raw(`,"slots":`)
	list(e, d.Slots, (*jcs).slot)
	e.raw(`,"template":{"slug":`)
	e.str(d.Template.Slug)
	e.raw(`,"title":`)
	e.str(d.Template.Title)
	e.raw(`,"version":`)
	e.int(int64(d.Template.Version))
	e.raw(`},"version":`)
	e.int(int64(d.Version))
	e.b = append(e.b, '}')
}

func (e *jcs) checkpoint(c *Checkpoint) {
	e.raw(`{"algorithm":`)
	e.str(c.Algorithm)
	e.raw(`,"deployment_id":`)
	e.int(c.DeploymentID)
	e.raw(`,"event_count":`)
	e.int(c.EventCount)
	e.raw(`,"head_sha256":`)
	e.str(c.HeadSHA256)
	e.raw(`,"key_fingerprint":`)
	e.str(c.KeyFingerprint)
	e.raw(`,"public_key":`)
	e.str(c.PublicKey)
	e.raw(`,"record_sha256":`)
	e.str(c.RecordSHA256)
	e.raw(`,"signature":`)
	e.str(c.Signature)
	e.raw(`,"signed_at":`)
	e.str(c.SignedAt)
	e.b = append(e.b, '}')
}

func (e *jcs) comment(c *Comment) {
	e.raw(`{"at":`)
	e.str(c.At)
	e.raw(`,"author":`)
	e.person(c.Author)
	e.raw(`,"body":`)
	e.str(c.Body)
	e.raw(`,"item":`)
	e.str(c.Item)
	e.b = append(e.b, '}')
}

func (e *jcs) deployment(d *Deployment) {
	e.raw(`{"aborted_at":`)
	e.strp(d.AbortedAt)
	e.raw(`,"checklist_rev":`)
	e.int(d.ChecklistRev)
	e.raw(`,"completed_at":`)
	e.strp(d.CompletedAt)
	e.raw(`,"created_at":`)
	e.str(d.CreatedAt)
	e.raw(`,"created_by":`)
	e.person(d.CreatedBy)
	e.raw(`,"environment":`)
	e.str(d.Environment)
	e.raw(`,"id":`)
	e.int(d.ID)
	e.raw(`,"locked_at":`)
	e.strp(d.LockedAt)
	e.raw(`,"planned_at":`)
	e.strp(d.PlannedAt)
	e.raw(`,"service":`)
	e.str(d.Service)
	e.raw(`,"status":`)
	e.str(d.Status)
	e.raw(`,"version":`)
	e.str(d.Version)
	e.raw(`,"went_live_at":`)
	e.strp(d.WentLiveAt)
	e.b = append(e.b, '}')
}

func (e *jcs) event(v *Event) {
	e.raw(`{"action":`)
	e.str(v.Action)
	e.raw(`,"actor":{"id":`)
	e.int(v.Actor.ID)
	e.raw(`,"name":`)
	e.str(v.Actor.Name)
	e.raw(`,"via":`)
	e.str(v.Actor.Via)
	e.raw(`},"at":`)
	e.str(v.At)
	e.raw(`,"payload":`)
	e.str(v.Payload)
	e.raw(`,"prev_sha256":`)
	e.str(v.PrevSHA256)
	e.raw(`,"seq":`)
	e.int(v.Seq)
	e.raw(`,"sha256":`)
	e.str(v.SHA256)
	e.raw(`,"target":`)
	e.str(v.Target)
	e.b = append(e.b, '}')
}

func (e *jcs) item(it *Item) {
	e.raw(`{"conditional":`)
	e.bool(it.Conditional)
	e.raw(`,"effective":`)
	e.str(it.Effective)
	e.raw(`,"evidence":`)
	e.str(it.Evidence)
	e.raw(`,"has_children":`)
	e.bool(it.HasChildren)
	e.raw(`,"history":`)
	list(e, it.History, (*jcs).itemChange)
	e.raw(`,"level":`)
	e.int(int64(it.Level))
	e.raw(`,"na_reason":`)
	e.str(it.NAReason)
	e.raw(`,"parent":`)
	e.str(it.Parent)
	e.raw(`,"path":`)
	e.str(it.Path)
	e.raw(`,"phase":`)
	e.str(it.Phase)
	e.raw(`,"section":`)
	e.str(it.Section)
	e.raw(`,"state":`)
	e.str(it.State)
	e.raw(`,"state_at":`)
	e.strp(it.StateAt)
	e.raw(`,"state_by":`)
	e.personp(it.StateBy)
	e.raw(`,"text":`)
	e.str(it.Text)
	e.b = append(e.b, '}')
}

func (e *jcs) itemChange(c *ItemChange) {
	e.raw(`{"actor":`)
	e.person(c.Actor)
	e.raw(`,"at":`)
	e.str(c.At)
	e.raw(`,"na_reason":`)
	e.str(c.NAReason)
	e.raw(`,"seq":`)
	e.int(c.Seq)
	e.raw(`,"state":`)
	e.str(c.State)
	e.b = append(e.b, '}')
}

func (e *jcs) log(l *Log) {
	e.raw(`{"chain_index":`)
	e.int(l.ChainIndex)
	e.raw(`,"chain_proof":`)
	e.strs(l.ChainProof)
	e.raw(`,"checkpoint":`)
	e.str(l.Checkpoint)
	e.raw(`,"inclusion_proof":`)
	e.strs(l.InclusionProof)
	e.raw(`,"leaf_index":`)
	e.int(l.LeafIndex)
	e.b = append(e.b, '}')
}

func (e *jcs) note(n *Note) {
	e.raw(`{"history":`)
	list(e, n.History, (*jcs).noteChange)
	e.raw(`,"name":`)
	e.str(n.Name)
	e.raw(`,"position":`)
	e.int(int64(n.Position))
	e.raw(`,"updated_at":`)
	e.strp(n.UpdatedAt)
	e.raw(`,"updated_by":`)
	e.personp(n.UpdatedBy)
	e.raw(`,"value":`)
	e.str(n.Value)
	e.b = append(e.b, '}')
}

func (e *jcs) noteChange(c *NoteChange) {
	e.raw(`{"actor":`)
	e.person(c.Actor)
	e.raw(`,"at":`)
	e.str(c.At)
	e.raw(`,"seq":`)
	e.int(c.Seq)
	e.raw(`,"value":`)
	e.str(c.Value)
	e.b = append(e.b, '}')
}

func (e *jcs) rejection(r *Rejection) {
	e.raw(`{"at":`)
	e.str(r.At)
	e.raw(`,"audit_seq":`)
	e.int(r.AuditSeq)
	e.raw(`,"comment":`)
	e.str(r.Comment)
	e.raw(`,"ended_at":`)
	e.strp(r.EndedAt)
	e.raw(`,"printed_name":`)
	e.str(r.PrintedName)
	e.raw(`,"role":`)
	e.str(r.Role)
	e.raw(`,"slot":`)
	e.int(int64(r.Slot))
	e.raw(`,"status":`)
	e.str(r.Status)
	e.raw(`,"user_id":`)
	e.int(r.UserID)
	e.b = append(e.b, '}')
}

func (e *jcs) signoff(s *Signoff) {
	e.raw(`{"audit_seq":`)
	e.int(s.AuditSeq)
	e.raw(`,"checklist_rev":`)
	e.int(s.ChecklistRev)
	e.raw(`,"checklist_sha256":`)
	e.str(s.ChecklistSHA256)
	e.raw(`,"end_reason":`)
	e.str(s.EndReason)
	e.raw(`,"ended_at":`)
	e.strp(s.EndedAt)
	e.raw(`,"ended_by":`)
	e.personp(s.EndedBy)
	e.raw(`,"meaning":`)
	e.str(s.Meaning)
	e.raw(`,"multiple_slots_allowed":`)
	e.bool(s.MultipleSlotsAllowed)
	e.raw(`,"printed_name":`)
	e.str(s.PrintedName)
	e.raw(`,"role":`)
	e.str(s.Role)
	e.raw(`,"signed_at":`)
	e.str(s.SignedAt)
	e.raw(`,"signer_id":`)
	e.int(s.SignerID)
	e.raw(`,"slot":`)
	e.int(int64(s.Slot))
	e.raw(`,"status":`)
	e.str(s.Status)
	e.b = append(e.b, '}')
}

func (e *jcs) slot(s *Slot) {
	e.raw(`{"final":`)
	e.bool(s.Final)
	e.raw(`,"group":`)
	e.str(s.Group)
	e.raw(`,"position":`)
	e.int(int64(s.Position))
	e.raw(`,"role":`)
	e.str(s.Role)
	e.raw(`,"signoff_seq":`)
	if s.SignoffSeq == nil {
		e.raw("null")
	} else {
		e.int(*s.SignoffSeq)
	}
	e.raw(`,"state":`)
	e.str(s.State)
	e.b = append(e.b, '}')
}

// canonicalSize guesses a document's canonical size, so the buffer is
// allocated once.
func canonicalSize(d *Document) int {
	n := 2048 + 700*len(d.Items)
	for i := range d.Events {
		n += 400 + len(d.Events[i].Payload)*9/8
	}
	return n
}
