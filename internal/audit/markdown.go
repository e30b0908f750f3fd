package audit

import (
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// Markdown writes the filled checklist in the template's own Markdown
// layout (the seed's), ticked:
//
//   - [x] text                          done
//   - [ ] text                          open
//   - [x] ~~text~~ — N/A: reason        not applicable, with its reason
//   - [x] ~~text~~ — N/A                a parent whose items are all N/A
//
// A parent is ticked when all its items are resolved. Sign-off lines carry
// the printed name and time in place of the blanks, with the meaning and
// checklist hash on a line below; note fields carry their values. Unsigned
// slots and empty notes keep the seed's blanks.
func Markdown(w io.Writer, rec *signoff.Record, now time.Time) error {
	cl, d := rec.Checklist, rec.Deployment
	t := cl.Template
	if t == nil {
		return fmt.Errorf("deployment %d: no template", d.ID)
	}
	var b mdWriter
	b.block("# " + t.Title)
	b.block(t.Description)
	b.block(deploymentQuote(rec, now))
	for pi, ph := range t.Phases {
		if pi > 0 || ph.Title != "" {
			b.block("## " + ph.Title)
		}
		b.block(ph.Intro)
		for si, s := range ph.Sections {
			head := ""
			if si > 0 || s.Title != "" {
				head = "### " + s.Title
			}
			if s.Intro != "" {
				b.block(head)
				b.block(s.Intro)
				head = ""
			}
			prefix := strconv.Itoa(pi+1) + "." + strconv.Itoa(si+1)
			for ii, it := range s.Items {
				var sb strings.Builder
				if head != "" {
					sb.WriteString(head + "\n")
					head = ""
				}
				writeTicked(&sb, cl, it, prefix+"."+strconv.Itoa(ii+1), 0)
				b.block(strings.TrimSuffix(sb.String(), "\n"))
			}
			b.block(head)
		}
	}
	if t.NotesFirst {
		mdNotes(&b, t, cl)
		mdSignoff(&b, t, rec)
	} else {
		mdSignoff(&b, t, rec)
		mdNotes(&b, t, cl)
	}
	b.block("---")
	b.block(t.Footer)
	b.block("_Exported from Signoff " + human(now) + ". The signed JSON export is the authoritative record; `signoff verify` checks it._")
	_, err := io.WriteString(w, strings.Join(b.blocks, "\n\n")+"\n")
	return err
}

type mdWriter struct{ blocks []string }

func (w *mdWriter) block(s string) {
	if s != "" {
		w.blocks = append(w.blocks, s)
	}
}

func deploymentQuote(rec *signoff.Record, now time.Time) string {
	d := rec.Deployment
	lines := []string{
		fmt.Sprintf("> **Deployment %d**: %s %s → %s · %s", d.ID, d.Service, d.Version, d.Environment, d.Status.Label()),
		fmt.Sprintf("> Template version %d · created by %s %s", d.TemplateVersion, d.CreatedBy.Name, human(d.CreatedAt)),
	}
	var when []string
	if d.PlannedAt != nil {
		when = append(when, "planned "+human(*d.PlannedAt))
	}
	if d.WentLiveAt != nil {
		when = append(when, "live "+human(*d.WentLiveAt))
	}
	if d.CompletedAt != nil {
		when = append(when, "completed "+human(*d.CompletedAt))
	}
	if d.LockedAt != nil {
		when = append(when, "locked "+human(*d.LockedAt))
	}
	if d.AbortedAt != nil {
		when = append(when, "aborted "+human(*d.AbortedAt))
	}
	if len(when) > 0 {
		lines = append(lines, "> "+strings.Join(when, " · "))
	}
	if n := len(rec.Events); n > 0 {
		lines = append(lines, fmt.Sprintf("> Audit chain: %d events, head SHA-256 `%s`", n, hex.EncodeToString(rec.Events[n-1].Hash)))
	}
	return strings.Join(lines, "\n>\n")
}

// writeTicked writes one template item and its children with their state.
func writeTicked(b *strings.Builder, cl *signoff.Checklist, ti signoff.TemplateItem, path string, depth int) {
	indent := strings.Repeat("  ", depth)
	first, rest, wrapped := strings.Cut(ti.Text, "\n")
	box, suffix := "[ ]", ""
	if it := cl.Item(path); it != nil {
		switch cl.Effective(it) {
		case signoff.ItemDone:
			box = "[x]"
		case signoff.ItemNA:
			box, first, suffix = "[x]", "~~"+first+"~~", " — N/A"
			if it.NAReason != "" {
				suffix += ": " + oneLine(it.NAReason)
			}
		}
	}
	b.WriteString(indent + "- " + box + " " + first + suffix + "\n")
	if wrapped {
		for line := range strings.SplitSeq(rest, "\n") {
			b.WriteString(indent + "  " + line + "\n")
		}
	}
	for i, c := range ti.Children {
		writeTicked(b, cl, c, path+"."+strconv.Itoa(i+1), depth+1)
	}
}

func mdSignoff(b *mdWriter, t *signoff.Template, rec *signoff.Record) {
	if len(t.SignoffGroups) == 0 {
		return
	}
	b.block("## " + or(t.SignoffHeading, "Sign-off"))
	b.block(t.SignoffIntro)
	slots := map[int]signoff.Slot{}
	for _, s := range rec.Slots {
		slots[s.Position] = s
	}
	facts := signatureFacts(rec)
	pos := 0
	for gi, g := range t.SignoffGroups {
		var lines []string
		if gi > 0 || g.Name != "" {
			lines = append(lines, "### "+g.Name)
		}
		for _, s := range g.Slots {
			pos++
			slot := slots[pos]
			sig := slot.Signature
			if sig == nil {
				lines = append(lines, "- **"+s.Role+"**: "+strings.Repeat("_", 17)+" Date: "+strings.Repeat("_", 9))
				continue
			}
			name := sig.Signer.Name
			if slot.State(rec.Deployment.ChecklistRev) == signoff.SlotStale {
				name += " (stale: the checklist changed after this signature)"
			}
			lines = append(lines, "- **"+s.Role+"**: "+name+" Date: "+human(sig.SignedAt),
				fmt.Sprintf("  - “%s” Checklist SHA-256 `%s` (audit event %d); %s.", sig.Meaning, hex.EncodeToString(sig.ChecklistHash),
					sig.AuditSeq, slotRule(facts[sig.AuditSeq].MultipleSlotsAllowed)))
		}
		b.block(strings.Join(lines, "\n"))
	}
	// Signatures that no longer stand, so the paper tells the whole story
	// (as a quote: the Markdown still imports as a template).
	var ended []string
	for _, s := range rec.Signatures {
		if s.EndedAt == nil {
			continue
		}
		fact, ok := facts[s.AuditSeq]
		if !ok {
			fact.Status = signatureStatus(s, rec.Deployment.ChecklistRev)
		}
		how := "superseded " + human(*s.EndedAt) + " by a new signature"
		if fact.Status == "revoked" {
			how = "revoked " + human(*s.EndedAt)
			if s.EndedBy != nil {
				how += " by " + named(*s.EndedBy, fact.EndedBy).Name
			}
			how += ": " + oneLine(s.EndReason)
		}
		ended = append(ended, fmt.Sprintf("> - %s: %s, signed %s (audit event %d), %s; %s.",
			s.Role, s.Signer.Name, human(s.SignedAt), s.AuditSeq, how, slotRule(fact.MultipleSlotsAllowed)))
	}
	if len(ended) > 0 {
		b.block("> **Signatures no longer standing**\n>\n" + strings.Join(ended, "\n"))
	}
}

func mdNotes(b *mdWriter, t *signoff.Template, cl *signoff.Checklist) {
	if len(t.NoteFields) == 0 {
		return
	}
	b.block("---")
	b.block("## " + or(t.NotesHeading, "Notes"))
	b.block(t.NotesIntro)
	for i, f := range t.NoteFields {
		value := ""
		if i < len(cl.Notes) {
			value = strings.TrimSpace(cl.Notes[i].Value)
		}
		switch {
		case !f.Long && value == "":
			b.block("**" + f.Name + "**: " + strings.Repeat("_", 17))
		case !f.Long:
			b.block("**" + f.Name + "**: " + oneLine(value))
		case value == "":
			lines := []string{"**" + f.Name + "**: "}
			for range max(f.Lines, 1) {
				lines = append(lines, strings.Repeat("_", 49))
			}
			b.block(strings.Join(lines, "\n"))
		default:
			b.block("**" + f.Name + "**: \n" + value)
		}
	}
}

// human writes a time for people: minutes, UTC.
func human(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
