package api

import (
	"encoding/hex"
	"time"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// The JSON shapes the API answers with. Field names are snake_case and
// stable; times are RFC 3339 in UTC; absent times are null.

type userJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func userRef(u *signoff.UserRef) *userJSON {
	if u == nil {
		return nil
	}
	return &userJSON{ID: u.ID, Name: u.Name}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type templateJSON struct {
	Slug               string    `json:"slug"`
	Title              string    `json:"title"`
	Version            int       `json:"version"`
	UpdatedAt          time.Time `json:"updated_at"`
	Deployments        int       `json:"deployments"`
	AllowMultipleSlots bool      `json:"allow_multiple_slots"`
	Phases             int       `json:"phases"`
	Sections           int       `json:"sections"`
	Items              int       `json:"items"`
	Slots              int       `json:"slots"`
	Notes              int       `json:"notes"`
}

func newTemplateJSON(s postgres.TemplateSummary, t *signoff.Template) templateJSON {
	c := t.Counts()
	return templateJSON{Slug: s.Slug, Title: s.Title, Version: s.LatestVersion, UpdatedAt: s.UpdatedAt.UTC(),
		Deployments: s.Deployments, AllowMultipleSlots: s.AllowMultipleSlots,
		Phases: c.Phases, Sections: c.Sections, Items: c.Items, Slots: c.Slots, Notes: c.Notes}
}

type templateRefJSON struct {
	Slug    string `json:"slug"`
	Title   string `json:"title"`
	Version int    `json:"version"`
}

type progressJSON struct {
	Total    int  `json:"total"`
	Done     int  `json:"done"`
	NA       int  `json:"na"`
	Open     int  `json:"open"`
	Percent  int  `json:"percent"`
	Complete bool `json:"complete"`
}

func newProgressJSON(p signoff.Progress) progressJSON {
	return progressJSON{Total: p.Total, Done: p.Done, NA: p.NA, Open: p.Total - p.Resolved(),
		Percent: p.Percent(), Complete: p.Complete()}
}

type signoffCountJSON struct {
	Signed int `json:"signed"` // standing signatures given at the current checklist state
	Total  int `json:"total"`
}

// deploymentSummaryJSON is a deployment in a list.
type deploymentSummaryJSON struct {
	ID           int64            `json:"id"`
	Service      string           `json:"service"`
	Environment  string           `json:"environment"`
	Version      string           `json:"version"`
	Status       signoff.Status   `json:"status"`
	Template     templateRefJSON  `json:"template"`
	PlannedAt    *time.Time       `json:"planned_at"`
	WentLiveAt   *time.Time       `json:"went_live_at"`
	CompletedAt  *time.Time       `json:"completed_at"`
	AbortedAt    *time.Time       `json:"aborted_at"`
	Locked       bool             `json:"locked"`
	LockedAt     *time.Time       `json:"locked_at"`
	CreatedBy    userJSON         `json:"created_by"`
	CreatedAt    time.Time        `json:"created_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
	ChecklistRev int64            `json:"checklist_rev"`
	AuditSeq     int64            `json:"audit_seq"`
	Progress     progressJSON     `json:"progress"`
	Signoffs     signoffCountJSON `json:"signoffs"`
	Overdue      int              `json:"overdue"`
}

// newSummaryJSON uses the counts a list query fills in.
func newSummaryJSON(d *signoff.Deployment) deploymentSummaryJSON {
	return deploymentSummaryJSON{
		ID: d.ID, Service: d.Service, Environment: d.Environment, Version: d.Version, Status: d.Status,
		Template:  templateRefJSON{Slug: d.TemplateSlug, Title: d.TemplateTitle, Version: d.TemplateVersion},
		PlannedAt: utc(d.PlannedAt), WentLiveAt: utc(d.WentLiveAt), CompletedAt: utc(d.CompletedAt),
		AbortedAt: utc(d.AbortedAt), Locked: d.Locked(), LockedAt: utc(d.LockedAt),
		CreatedBy: userJSON{ID: d.CreatedBy.ID, Name: d.CreatedBy.Name},
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		ChecklistRev: d.ChecklistRev, AuditSeq: d.AuditSeq,
		Progress: newProgressJSON(d.Progress),
		Signoffs: signoffCountJSON{Signed: d.Signed, Total: d.Slots},
		Overdue:  d.Overdue,
	}
}

// deploymentJSON is one deployment in full: its checklist, notes and
// sign-off slots.
type deploymentJSON struct {
	deploymentSummaryJSON
	// ChecklistSHA256 is the hash of the canonical checklist state that a
	// signature given now would bind to (see the README).
	ChecklistSHA256 string      `json:"checklist_sha256"`
	Phases          []phaseJSON `json:"phases"`
	Items           []itemJSON  `json:"items"`
	Notes           []noteJSON  `json:"notes"`
	Slots           []slotJSON  `json:"slots"`
}

type phaseJSON struct {
	Number   int           `json:"number"`
	Title    string        `json:"title"`
	Sections []sectionJSON `json:"sections"`
}

type sectionJSON struct {
	Number          int    `json:"number"`
	Title           string `json:"title"`
	DueAfterSeconds int64  `json:"due_after_seconds,omitempty"` // after go-live, for monitoring sections
}

// itemJSON is one checklist item. State is the item's state as people
// count it: a parent's follows its children.
type itemJSON struct {
	Path        string            `json:"path"`
	ParentPath  string            `json:"parent_path"`
	Phase       int               `json:"phase"`
	Section     int               `json:"section"`
	Level       int               `json:"level"`
	Title       string            `json:"title"`
	Detail      string            `json:"detail"`
	Conditional bool              `json:"conditional"`
	HasChildren bool              `json:"has_children"`
	State       signoff.ItemState `json:"state"`
	NAReason    string            `json:"na_reason"`
	By          *userJSON         `json:"by"`
	At          *time.Time        `json:"at"`
	Evidence    string            `json:"evidence"`
	DueAt       *time.Time        `json:"due_at,omitempty"`
}

func newItemJSON(d *signoff.Deployment, cl *signoff.Checklist, it *signoff.Item) itemJSON {
	out := itemJSON{
		Path: it.Path, ParentPath: it.ParentPath, Phase: it.Phase, Section: it.Section, Level: it.Level,
		Title: it.Title(), Detail: it.Detail(), Conditional: it.Conditional, HasChildren: it.HasChildren,
		State: cl.Effective(it), NAReason: it.NAReason, By: userRef(it.StateBy), At: utc(it.StateAt),
		Evidence: it.Evidence,
	}
	if it.DueAfter > 0 && d.WentLiveAt != nil {
		due := d.WentLiveAt.Add(it.DueAfter).UTC()
		out.DueAt = &due
	}
	return out
}

type noteJSON struct {
	Position  int        `json:"position"`
	Name      string     `json:"name"`
	Long      bool       `json:"long"`
	Value     string     `json:"value"`
	UpdatedBy *userJSON  `json:"updated_by"`
	UpdatedAt *time.Time `json:"updated_at"`
}

type slotJSON struct {
	Position  int               `json:"position"`
	Group     string            `json:"group"`
	Role      string            `json:"role"`
	Final     bool              `json:"final"`
	State     signoff.SlotState `json:"state"`
	Signature *signatureJSON    `json:"signature"`
	// Attests is a gate's number of items above it (0: every item);
	// GoNoGo, that it is signed before going live.
	Attests   int            `json:"attests"`
	GoNoGo    bool           `json:"go_no_go"`
	Rejection *rejectionJSON `json:"rejection"`
}

// rejectionJSON is a standing request for changes on a slot.
type rejectionJSON struct {
	By      userJSON  `json:"by"`
	Comment string    `json:"comment"`
	At      time.Time `json:"at"`
}

// signatureJSON is an electronic signature's manifestation: printed name,
// role, time and meaning, and the checklist state it is bound to.
type signatureJSON struct {
	Signer          userJSON  `json:"signer"`
	PrintedName     string    `json:"printed_name"`
	Role            string    `json:"role"`
	Meaning         string    `json:"meaning"`
	SignedAt        time.Time `json:"signed_at"`
	ChecklistSHA256 string    `json:"checklist_sha256"`
	ChecklistRev    int64     `json:"checklist_rev"`
	AuditSeq        int64     `json:"audit_seq"`
}

func newDeploymentJSON(d *signoff.Deployment, cl *signoff.Checklist, slots []signoff.Slot, now time.Time) deploymentJSON {
	d.Progress = cl.Progress(0, 0)
	d.Slots = len(slots)
	d.Signed = 0
	for i := range slots {
		if slots[i].State(d.ChecklistRev) == signoff.SlotSigned {
			d.Signed++
		}
	}
	d.Overdue = 0
	if d.Status == signoff.StatusLive {
		d.Overdue = len(cl.Overdue(d.WentLiveAt, now))
	}
	hash := cl.StateHash(d.ID)
	out := deploymentJSON{
		deploymentSummaryJSON: newSummaryJSON(d),
		ChecklistSHA256:       hex.EncodeToString(hash[:]),
		Phases:                []phaseJSON{},
		Items:                 make([]itemJSON, 0, len(cl.Items)),
		Notes:                 make([]noteJSON, 0, len(cl.Notes)),
		Slots:                 make([]slotJSON, 0, len(slots)),
	}
	for pi, p := range cl.Template.Phases {
		pj := phaseJSON{Number: pi + 1, Title: p.Title, Sections: []sectionJSON{}}
		for si, s := range p.Sections {
			pj.Sections = append(pj.Sections, sectionJSON{Number: si + 1, Title: s.Title, DueAfterSeconds: int64(s.DueAfter.Seconds())})
		}
		out.Phases = append(out.Phases, pj)
	}
	for i := range cl.Items {
		out.Items = append(out.Items, newItemJSON(d, cl, &cl.Items[i]))
	}
	for _, n := range cl.Notes {
		out.Notes = append(out.Notes, noteJSON{Position: n.Position, Name: n.Name, Long: n.Long, Value: n.Value,
			UpdatedBy: userRef(n.UpdatedBy), UpdatedAt: utc(n.UpdatedAt)})
	}
	for _, s := range slots {
		sj := slotJSON{Position: s.Position, Group: s.Group, Role: s.Role, Final: s.Final, State: s.State(d.ChecklistRev), GoNoGo: s.GoNoGo}
		if s.Gate() {
			sj.Attests = s.Above
		}
		if rj := s.Rejection; rj != nil {
			sj.Rejection = &rejectionJSON{By: userJSON{ID: rj.By.ID, Name: rj.By.Name}, Comment: rj.Comment, At: rj.At.UTC()}
		}
		if sig := s.Signature; sig != nil {
			sj.Signature = &signatureJSON{
				Signer: userJSON{ID: sig.Signer.ID, Name: sig.Signer.Name}, PrintedName: sig.Signer.Name,
				Role: sig.Role, Meaning: sig.Meaning, SignedAt: sig.SignedAt.UTC(),
				ChecklistSHA256: hex.EncodeToString(sig.ChecklistHash), ChecklistRev: sig.ChecklistRev, AuditSeq: sig.AuditSeq,
			}
		}
		out.Slots = append(out.Slots, sj)
	}
	return out
}
