package signoff_test

import (
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

// noticeCase builds a deployment with two timed items under a parent and
// one plain item, and three slots (the last final).
func noticeCase() (*signoff.Deployment, []signoff.Item, []signoff.Slot) {
	d := &signoff.Deployment{ID: 1, Status: signoff.StatusInProgress, ChecklistRev: 5}
	items := []signoff.Item{
		{Path: "1.1.1", State: signoff.ItemOpen},
		{Path: "2.1.1", HasChildren: true, DueAfter: 2 * time.Hour},
		{Path: "2.1.1.1", ParentPath: "2.1.1", State: signoff.ItemOpen, DueAfter: 2 * time.Hour},
		{Path: "2.1.1.2", ParentPath: "2.1.1", State: signoff.ItemOpen, DueAfter: 2 * time.Hour},
	}
	slots := []signoff.Slot{
		{Position: 1, Role: "Deployment Engineer"},
		{Position: 2, Role: "Database Administrator"},
		{Position: 3, Role: "CTO/Technical Director", Final: true},
	}
	return d, items, slots
}

func subjects(ns []signoff.Notice) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.Kind+":"+n.Subject)
	}
	return strings.Join(s, " ")
}

func signed(id int64, rev int64) *signoff.Signature {
	return &signoff.Signature{ID: id, ChecklistRev: rev, Signer: signoff.UserRef{ID: id, Name: "Signer"}}
}

func TestNotices(t *testing.T) {
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	resolve := func(items []signoff.Item) {
		for i := range items {
			items[i].State = signoff.ItemDone
		}
	}
	cases := []struct {
		name  string
		setup func(d *signoff.Deployment, items []signoff.Item, slots []signoff.Slot)
		want  string
	}{
		{"items open: nothing to sign", func(*signoff.Deployment, []signoff.Item, []signoff.Slot) {}, ""},
		{"complete: the non-final slots", func(d *signoff.Deployment, items []signoff.Item, s []signoff.Slot) {
			resolve(items)
		}, "signable:slot/1 signable:slot/2"},
		{"one signed: the other", func(d *signoff.Deployment, items []signoff.Item, s []signoff.Slot) {
			resolve(items)
			s[0].Signature = signed(10, 5)
		}, "signable:slot/2"},
		{"both signed: the final approval", func(d *signoff.Deployment, items []signoff.Item, s []signoff.Slot) {
			resolve(items)
			s[0].Signature, s[1].Signature = signed(10, 5), signed(11, 5)
		}, "signable:slot/3"},
		{"one stale: re-sign it, tell the owner, final waits", func(d *signoff.Deployment, items []signoff.Item, s []signoff.Slot) {
			resolve(items)
			s[0].Signature, s[1].Signature = signed(10, 4), signed(11, 5)
		}, "signable:slot/1 stale:signature/10"},
		{"stale while incomplete: only the owner hears", func(d *signoff.Deployment, items []signoff.Item, s []signoff.Slot) {
			s[0].Signature = signed(10, 4)
		}, "stale:signature/10"},
		{"locked: nothing", func(d *signoff.Deployment, items []signoff.Item, s []signoff.Slot) {
			resolve(items)
			d.LockedAt = &now
		}, ""},
		{"aborted: nothing", func(d *signoff.Deployment, items []signoff.Item, s []signoff.Slot) {
			s[0].Signature = signed(10, 4)
			d.Status = signoff.StatusAborted
		}, ""},
		{"live, past due: the open timed leaves", func(d *signoff.Deployment, items []signoff.Item, s []signoff.Slot) {
			live := now.Add(-2*time.Hour - time.Second)
			d.Status, d.WentLiveAt = signoff.StatusLive, &live
			items[3].State = signoff.ItemNA
		}, "overdue:item/2.1.1.1"},
		{"live, not yet due", func(d *signoff.Deployment, items []signoff.Item, s []signoff.Slot) {
			live := now.Add(-time.Hour)
			d.Status, d.WentLiveAt = signoff.StatusLive, &live
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, items, slots := noticeCase()
			c.setup(d, items, slots)
			cl := signoff.NewChecklist(nil, items, nil)
			if got := subjects(signoff.Notices(d, cl, slots, now)); got != c.want {
				t.Errorf("notices = %q; want %q", got, c.want)
			}
		})
	}
}
