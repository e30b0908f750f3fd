package audit

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/signoff"
)

// Markdown writes the filled checklist: the template's own Markdown, byte
// for byte, with
//
//   - every resolved item's box ticked in place, and who and when after its
//     text ("— done by Ann Lee, 2026-12-07 10:00 UTC"; "— N/A: reason
//     (Ann Lee, …)"); a parent is ticked when all its items are resolved;
//   - the signer's name and the time in each signed slot's blanks, and each
//     note's value in its blanks;
//   - a quote after the title naming the deployment, and one at the end
//     with every signature's meaning, checklist hash and audit event, and
//     the signatures that no longer stand.
//
// Every value that comes from people is escaped (checklist.Escape), so no
// service name, reason or note can become a heading, a box or a link.
func Markdown(w io.Writer, rec *signoff.Record, now time.Time) error {
	cl, d := rec.Checklist, rec.Deployment
	t := cl.Template
	if t == nil {
		return fmt.Errorf("deployment %d: no template", d.ID)
	}
	marks := checklist.Marks{
		Header:  deploymentQuote(rec),
		Items:   itemMarks(cl),
		Slots:   slotMarks(rec),
		Notes:   map[int]string{},
		Trailer: signatureQuote(rec, now),
	}
	for _, n := range cl.Notes {
		marks.Notes[n.Position] = n.Value
	}
	out, err := checklist.Fill([]byte(t.Source), marks)
	if err != nil {
		return fmt.Errorf("deployment %d: template version %d: %w", d.ID, d.TemplateVersion, err)
	}
	_, err = w.Write(out)
	return err
}

func deploymentQuote(rec *signoff.Record) string {
	d := rec.Deployment
	esc := checklist.Escape
	lines := []string{
		fmt.Sprintf("> **Deployment %d**: %s %s → %s · %s", d.ID, esc(d.Service), esc(d.Version), esc(d.Environment), d.Status.Label()),
		fmt.Sprintf("> Template %s version %d · created by %s %s", esc(d.TemplateTitle), d.TemplateVersion, esc(d.CreatedBy.Name), human(d.CreatedAt)),
	}
	var when []string
	for _, w := range []struct {
		what string
		at   *time.Time
	}{{"planned", d.PlannedAt}, {"live", d.WentLiveAt}, {"completed", d.CompletedAt}, {"locked", d.LockedAt}, {"aborted", d.AbortedAt}} {
		if w.at != nil {
			when = append(when, w.what+" "+human(*w.at))
		}
	}
	if len(when) > 0 {
		lines = append(lines, "> "+strings.Join(when, " · "))
	}
	if n := len(rec.Events); n > 0 {
		lines = append(lines, fmt.Sprintf("> Audit chain: %d events, head SHA-256 `%s`", n, hex.EncodeToString(rec.Events[n-1].Hash)))
	}
	return strings.Join(lines, "\n>\n")
}

// itemMarks ticks every resolved item and says who resolved each task and
// when.
func itemMarks(cl *signoff.Checklist) map[string]checklist.ItemMark {
	marks := make(map[string]checklist.ItemMark, len(cl.Items))
	for i := range cl.Items {
		it := &cl.Items[i]
		eff := cl.Effective(it)
		m := checklist.ItemMark{Ticked: eff != signoff.ItemOpen}
		by := ""
		if it.StateBy != nil && it.StateAt != nil {
			by = checklist.Escape(it.StateBy.Name) + ", " + human(*it.StateAt)
		}
		switch {
		case it.HasChildren && eff == signoff.ItemNA:
			m.Note = "N/A"
		case it.HasChildren:
		case eff == signoff.ItemDone && by != "":
			m.Note = "done by " + by
		case eff == signoff.ItemNA:
			m.Note = "N/A: " + checklist.Escape(it.NAReason)
			if by != "" {
				m.Note += " (" + by + ")"
			}
		}
		marks[it.Path] = m
	}
	return marks
}

// slotMarks writes each standing signature into its slot's blanks.
func slotMarks(rec *signoff.Record) map[int]checklist.SlotMark {
	marks := map[int]checklist.SlotMark{}
	for _, s := range rec.Slots {
		sig := s.Signature
		if sig == nil {
			continue
		}
		name := checklist.Escape(sig.Signer.Name)
		if s.State(rec.Deployment.ChecklistRev) == signoff.SlotStale {
			name += " (stale: the checklist changed after this signature)"
		}
		marks[s.Position] = checklist.SlotMark{Name: name, Date: human(sig.SignedAt)}
	}
	return marks
}

// signatureQuote lists every signature: the standing ones with their
// meaning, checklist hash and audit event, then those that no longer
// stand, so the paper tells the whole story.
func signatureQuote(rec *signoff.Record, now time.Time) string {
	esc := checklist.Escape
	facts := signatureFacts(rec)
	var standing, ended []string
	for _, s := range rec.Slots {
		sig := s.Signature
		if sig == nil {
			continue
		}
		standing = append(standing, fmt.Sprintf("> - **%s**: %s, %s — “%s” Checklist SHA-256 `%s` (audit event %d); %s.",
			esc(s.Role), esc(sig.Signer.Name), human(sig.SignedAt), esc(sig.Meaning), hex.EncodeToString(sig.ChecklistHash),
			sig.AuditSeq, slotRule(facts[sig.AuditSeq].MultipleSlotsAllowed)))
	}
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
				how += " by " + esc(named(*s.EndedBy, fact.EndedBy).Name)
			}
			how += ": " + esc(s.EndReason)
		}
		ended = append(ended, fmt.Sprintf("> - %s: %s, signed %s (audit event %d), %s; %s.",
			esc(s.Role), esc(s.Signer.Name), human(s.SignedAt), s.AuditSeq, how, slotRule(fact.MultipleSlotsAllowed)))
	}
	var blocks []string
	if len(standing) > 0 {
		blocks = append(blocks, "> **Signatures**\n>\n"+strings.Join(standing, "\n"))
	}
	if len(ended) > 0 {
		blocks = append(blocks, "> **Signatures no longer standing**\n>\n"+strings.Join(ended, "\n"))
	}
	blocks = append(blocks, "_Exported from Signoff "+human(now)+". The signed JSON export is the authoritative record; `signoff verify` checks it._")
	return strings.Join(blocks, "\n\n")
}

// human writes a time for people: minutes, UTC.
func human(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
