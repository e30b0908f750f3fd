package audit_test

import (
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/audit"
)

// Whoever holds the server's key could edit a record and sign it again.
// Every field the events can back is checked against them: each edit
// below, re-signed with the real key, fails naming the field.
func TestEveryFieldTheEventsBackIsChecked(t *testing.T) {
	t.Parallel()
	run := lifecycle(t)
	file := exportJSON(t, run.final)
	mustVerify(t, file, testSigner.Public())

	base := parse(t, file)
	itemAt := func(path string) int {
		for i, it := range base.Items {
			if it.Path == path {
				return i
			}
		}
		t.Fatalf("no item %s", path)
		return 0
	}
	var na, parent int
	for i, it := range base.Items {
		if it.State == "na" && na == 0 {
			na = i
		}
		if it.HasChildren && parent == 0 {
			parent = i
		}
	}
	changed, evidence := itemAt(changedItem), itemAt(evidenceItem)
	str := func(s string) *string { return &s }
	seq := func(n int64) *int64 { return &n }
	other := "2026-01-02T03:04:05.000000Z"

	cases := []struct {
		edit func(d *audit.Document)
		want string // the start of the message (or all of it)
	}{
		{func(d *audit.Document) { d.Deployment.Service = "voxflow-web" },
			`deployment.service is "voxflow-web" in the record, but replaying the events gives "voxflow-api"`},
		{func(d *audit.Document) { d.Deployment.Environment = "production" },
			`deployment.environment is "production" in the record, but replaying the events gives "staging"`},
		{func(d *audit.Document) { d.Deployment.Version = "v2.5.0" }, `deployment.version is "v2.5.0"`},
		{func(d *audit.Document) { d.Deployment.Status = "aborted" },
			`deployment.status is "aborted" in the record, but replaying the events gives "completed"`},
		{func(d *audit.Document) { d.Deployment.PlannedAt = str(other) },
			`deployment.planned_at is "` + other + `" in the record, but replaying the events gives "2026-11-20T14:00:00.000000Z"`},
		{func(d *audit.Document) { d.Deployment.PlannedAt = nil }, `deployment.planned_at is null in the record`},
		{func(d *audit.Document) { d.Deployment.CreatedAt = other }, `deployment.created_at is "` + other + `"`},
		{func(d *audit.Document) { d.Deployment.CreatedBy.Name = "Mallory" },
			`deployment.created_by is {"id":` + itoa(base.Deployment.CreatedBy.ID) + `,"name":"Mallory"} in the record, but replaying the events gives {"id":` +
				itoa(base.Deployment.CreatedBy.ID) + `,"name":"Alice Chen"}`},
		{func(d *audit.Document) { d.Deployment.CreatedBy.ID++ }, `deployment.created_by is`},
		{func(d *audit.Document) { d.Deployment.WentLiveAt = nil }, `deployment.went_live_at is null in the record`},
		{func(d *audit.Document) { d.Deployment.WentLiveAt = str(other) }, `deployment.went_live_at is "` + other + `"`},
		{func(d *audit.Document) { d.Deployment.CompletedAt = str(other) }, `deployment.completed_at is "` + other + `"`},
		{func(d *audit.Document) { d.Deployment.AbortedAt = str(other) },
			`deployment.aborted_at is "` + other + `" in the record, but replaying the events gives null`},
		{func(d *audit.Document) { d.Deployment.LockedAt = nil }, `deployment.locked_at is null in the record`},
		{func(d *audit.Document) { d.Deployment.ChecklistRev-- }, `deployment.checklist_rev is ` + itoa(base.Deployment.ChecklistRev-1)},
		{func(d *audit.Document) { d.Template.Slug = "other-checklist" }, `template.slug is "other-checklist"`},
		{func(d *audit.Document) { d.Template.Title = "Other Checklist" }, `template.title is "Other Checklist"`},
		{func(d *audit.Document) { d.Template.Version = 2 },
			`template.version is 2 in the record, but replaying the events gives 1`},

		{func(d *audit.Document) { d.Items = d.Items[1:] }, `the record lists 221 items, but replaying the events gives 222`},
		{func(d *audit.Document) { d.Items[0].Path = "1.1.9" }, `items[0].path (item 1.1.1) is "1.1.9"`},
		{func(d *audit.Document) { d.Items[changed].Parent = "" },
			`items[` + itoa(int64(changed)) + `].parent (item 1.1.1.1) is "" in the record, but replaying the events gives "1.1.1"`},
		{func(d *audit.Document) { d.Items[changed].Level = 1 }, `items[` + itoa(int64(changed)) + `].level (item 1.1.1.1) is 1`},
		{func(d *audit.Document) { d.Items[changed].HasChildren = true }, `items[` + itoa(int64(changed)) + `].has_children (item 1.1.1.1) is true`},
		{func(d *audit.Document) { d.Items[changed].State = "open" },
			`items[` + itoa(int64(changed)) + `].state (item 1.1.1.1) is "open" in the record, but replaying the events gives "done"`},
		{func(d *audit.Document) { d.Items[na].NAReason = "Not needed" }, `items[` + itoa(int64(na)) + `].na_reason (item ` + base.Items[na].Path + `) is "Not needed"`},
		{func(d *audit.Document) { d.Items[parent].Effective = "open" }, `items[` + itoa(int64(parent)) + `].effective (item ` + base.Items[parent].Path + `) is "open"`},
		{func(d *audit.Document) { d.Items[changed].StateBy.Name = "Bob Okafor" },
			`items[` + itoa(int64(changed)) + `].state_by (item 1.1.1.1) is {"id":` + itoa(base.Items[changed].StateBy.ID) + `,"name":"Bob Okafor"} in the record, but replaying the events gives {"id":` +
				itoa(base.Items[changed].StateBy.ID) + `,"name":"Sam Patel"}`},
		{func(d *audit.Document) { d.Items[changed].StateBy = nil }, `items[` + itoa(int64(changed)) + `].state_by (item 1.1.1.1) is null`},
		{func(d *audit.Document) { d.Items[changed].StateAt = str(other) }, `items[` + itoa(int64(changed)) + `].state_at (item 1.1.1.1) is "` + other + `"`},
		{func(d *audit.Document) { d.Items[evidence].Evidence = "all good" },
			`items[` + itoa(int64(evidence)) + `].evidence (item ` + evidenceItem + `) is "all good" in the record, but replaying the events gives "` + evidenceText + `"`},
		{func(d *audit.Document) { d.Items[changed].Evidence = "screenshot.png" }, `items[` + itoa(int64(changed)) + `].evidence (item 1.1.1.1) is "screenshot.png"`},
		{func(d *audit.Document) { d.Items[changed].History = d.Items[changed].History[:4] },
			`the record lists 4 items[` + itoa(int64(changed)) + `].history, but replaying the events gives 5`},
		{func(d *audit.Document) { d.Items[changed].History[3].Actor.Name = "Priya Nair" },
			`items[` + itoa(int64(changed)) + `].history[3] (item 1.1.1.1) is {"seq":`},
		{func(d *audit.Document) { d.Items[changed].History[3].NAReason = "Two cores will do" }, `items[` + itoa(int64(changed)) + `].history[3] (item 1.1.1.1)`},

		{func(d *audit.Document) { d.Notes[0].Value = "2026-11-21" },
			`notes[0].value (Deployment Date) is "2026-11-21" in the record, but replaying the events gives "2026-11-20"`},
		{func(d *audit.Document) { d.Notes[0].Name = "Go-live Date" }, `notes[0].name (Deployment Date) is "Go-live Date"`},
		{func(d *audit.Document) { d.Notes[1].Position = 3 }, `notes[1].position`},
		{func(d *audit.Document) { d.Notes[0].UpdatedBy.Name = "Someone" }, `notes[0].updated_by (Deployment Date) is`},
		{func(d *audit.Document) { d.Notes[0].UpdatedAt = str(other) }, `notes[0].updated_at (Deployment Date) is "` + other + `"`},
		{func(d *audit.Document) { d.Notes[1].UpdatedAt = str(other) }, `notes[1].updated_at`},
		{func(d *audit.Document) { d.Notes[0].History = d.Notes[0].History[:0] }, `the record lists 0 notes[0].history, but replaying the events gives 1`},
		{func(d *audit.Document) { d.Notes[0].History[0].Value = "2026-11-19" }, `notes[0].history[0] (Deployment Date) is`},

		{func(d *audit.Document) { d.Slots[2].Role = "Security Lead" }, `slots[2].role (Security Engineer) is "Security Lead"`},
		{func(d *audit.Document) { d.Slots[0].State = "stale" },
			`slots[0].state (Deployment Engineer) is "stale" in the record, but replaying the events gives "signed"`},
		{func(d *audit.Document) { d.Slots[0].SignoffSeq = seq(*d.Slots[0].SignoffSeq - 1) }, `slots[0].signoff_seq (Deployment Engineer) is`},
		{func(d *audit.Document) { d.Slots[7].Final = false }, `slots[7].final (CTO/Technical Director) is false in the record, but replaying the events gives true`},
		{func(d *audit.Document) { d.Slots[3].Final = true }, `slots[3].final (DevOps Lead) is true`},
		{func(d *audit.Document) { d.Slots = d.Slots[:7] }, `the record lists 7 slots, but replaying the events gives 8`},

		{func(d *audit.Document) { d.Signoffs[0].Status = "standing" },
			`signoffs[0].status (slot 1, Deployment Engineer, Alice Chen) is "standing" in the record, but replaying the events gives "revoked"`},
		{func(d *audit.Document) { d.Signoffs[1].Status = "revoked" },
			`signoffs[1].status (slot 2, Database Administrator, Dana Whitfield) is "revoked" in the record, but replaying the events gives "superseded"`},
		{func(d *audit.Document) { d.Signoffs[4].Status = "stale" }, `signoffs[4].status (slot 3, Security Engineer, Marcus Lee) is "stale"`},
		{func(d *audit.Document) { d.Signoffs[0].EndedAt = str(other) }, `signoffs[0].ended_at (slot 1, Deployment Engineer, Alice Chen) is "` + other + `"`},
		{func(d *audit.Document) { d.Signoffs[0].EndedBy.Name = "Rachel Kim" }, `signoffs[0].ended_by (slot 1, Deployment Engineer, Alice Chen) is`},
		{func(d *audit.Document) { d.Signoffs[1].EndedBy = nil }, `signoffs[1].ended_by (slot 2, Database Administrator, Dana Whitfield) is null`},
		{func(d *audit.Document) { d.Signoffs[0].EndReason = "Changed my mind" },
			`signoffs[0].end_reason (slot 1, Deployment Engineer, Alice Chen) is "Changed my mind" in the record, but replaying the events gives "` + revokeReason + `"`},
		{func(d *audit.Document) { d.Signoffs[4].MultipleSlotsAllowed = false },
			`signoffs[4].multiple_slots_allowed (slot 3, Security Engineer, Marcus Lee) is false in the record, but replaying the events gives true`},
		{func(d *audit.Document) { d.Signoffs[6].MultipleSlotsAllowed = true }, `signoffs[6].multiple_slots_allowed (slot 5, Product Manager, Priya Nair) is true`},
		{func(d *audit.Document) { d.Signoffs[2].PrintedName = "A. Chen" }, `signoffs[2].printed_name (slot 1, Deployment Engineer, Alice Chen) is "A. Chen"`},
		{func(d *audit.Document) { d.Signoffs[2].SignedAt = other }, `signoffs[2].signed_at (slot 1, Deployment Engineer, Alice Chen) is "` + other + `"`},
		{func(d *audit.Document) { d.Signoffs[2].Meaning = "I reviewed this deployment." }, `signoffs[2].meaning (slot 1, Deployment Engineer, Alice Chen) is`},
		{func(d *audit.Document) { d.Signoffs[2].SignerID++ }, `signoffs[2].signer_id (slot 1, Deployment Engineer, Alice Chen) is`},
		{func(d *audit.Document) { d.Signoffs[2].Role = "DevOps Lead" }, `signoffs[2].role (slot 1, Deployment Engineer, Alice Chen) is "DevOps Lead"`},
		{func(d *audit.Document) { d.Signoffs[2].Slot = 4 }, `signoffs[2].slot (slot 1, Deployment Engineer, Alice Chen) is 4`},
		{func(d *audit.Document) { d.Signoffs[2].ChecklistRev-- }, `signoffs[2].checklist_rev (slot 1, Deployment Engineer, Alice Chen) is`},
		{func(d *audit.Document) { d.Signoffs[2].ChecklistSHA256 = strings.Repeat("ab", 32) }, `signoffs[2].checklist_sha256 (slot 1, Deployment Engineer, Alice Chen) is`},
		{func(d *audit.Document) { d.Signoffs[2].AuditSeq = d.Signoffs[0].AuditSeq },
			`signoffs[2].audit_seq (slot 1, Deployment Engineer, Alice Chen) is ` + itoa(base.Signoffs[0].AuditSeq) +
				` in the record, but replaying the events gives ` + itoa(base.Signoffs[2].AuditSeq)},
		{func(d *audit.Document) { d.Signoffs = d.Signoffs[1:] }, `signoffs[0].audit_seq (slot 1, Deployment Engineer, Alice Chen) is`},
		{func(d *audit.Document) { d.Signoffs = d.Signoffs[:9] },
			`the record lists 9 sign-offs, but the chain has 10 signoff.sign events: event ` + itoa(base.Signoffs[9].AuditSeq) + ` is not listed`},
		{func(d *audit.Document) { d.Signoffs = append(d.Signoffs, d.Signoffs[9]) },
			`signoffs[10] (slot 8, CTO/Technical Director, Rachel Kim) points at event ` + itoa(base.Signoffs[9].AuditSeq) + `, but the chain has only 10 signoff.sign events`},

		{func(d *audit.Document) { d.Comments[0].Body = "Pool at 400" },
			`comments[0] (on item ` + commentItem + `) is {"item":"` + commentItem + `","at":`},
		{func(d *audit.Document) { d.Comments[0].Author.Name = "Alice Chen" }, `comments[0] (on item ` + commentItem + `) is`},
		{func(d *audit.Document) { d.Comments[0].At = other }, `comments[0] (on item ` + commentItem + `) is {"item":"` + commentItem + `","at":"` + other + `"`},
		{func(d *audit.Document) { d.Comments[0].Item = "1.1.2.4" }, `comments[0] (on item ` + commentItem + `) is {"item":"1.1.2.4"`},
		{func(d *audit.Document) { d.Comments = d.Comments[:0] }, `the record lists 0 comments, but replaying the events gives 2`},
		{func(d *audit.Document) { d.Comments = append(d.Comments, d.Comments[0]) }, `the record lists 3 comments, but replaying the events gives 2`},

		{func(d *audit.Document) { d.ExportedAt = other },
			`exported_at is ` + other + `, but the checkpoint was signed at ` + base.Checkpoint.SignedAt},
	}
	for _, c := range cases {
		doc := parse(t, file)
		c.edit(doc)
		_, err := audit.Verify(reseal(t, doc, testSigner), testSigner.Public())
		if err == nil {
			t.Errorf("an edit re-signed with the real key verifies; want %q", c.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("err = %v\nwant %s…", err, c.want)
		}
	}

	// What the events cannot back: the template's texts and each slot's
	// group. Only the signature protects them (docs/audit.md says so), so
	// edits re-signed with the real key verify.
	for name, edit := range map[string]func(d *audit.Document){
		"item text":   func(d *audit.Document) { d.Items[changed].Text = "CPU: 2 cores will do" },
		"phase":       func(d *audit.Document) { d.Items[changed].Phase = "Phase" },
		"section":     func(d *audit.Document) { d.Items[changed].Section = "Section" },
		"conditional": func(d *audit.Document) { d.Items[changed].Conditional = true },
		"slot group":  func(d *audit.Document) { d.Slots[0].Group = "Other Sign-off" },
	} {
		doc := parse(t, file)
		edit(doc)
		if _, err := audit.Verify(reseal(t, doc, testSigner), testSigner.Public()); err != nil {
			t.Errorf("%s: the events cannot back it, yet verify refuses the edit: %v (update docs/audit.md)", name, err)
		}
	}
}
