package ui

import (
	"fmt"
	"strconv"
	"time"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/signoff"
)

// deploymentView is what every answer about a deployment shows: the whole
// page, an item's change, a live update. CL holds the items to render (the
// whole checklist for the page, one top-level block for a change) with the
// template's structure; Progress counts every section whatever CL holds, so
// the bars are right either way.
type deploymentView struct {
	D        *signoff.Deployment
	CL       *signoff.Checklist
	Progress signoff.SectionProgress
	Slots    []signoff.Slot
	User     *signoff.User
	Now      time.Time
	Viewers  []signoff.UserRef
	// HideDone: the page was asked to hide resolved items (?hide=done).
	HideDone bool

	total *signoff.Progress // Progress summed, once asked (Total)
}

// newPageView is the view of the whole checklist, counting its progress.
func newPageView(d *signoff.Deployment, cl *signoff.Checklist, slots []signoff.Slot, user *signoff.User, now time.Time) *deploymentView {
	return &deploymentView{D: d, CL: cl, Progress: cl.SectionProgress(d.LiveSince(), now),
		Slots: slots, User: user, Now: now}
}

// newBlockView is the view of one item's top-level block after a change,
// with the progress and slots read with it.
func newBlockView(t *signoff.Template, u *signoff.ItemUpdate, user *signoff.User, now time.Time) *deploymentView {
	return &deploymentView{D: u.Deployment, CL: signoff.NewChecklist(t, u.Block, nil), Progress: u.Progress,
		Slots: u.Slots, User: user, Now: now}
}

func (v *deploymentView) URL() string { return "/deployments/" + strconv.FormatInt(v.D.ID, 10) }

// CanEdit reports whether the viewer may change the checklist now.
func (v *deploymentView) CanEdit() bool {
	return v.User.CanEditChecklists() && v.D.Writable() == nil
}

// CanMove reports whether the viewer may take the deployment live or
// abort it: its owner, a holder of a role it is signed by, an admin.
func (v *deploymentView) CanMove() bool {
	return v.CanEdit() && signoff.CanMove(v.User, v.D, v.Slots, signoff.StatusLive) == nil
}

// abortedBy names who aborted a deployment, when the record says.
func abortedBy(d *signoff.Deployment) string {
	if d.AbortedBy == nil {
		return ""
	}
	return " by " + d.AbortedBy.Name
}

type phaseView struct {
	Num       int
	Title     string
	IntroHTML string
	Progress  signoff.Progress
	Sections  []sectionView
}

func (p phaseView) Anchor() string { return fmt.Sprintf("phase-%d", p.Num) }

type sectionView struct {
	Phase, Num int
	Title      string
	IntroHTML  string
	DueAfter   time.Duration
	Progress   signoff.Progress
	Items      []*signoff.Item // top level only; children via Children
}

func (s sectionView) ID() string { return fmt.Sprintf("section-%d-%d", s.Phase, s.Num) }

// Phases arranges the items under the template's headings.
func (v *deploymentView) Phases() []phaseView {
	out := make([]phaseView, 0, len(v.CL.Template.Phases))
	for pi := range v.CL.Template.Phases {
		out = append(out, v.phase(pi))
	}
	return out
}

// Phase is phase num (from 1) alone, for an answer that shows one phase's
// bars and counts: a tick's.
func (v *deploymentView) Phase(num int) (phaseView, bool) {
	if num < 1 || num > len(v.CL.Template.Phases) {
		return phaseView{}, false
	}
	return v.phase(num - 1), true
}

func (v *deploymentView) phase(pi int) phaseView {
	p := v.CL.Template.Phases[pi]
	pv := phaseView{Num: pi + 1, Title: p.Title, IntroHTML: p.IntroHTML, Progress: v.Progress.Sum(pi+1, 0)}
	for si, s := range p.Sections {
		sv := sectionView{Phase: pi + 1, Num: si + 1, Title: s.Title, IntroHTML: s.IntroHTML, DueAfter: s.DueAfter,
			Progress: v.Progress.Sum(pi+1, si+1)}
		for i := range v.CL.Items {
			it := &v.CL.Items[i]
			if it.Phase == pi+1 && it.Section == si+1 && it.Level == 1 {
				sv.Items = append(sv.Items, it)
			}
		}
		pv.Sections = append(pv.Sections, sv)
	}
	return pv
}

// templateItem is the item's place in the template, whose rendering the
// page shows, or nil if the template does not hold the item's text there
// (the snapshot is what was ticked).
func (v *deploymentView) templateItem(it *signoff.Item) *signoff.TemplateItem {
	if ti := v.CL.Template.Item(it.Path); ti != nil && ti.Text == it.Text {
		return ti
	}
	return nil
}

// ItemHTML is the item's text rendered as GitHub renders Markdown
// (sanitised): links, code, emphasis.
func (v *deploymentView) ItemHTML(it *signoff.Item) string {
	if ti := v.templateItem(it); ti != nil {
		return ti.HTML
	}
	return checklist.InlineHTML(it.Text)
}

// ItemBodyHTML is what the template writes under the item's text before
// its sub-items: commands, tables, paragraphs.
func (v *deploymentView) ItemBodyHTML(it *signoff.Item) string {
	if ti := v.templateItem(it); ti != nil {
		return ti.BodyHTML
	}
	return ""
}

// AfterHTML is what stands after the item (and its sub-items) in the
// template, before the next item: shown there.
func (v *deploymentView) AfterHTML(it *signoff.Item) string {
	if ti := v.templateItem(it); ti != nil {
		return ti.AfterHTML
	}
	return ""
}

// Total is the whole checklist's progress: summed once, since an answer
// shows it in several places.
func (v *deploymentView) Total() signoff.Progress {
	if v.total == nil {
		t := v.Progress.Sum(0, 0)
		v.total = &t
	}
	return *v.total
}

func (v *deploymentView) Children(it *signoff.Item) []*signoff.Item { return v.CL.Children(it.Path) }

// Ancestors are the rows a change to the item's state moves besides its own.
func (v *deploymentView) Ancestors(it *signoff.Item) []*signoff.Item { return v.CL.Ancestors(it) }

// State is the item's state as shown: parents follow their children.
func (v *deploymentView) State(it *signoff.Item) signoff.ItemState { return v.CL.Effective(it) }

// ChildCounts is "2/4" for a parent row.
func (v *deploymentView) ChildCounts(it *signoff.Item) string {
	kids := v.CL.Children(it.Path)
	n := 0
	for _, k := range kids {
		if v.CL.Effective(k) != signoff.ItemOpen {
			n++
		}
	}
	return fmt.Sprintf("%d/%d", n, len(kids))
}

// DueAt is when a timed item falls due, once the deployment is live.
func (v *deploymentView) DueAt(it *signoff.Item) *time.Time {
	if it.DueAfter == 0 || v.D.WentLiveAt == nil {
		return nil
	}
	t := v.D.WentLiveAt.Add(it.DueAfter)
	return &t
}

// Overdue reports a timed, open item past its due time.
func (v *deploymentView) Overdue(it *signoff.Item) bool {
	due := v.DueAt(it)
	return due != nil && v.D.Status == signoff.StatusLive && v.State(it) == signoff.ItemOpen && v.Now.After(*due)
}

// OverdueCount counts overdue items for the summary.
func (v *deploymentView) OverdueCount() int { return v.Total().Overdue }

// ItemClass is the item's CSS classes for what it is (a parent,
// conditional); what state it is in is on its row (RowClass), the part a
// change to one of its sub-items swaps.
func (v *deploymentView) ItemClass(it *signoff.Item) string {
	c := "item"
	if it.HasChildren {
		c += " is-parent"
	}
	if it.Conditional {
		c += " is-conditional"
	}
	return c
}

// RowClass is the item row's CSS classes for its state.
func (v *deploymentView) RowClass(it *signoff.Item) string {
	c := "item-row"
	switch v.State(it) {
	case signoff.ItemDone:
		c += " is-done"
	case signoff.ItemNA:
		c += " is-na"
	}
	if v.Overdue(it) {
		c += " is-overdue"
	}
	return c
}

func topPath(path string) string { return signoff.TopPath(path) }

type slotGroup struct {
	Name   string
	Final  bool
	Gate   bool // attests to the items above it
	GoNoGo bool
	Slots  []signoff.Slot
}

// SlotGroups arranges the slots as the template groups them.
func (v *deploymentView) SlotGroups() []slotGroup {
	var out []slotGroup
	for _, s := range v.Slots {
		if len(out) == 0 || out[len(out)-1].Name != s.Group {
			out = append(out, slotGroup{Name: s.Group, Final: s.Final, Gate: s.Gate(), GoNoGo: s.GoNoGo})
		}
		g := &out[len(out)-1]
		g.Slots = append(g.Slots, s)
	}
	return out
}

// SignedCount is how many slots hold a fresh signature.
func (v *deploymentView) SignedCount() int {
	n := 0
	for i := range v.Slots {
		if v.Slots[i].State(v.D.ChecklistRev) == signoff.SlotSigned {
			n++
		}
	}
	return n
}

// HasSignatures reports whether any slot holds a signature, fresh or
// stale: a change to the checklist stales fresh ones.
func (v *deploymentView) HasSignatures() bool {
	for i := range v.Slots {
		if v.Slots[i].Signature != nil {
			return true
		}
	}
	return false
}

func (v *deploymentView) SlotState(s signoff.Slot) signoff.SlotState {
	return s.State(v.D.ChecklistRev)
}

// CanSign says whether to offer "Sign as <role>" to the viewer: not where
// signing could never succeed (another person's request for changes holds
// the slot, or the viewer signed another slot and one person signs one).
// Items still open only wait: the sign page says what. The server checks
// every rule again when the form is posted.
func (v *deploymentView) CanSign(s signoff.Slot) bool {
	if !v.CanEdit() || !v.User.HasRole(s.Role) || v.SlotState(s) == signoff.SlotSigned {
		return false
	}
	if s.Rejection != nil && s.Rejection.By.ID != v.User.ID {
		return false
	}
	if t := v.CL.Template; t == nil || !t.AllowMultipleSlots {
		for _, o := range v.Slots {
			if o.Position != s.Position && o.Signature != nil && o.Signature.Signer.ID == v.User.ID {
				return false
			}
		}
	}
	return true
}

// CanRevoke says whether to offer revoking a standing signature.
func (v *deploymentView) CanRevoke(s signoff.Slot) bool {
	return s.Signature != nil && v.D.Writable() == nil && !v.User.IsAuditor &&
		(s.Signature.Signer.ID == v.User.ID || v.User.IsAdmin)
}

// sectionByPath finds a section by its "phase.section" path.
func (v *deploymentView) sectionByPath(path string) (sectionView, bool) {
	for _, ph := range v.Phases() {
		for _, sec := range ph.Sections {
			if fmt.Sprintf("%d.%d", sec.Phase, sec.Num) == path {
				return sec, true
			}
		}
	}
	return sectionView{}, false
}

// Path is the section's "phase.section", as assignments name it.
func (s sectionView) Path() string { return fmt.Sprintf("%d.%d", s.Phase, s.Num) }

// FirstOpen is the first open leaf item in document order, where the page
// opens once work has started; nil when none is open or nothing started.
func (v *deploymentView) FirstOpen() *signoff.Item {
	if v.D.Status == signoff.StatusDraft {
		return nil
	}
	for i := range v.CL.Items {
		it := &v.CL.Items[i]
		if !it.HasChildren && it.State == signoff.ItemOpen {
			return it
		}
	}
	return nil
}

// AssigneeLabel says who an item is assigned to, for its row.
func AssigneeLabel(a *signoff.Assignee) string {
	if a.Role != 0 {
		return a.Name + " (role)"
	}
	return a.Name
}
