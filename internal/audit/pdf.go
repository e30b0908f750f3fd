package audit

import (
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/signoff/signoff/internal/signoff"
)

// PDF page geometry, in millimetres (A4 portrait).
const (
	pdfMargin  = 15.0
	pdfLine    = 4.6 // item text line height
	pdfSmall   = 3.8 // attribution line height
	pdfIndent  = 6.0 // per nesting level
	pdfBox     = 3.2 // checkbox side
	maxPDFNote = 600 // evidence shown on paper, in characters; the JSON has all
)

// PDFOptions tune the PDF export.
type PDFOptions struct {
	Fingerprint string // the signing key's, printed on the last page
	// CoreFont forces the built-in Helvetica even where DejaVu Sans is
	// installed (tests use it to exercise the fallback).
	CoreFont bool
}

// PDF writes the filled checklist as a person would print it: a header,
// every phase and item with its state, who and when, N/A reasons and
// evidence, the notes, the sign-off block laid out like the template's,
// and a last page with the audit chain's head and the signing key's
// fingerprint.
func PDF(w io.Writer, rec *signoff.Record, now time.Time, opt PDFOptions) error {
	if rec.Checklist.Template == nil {
		return fmt.Errorf("deployment %d: no template", rec.Deployment.ID)
	}
	return pdfOf(w, rec, signatureFacts(rec), now, opt)
}

// pdfOf is PDF with what the events say of each signature known already.
func pdfOf(w io.Writer, rec *signoff.Record, sigs map[int64]Signoff, now time.Time, opt PDFOptions) error {
	if rec.Checklist.Template == nil {
		return fmt.Errorf("deployment %d: no template", rec.Deployment.ID)
	}
	f := fpdf.New("P", "mm", "A4", "")
	family, tx := pdfText(f, opt.CoreFont)
	p := &pdfWriter{f: f, family: family, tx: tx, rec: rec, sigs: sigs}
	d := rec.Deployment
	f.SetTitle(tx(rec.Checklist.Template.Title+" — "+d.Name()), family == "dejavu")
	f.SetCreator("Signoff", false)
	f.SetCreationDate(now)
	f.SetModificationDate(now)
	f.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	f.SetAutoPageBreak(true, pdfMargin+4)
	f.AliasNbPages("{nb}")
	f.SetFooterFunc(func() {
		f.SetY(-pdfMargin + 2)
		p.font("", 7.5)
		f.SetTextColor(110, 110, 110)
		f.CellFormat(0, 4, tx(fmt.Sprintf("Deployment %d · %s", d.ID, d.Name())), "", 0, "L", false, 0, "")
		f.CellFormat(0, 4, fmt.Sprintf("Page %d of {nb}", f.PageNo()), "", 0, "R", false, 0, "")
		f.SetTextColor(0, 0, 0)
	})
	f.AddPage()
	p.header(now)
	p.checklist()
	if rec.Checklist.Template.NotesFirst {
		p.notes()
		p.signoffs()
	} else {
		p.signoffs()
		p.notes()
	}
	p.trail(now, opt.Fingerprint)
	if err := f.Error(); err != nil {
		return fmt.Errorf("pdf of deployment %d: %w", d.ID, err)
	}
	return f.Output(w)
}

type pdfWriter struct {
	f      *fpdf.Fpdf
	family string
	tx     func(string) string
	rec    *signoff.Record
	sigs   map[int64]Signoff // what the events say of each signature, by audit seq
	raw    []byte            // box's buffer
}

// font sets the font unless it is already the current one: fpdf writes
// every call into the page, and an item sets one three or four times.
// fpdf's state is the page's (a new page sets the font again), so it is
// what is compared.
func (p *pdfWriter) font(style string, size float64) {
	if pt, _ := p.f.GetFontSize(); pt == size && p.f.GetFontStyle() == style && strings.EqualFold(p.f.GetFontFamily(), p.family) {
		return
	}
	p.f.SetFont(p.family, style, size)
}

// width is the usable width of the page.
func (p *pdfWriter) width() float64 { w, _ := p.f.GetPageSize(); return w - 2*pdfMargin }

// room starts a new page unless h millimetres fit on this one.
func (p *pdfWriter) room(h float64) {
	_, ph := p.f.GetPageSize()
	if p.f.GetY()+h > ph-pdfMargin-4 {
		p.f.AddPage()
	}
}

func (p *pdfWriter) heading(text string, size float64) {
	p.room(size + 14)
	p.f.Ln(size / 3)
	p.font("B", size)
	p.f.MultiCell(0, size*0.5, p.tx(text), "", "L", false)
	p.f.Ln(1)
}

func (p *pdfWriter) rule() {
	y := p.f.GetY()
	p.f.SetDrawColor(180, 180, 180)
	p.f.Line(pdfMargin, y, pdfMargin+p.width(), y)
	p.f.SetDrawColor(0, 0, 0)
	p.f.Ln(2)
}

func (p *pdfWriter) header(now time.Time) {
	d, t := p.rec.Deployment, p.rec.Checklist.Template
	p.font("B", 16)
	p.f.MultiCell(0, 7, p.tx(t.Title), "", "L", false)
	p.font("", 10)
	p.f.SetTextColor(90, 90, 90)
	p.f.MultiCell(0, 5, p.tx(fmt.Sprintf("Deployment record · exported %s", human(now))), "", "L", false)
	p.f.SetTextColor(0, 0, 0)
	p.f.Ln(2)
	rows := [][2]string{
		{"Service", d.Service}, {"Environment", d.Environment}, {"Version", d.Version},
		{"Status", d.Status.Label()},
		{"Template", fmt.Sprintf("%s, version %d", t.Title, t.Version)},
		{"Created", fmt.Sprintf("%s by %s", human(d.CreatedAt), d.CreatedBy.Name)},
	}
	opt := func(label string, at *time.Time) {
		if at != nil {
			rows = append(rows, [2]string{label, human(*at)})
		}
	}
	opt("Planned", d.PlannedAt)
	opt("Went live", d.WentLiveAt)
	opt("Completed", d.CompletedAt)
	opt("Locked", d.LockedAt)
	opt("Aborted", d.AbortedAt)
	pr := p.rec.Checklist.Progress(0, 0)
	rows = append(rows, [2]string{"Progress", fmt.Sprintf("%d tasks: %d done, %d N/A, %d open", pr.Total, pr.Done, pr.NA, pr.Total-pr.Resolved())})
	for _, r := range rows {
		p.font("B", 9.5)
		p.f.CellFormat(32, 5, p.tx(r[0]), "", 0, "L", false, 0, "")
		p.font("", 9.5)
		p.f.MultiCell(0, 5, p.tx(r[1]), "", "L", false)
	}
	p.f.Ln(2)
	p.rule()
}

func (p *pdfWriter) checklist() {
	cl := p.rec.Checklist
	t := cl.Template
	for pi, ph := range t.Phases {
		title := ph.Title
		if title == "" {
			title = "Checklist"
		}
		p.heading(strconv.Itoa(pi+1)+". "+title, 13)
		if ph.Intro != "" {
			p.paragraph(ph.Intro)
		}
		for si, s := range ph.Sections {
			if s.Title != "" {
				p.heading(s.Title, 10.5)
			}
			if s.Intro != "" {
				p.paragraph(s.Intro)
			}
			prefix := strconv.Itoa(pi+1) + "." + strconv.Itoa(si+1)
			for ii, it := range s.Items {
				p.item(it, prefix+"."+strconv.Itoa(ii+1), 0)
			}
		}
	}
}

func (p *pdfWriter) paragraph(md string) {
	p.font("", 9)
	p.f.MultiCell(0, pdfLine, p.tx(plain(md)), "", "L", false)
	p.f.Ln(1)
}

// item draws one item: its box, its text (the bold lead in bold), and a
// small line saying who resolved it and when, with the N/A reason.
func (p *pdfWriter) item(ti signoff.TemplateItem, path string, depth int) {
	cl := p.rec.Checklist
	it := cl.Item(path)
	state := signoff.ItemOpen
	if it != nil {
		state = cl.Effective(it)
	}
	x := pdfMargin + float64(depth)*pdfIndent
	textX := x + pdfBox + 2
	textW := pdfMargin + p.width() - textX
	title, detail := signoff.SplitItemText(ti.Text)
	title, detail = p.tx(plain(title)), p.tx(plain(detail))

	p.font("", 9)
	lines := len(p.f.SplitText(strings.TrimSpace(title+" "+detail), textW))
	note := p.attribution(it, state)
	need := float64(max(lines, 1))*pdfLine + 1
	if note != "" {
		need += pdfSmall * float64(1+len(note)/110)
	}
	p.room(need)

	y := p.f.GetY()
	p.box(x, y+0.7, state)
	// Write flows from the left margin: move it to the text column.
	p.f.SetLeftMargin(textX)
	p.f.SetX(textX)
	if strings.HasPrefix(ti.Text, "**") {
		p.font("B", 9)
	}
	p.f.Write(pdfLine, title)
	if detail != "" {
		p.font("", 9)
		p.f.Write(pdfLine, " "+detail)
	}
	p.f.Ln(pdfLine)
	if note != "" {
		p.font("", 7.5)
		p.f.SetTextColor(90, 90, 90)
		p.f.MultiCell(textW, pdfSmall, note, "", "L", false)
		p.f.SetTextColor(0, 0, 0)
	}
	p.f.SetLeftMargin(pdfMargin)
	p.f.Ln(0.8)
	for i, c := range ti.Children {
		p.item(c, path+"."+strconv.Itoa(i+1), depth+1)
	}
}

// attribution is the small line under an item: N/A and its reason, who
// and when, and evidence.
func (p *pdfWriter) attribution(it *signoff.Item, state signoff.ItemState) string {
	if it == nil {
		return ""
	}
	var parts []string
	switch {
	case it.HasChildren && state == signoff.ItemNA:
		parts = append(parts, "N/A (every item below)")
	case it.HasChildren:
		return ""
	case state == signoff.ItemNA:
		parts = append(parts, "N/A: "+it.NAReason)
	case state == signoff.ItemDone:
		parts = append(parts, "Done")
	case it.StateBy != nil:
		parts = append(parts, "Reopened")
	default:
		return ""
	}
	if it.StateBy != nil {
		who := "by " + it.StateBy.Name
		if it.StateAt != nil {
			who += ", " + human(*it.StateAt)
		}
		parts = append(parts, who)
	}
	if ev := strings.TrimSpace(it.Evidence); ev != "" {
		if r := []rune(ev); len(r) > maxPDFNote {
			ev = string(r[:maxPDFNote]) + "… (in full in the JSON export)"
		}
		parts = append(parts, "Evidence: "+ev)
	}
	return p.tx(strings.Join(parts, " · "))
}

// box draws a checkbox: ticked for done, struck through for N/A. It is
// one path written straight into the page, inside q … Q so the line width
// and colours it sets end with it: through fpdf's calls it was nine
// operations, each formatted on its own, for every one of a record's
// hundreds of items.
func (p *pdfWriter) box(x, y float64, state signoff.ItemState) {
	k := p.f.GetConversionRatio()
	_, ph := p.f.GetPageSize()
	b := append(p.raw[:0], "q "...)
	num := func(v float64) { b = strconv.AppendFloat(b, v*k, 'f', 2, 64); b = append(b, ' ') }
	pt := func(px, py float64) { num(px); num(ph - py) }
	num(0.25)
	b = append(b, "w "...)
	switch state {
	case signoff.ItemDone:
		b = append(b, "0.086 0.396 0.204 rg "...) // rgb(22, 101, 52)
	case signoff.ItemNA:
		b = append(b, "0.882 g "...) // rgb(225, 225, 225)
	}
	pt(x, y)
	num(pdfBox)
	num(-pdfBox)
	switch state {
	case signoff.ItemDone:
		b = append(b, "re B 1 G "...)
		num(0.45)
		b = append(b, "w "...)
		pt(x+0.6, y+1.7)
		b = append(b, "m "...)
		pt(x+1.35, y+2.5)
		b = append(b, "l "...)
		pt(x+2.7, y+0.8)
		b = append(b, "l S"...)
	case signoff.ItemNA:
		b = append(b, "re B "...)
		num(0.4)
		b = append(b, "w "...)
		pt(x+0.6, y+pdfBox/2)
		b = append(b, "m "...)
		pt(x+pdfBox-0.6, y+pdfBox/2)
		b = append(b, "l S"...)
	default:
		b = append(b, "re S"...)
	}
	b = append(b, " Q"...)
	p.raw = b
	p.f.RawWriteStr(string(b))
}

// signoffs draws the sign-off block as the template lays it out: groups of
// "Role: name  Date: date" lines, each signature with its meaning.
func (p *pdfWriter) signoffs() {
	t := p.rec.Checklist.Template
	if len(t.SignoffGroups) == 0 {
		return
	}
	p.room(60)
	p.heading(or(t.SignoffHeading, "Sign-off"), 13)
	if t.SignoffIntro != "" {
		p.paragraph(t.SignoffIntro)
	}
	slots := map[int]signoff.Slot{}
	for _, s := range p.rec.Slots {
		slots[s.Position] = s
	}
	pos := 0
	for _, g := range t.SignoffGroups {
		if g.Name != "" {
			p.heading(g.Name, 10.5)
		}
		for _, s := range g.Slots {
			pos++
			p.slot(s.Role, slots[pos])
		}
	}
}

func (p *pdfWriter) slot(role string, slot signoff.Slot) {
	f := p.f
	p.room(16)
	const roleW, nameW, dateLabelW = 52.0, 70.0, 11.0
	y := f.GetY()
	p.font("B", 9.5)
	f.CellFormat(roleW, 6, p.tx(role+":"), "", 0, "L", false, 0, "")
	sig := slot.Signature
	name, date := "", ""
	if sig != nil {
		name, date = sig.Signer.Name, human(sig.SignedAt)
	}
	p.font("", 10)
	f.CellFormat(nameW, 6, p.tx(name), "", 0, "L", false, 0, "")
	p.font("", 9.5)
	f.CellFormat(dateLabelW, 6, "Date:", "", 0, "L", false, 0, "")
	p.font("", 9.5)
	f.CellFormat(0, 6, date, "", 1, "L", false, 0, "")
	f.Ln(0.8)
	// The lines a pen would sign on.
	f.SetDrawColor(120, 120, 120)
	f.Line(pdfMargin+roleW, y+6, pdfMargin+roleW+nameW-3, y+6)
	f.Line(pdfMargin+roleW+nameW+dateLabelW, y+6, pdfMargin+p.width(), y+6)
	f.SetDrawColor(0, 0, 0)
	if sig != nil {
		p.font("", 7.5)
		f.SetTextColor(70, 70, 70)
		f.SetX(pdfMargin + roleW)
		status := ""
		if slot.State(p.rec.Deployment.ChecklistRev) == signoff.SlotStale {
			status = " STALE: the checklist changed after this signature."
		}
		f.MultiCell(0, pdfSmall, p.tx(fmt.Sprintf("Electronic signature. Meaning: %s%s", sig.Meaning, status)), "", "L", false)
		f.SetX(pdfMargin + roleW)
		f.MultiCell(0, pdfSmall, p.tx(fmt.Sprintf("Signed %s UTC · checklist SHA-256 %s… · audit event %d",
			sig.SignedAt.UTC().Format("2006-01-02 15:04:05"), hex.EncodeToString(sig.ChecklistHash)[:16], sig.AuditSeq)), "", "L", false)
		f.SetX(pdfMargin + roleW)
		f.MultiCell(0, pdfSmall, p.tx(slotRule(p.sigs[sig.AuditSeq].MultipleSlotsAllowed)), "", "L", false)
		f.SetTextColor(0, 0, 0)
	}
	f.Ln(2.5)
}

func (p *pdfWriter) notes() {
	t, cl := p.rec.Checklist.Template, p.rec.Checklist
	if len(t.NoteFields) == 0 {
		return
	}
	p.heading(or(t.NotesHeading, "Notes"), 13)
	if t.NotesIntro != "" {
		p.paragraph(t.NotesIntro)
	}
	for i, nf := range t.NoteFields {
		value := ""
		if i < len(cl.Notes) {
			value = strings.TrimSpace(cl.Notes[i].Value)
		}
		p.room(14)
		p.font("B", 9.5)
		p.f.MultiCell(0, 5, p.tx(nf.Name+":"), "", "L", false)
		if value != "" {
			p.font("", 9.5)
			p.f.MultiCell(0, 4.8, p.tx(value), "", "L", false)
			if n := cl.Notes[i]; n.UpdatedBy != nil && n.UpdatedAt != nil {
				p.font("", 7.5)
				p.f.SetTextColor(90, 90, 90)
				p.f.MultiCell(0, pdfSmall, p.tx("by "+n.UpdatedBy.Name+", "+human(*n.UpdatedAt)), "", "L", false)
				p.f.SetTextColor(0, 0, 0)
			}
		} else {
			blank := 1
			if nf.Long {
				blank = max(nf.Lines, 1)
			}
			p.f.SetDrawColor(160, 160, 160)
			for range blank {
				p.room(7)
				y := p.f.GetY() + 6
				p.f.Line(pdfMargin, y, pdfMargin+p.width(), y)
				p.f.Ln(6)
			}
			p.f.SetDrawColor(0, 0, 0)
		}
		p.f.Ln(2.5)
	}
}

// trail is the last page (or pages): every signature ever given, then
// what ties this paper to the signed record, kept together at the very end.
func (p *pdfWriter) trail(now time.Time, fingerprint string) {
	f := p.f
	f.AddPage()
	p.heading("Audit trail", 13)
	p.paragraph("Every change to this deployment is an audit event, hash-chained to the one before it. " +
		"The JSON export of this deployment carries every event and a checkpoint of the chain's head, " +
		"signed with the server's Ed25519 key. Check it offline with `signoff verify deployment.json --key KEY`, " +
		"where KEY is the public key published at /.well-known/signoff-signing-key; its fingerprint is below. " +
		"This paper copy is a rendering of that record, not a substitute for it.")
	if len(p.rec.Signatures) > 0 {
		p.heading("Signatures", 10.5)
	}
	for _, s := range p.rec.Signatures {
		fact, ok := p.sigs[s.AuditSeq]
		if !ok {
			fact.Status = signatureStatus(s, p.rec.Deployment.ChecklistRev)
		}
		status := fact.Status
		switch status {
		case "stale":
			status = "stale: the checklist changed after it"
		case "superseded":
			status = "superseded " + human(*s.EndedAt) + " by a new signature"
		case "revoked":
			by := ""
			if s.EndedBy != nil {
				by = " by " + named(*s.EndedBy, fact.EndedBy).Name
			}
			status = "revoked " + human(*s.EndedAt) + by + ": " + s.EndReason
		}
		p.room(14)
		p.font("B", 8.5)
		f.MultiCell(0, 4.2, p.tx(fmt.Sprintf("%s — %s, %s (%s)", s.Role, s.Signer.Name, human(s.SignedAt), status)), "", "L", false)
		p.font("", 7.5)
		f.MultiCell(0, pdfSmall, p.tx(fmt.Sprintf("checklist SHA-256 %s · audit event %d · %s",
			hex.EncodeToString(s.ChecklistHash), s.AuditSeq, slotRule(fact.MultipleSlotsAllowed))), "", "L", false)
		f.Ln(1)
	}

	evs := p.rec.Events
	head := "(no events)"
	if n := len(evs); n > 0 {
		head = hex.EncodeToString(evs[n-1].Hash)
	}
	rows := [][2]string{
		{"Deployment", fmt.Sprintf("%d · %s", p.rec.Deployment.ID, p.rec.Deployment.Name())},
		{"Audit events", strconv.Itoa(len(evs))},
		{"Head SHA-256", head},
		{"Key fingerprint", or(fingerprint, "(not signed)")},
		{"Exported", human(now)},
	}
	const labelW = 34.0
	p.room(16 + 6*float64(len(rows)))
	p.heading("Checkpoint", 10.5)
	for _, r := range rows {
		p.font("B", 9.5)
		f.CellFormat(labelW, 5.5, p.tx(r[0]), "", 0, "L", false, 0, "")
		// The hash and the fingerprint stay on one line, whole, to be
		// compared character by character.
		size := 9.5
		for p.font("", size); size > 6 && f.GetStringWidth(p.tx(r[1])) > p.width()-labelW-1; p.font("", size) {
			size -= 0.5
		}
		f.MultiCell(0, 5.5, p.tx(r[1]), "", "L", false)
	}
}

// slotRule says whether "one person signs at most one slot" was in force
// when a signature was given (the template's setting then, which an admin
// may change later).
func slotRule(multiple bool) string {
	if multiple {
		return "slot rule when signed: the template allowed one person to sign more than one slot"
	}
	return "slot rule when signed: one person signs at most one slot"
}
