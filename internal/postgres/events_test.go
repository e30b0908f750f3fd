package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

// Every kind of change the store records, on a deployment's chain and on
// the system chain, reads back strictly as its typed body: what the store
// writes is what every reader reads.
func TestEveryEventTheStoreWritesReadsBackTyped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// The system chain: the first admin, people, roles, templates, tokens,
	// webhooks.
	setup, err := db.CreateSetupToken(ctx)
	must(err)
	admin, err := db.SetupFirstAdmin(ctx, setup, signoff.NewUser{Email: "root@example.com", Name: "Rachel <Root>", Password: testPassword})
	must(err)
	by := as(admin)
	eng := addUser(t, db, "Alice Chen", "Deployment Engineer")
	dba := addUser(t, db, "Dana Whitfield", "Database Administrator")
	cto := addUser(t, db, "Carl Tran")
	invited, _, err := db.Invite(ctx, signoff.NewUser{Email: "ivy@example.com", Name: "Ivy", Roles: []string{"DevOps Lead"}}, by)
	must(err)
	_, err = db.NewInviteToken(ctx, invited.ID, by)
	must(err)
	must(db.SetPassword(ctx, invited.ID, "another good password", by))
	must(db.SetPermissions(ctx, eng.ID, false, true, by))
	must(db.SetPermissions(ctx, eng.ID, false, false, by))
	must(db.SetActive(ctx, dba.ID, false, by))
	must(db.SetActive(ctx, dba.ID, true, by))
	_, err = db.CreateRole(ctx, "Release Captain", by)
	must(err)
	must(db.GrantRole(ctx, cto.ID, "CTO/Technical Director", by))
	must(db.GrantRole(ctx, cto.ID, "Release Captain", by))
	must(db.WithdrawRole(ctx, cto.ID, "Release Captain", by))
	_, _, err = db.ImportTemplate(ctx, []byte(smallTemplate), "", by)
	must(err)
	must(db.SetAllowMultipleSlots(ctx, smallSlug, false, by))
	tok, _, err := db.CreateToken(ctx, signoff.NewToken{Name: "ci", UserID: eng.ID}, by)
	must(err)
	must(db.RevokeToken(ctx, tok.ID, by))
	hook, err := db.CreateWebhook(ctx, signoff.NewWebhook{URL: "https://hooks.example.com/a?b=<c>&d", Events: []string{signoff.HookSignoffSigned}}, by)
	must(err)
	must(db.DeleteWebhook(ctx, hook.ID, by))

	// A deployment's chain: every action, with the optional parts of each.
	d := newSmallDeployment(t, db, eng, "voxflow-api")
	tick(t, db, d, "1.1.1.1", signoff.ItemDone, eng)
	_, err = db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1.2", State: signoff.ItemNA, NAReason: "no tests <yet>"}, as(eng))
	must(err)
	_, err = db.AddComment(ctx, d.ID, "1.1.2", "Tagged & pushed", as(eng))
	must(err)
	_, err = db.SetEvidence(ctx, d.ID, "1.1.2", "https://ci.example.com/1", as(eng))
	must(err)
	_, err = db.SetNote(ctx, d.ID, 1, "None.\nReally.", as(eng))
	must(err)
	for _, p := range []string{"1.1.2", "1.2.1", "1.2.2"} {
		tick(t, db, d, p, signoff.ItemDone, eng)
	}
	mustSign(t, db, d, 2, dba)
	must(db.Revoke(ctx, d.ID, 2, "Too early", dba, "web"))
	mustSign(t, db, d, 2, dba)
	tick(t, db, d, "1.2.2", signoff.ItemOpen, eng)
	tick(t, db, d, "1.2.2", signoff.ItemDone, eng)
	mustSign(t, db, d, 2, dba) // over its stale signature
	mustSign(t, db, d, 1, eng)
	_, err = db.SetStatus(ctx, d.ID, signoff.StatusLive, "", as(eng))
	must(err)
	mustSign(t, db, d, 3, cto) // the final approval
	aborted := newSmallDeployment(t, db, eng, "voxflow-web")
	_, err = db.SetStatus(ctx, aborted.ID, signoff.StatusAborted, "Cancelled", as(eng))
	must(err)

	seen := map[string]bool{}
	for _, chain := range []int64{0, d.ID, aborted.ID} {
		for _, ev := range checkChain(t, db, chain) {
			got, err := signoff.DecodeEvent([]byte(ev.Payload))
			if err != nil {
				t.Fatalf("chain %d event %d: %v\n%s", chain, ev.Seq, err, ev.Payload)
			}
			if got.Target.String() != ev.Target || got.Action != ev.Action {
				t.Errorf("chain %d event %d: read as %s on %s, stored as %s on %s", chain, ev.Seq, got.Action, got.Target, ev.Action, ev.Target)
			}
			seen[fmt.Sprintf("%T", got.Body)] = true
			seen[shape(got.Body)] = true
		}
	}
	for _, want := range []string{
		"*signoff.SetupAdminEvent", "*signoff.UserCreateEvent", "invited", "*signoff.UserInvitationEvent",
		"*signoff.UserPasswordEvent", "*signoff.UserPermissionsEvent", "*signoff.UserActiveEvent", "activated",
		"*signoff.RoleCreateEvent", "*signoff.RoleGrantEvent", "*signoff.RoleWithdrawEvent",
		"*signoff.TemplateImportEvent", "*signoff.TemplateSettingsEvent", "*signoff.TokenCreateEvent",
		"*signoff.TokenRevokeEvent", "*signoff.WebhookCreateEvent", "*signoff.WebhookDeleteEvent",
		"*signoff.DeploymentCreateEvent", "*signoff.DeploymentStatusEvent", "aborted with a reason",
		"*signoff.ItemStateEvent", "N/A on a parent", "*signoff.ItemCommentEvent", "*signoff.ItemEvidenceEvent",
		"*signoff.NoteEditEvent", "*signoff.SignoffSignEvent", "over a stale signature", "final approval",
		"*signoff.SignoffRevokeEvent",
	} {
		if !seen[want] {
			t.Errorf("no event read as %s", want)
		}
	}
}

// shape names the optional parts an event has.
func shape(b signoff.EventBody) string {
	switch b := b.(type) {
	case *signoff.UserCreateEvent:
		if b.After.Invited {
			return "invited"
		}
	case *signoff.UserActiveEvent:
		if b.After.Active {
			return "activated"
		}
	case *signoff.DeploymentStatusEvent:
		if b.After.Reason != "" {
			return "aborted with a reason"
		}
	case *signoff.ItemStateEvent:
		if len(b.After.Items) > 0 {
			return "N/A on a parent"
		}
	case *signoff.SignoffSignEvent:
		switch {
		case b.After.Locked:
			return "final approval"
		case b.Before != nil:
			return "over a stale signature"
		}
	}
	return ""
}
