package signoff

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// weird is text that exercises every escape encoding/json makes: HTML
// characters, quotes, backslashes, control characters, U+2028, and
// characters beyond ASCII.
const weird = "Ünïcødé <b>&amp;</b> \u2028 \"q\" \\ \t\n✓ 🚀"

// sample is one payload shape: the typed body the store writes now, and
// the before/after maps the store wrote before the types (copied from the
// old writers, with their conditional keys).
type sample struct {
	name      string
	target    Target
	body      EventBody
	oldBefore any
	oldAfter  any
}

// samples covers every body type, with each optional key both present and
// absent, and slices both nil and empty.
func samples() []sample {
	var out []sample
	add := func(name string, target Target, body EventBody, before, after any) {
		out = append(out, sample{name, target, body, before, after})
	}

	// deployment.create (postgres.CreateDeployment)
	createMap := func(paths, notes, slots []string, planned *time.Time) map[string]any {
		after := map[string]any{
			"template": "voxflow-" + weird, "template_version": 3, "template_title": "VoxFlow " + weird,
			"service": "voxflow-api", "environment": "production", "version": "v2.4.0<",
			"items": paths, "notes": notes, "slots": slots,
		}
		if planned != nil {
			after["planned_at"] = planned.UTC().Format(time.RFC3339)
		}
		return after
	}
	planned := time.Date(2026, 11, 20, 14, 0, 0, 123456789, time.FixedZone("CET", 3600))
	for _, c := range []struct {
		name                string
		paths, notes, slots []string
		planned             *time.Time
	}{
		{"full", []string{"1.1.1", "1.1.1.1", "1.1.1.1.1"}, []string{"Deployment Version", weird}, []string{"Deployment Engineer", "CTO/Technical Director"}, &planned},
		{"unplanned, no notes", []string{"1.1.1"}, nil, []string{"Deployment Engineer"}, nil},
		{"empty", []string{}, []string{}, nil, nil},
	} {
		a := DeploymentCreateAfter{Environment: "production", Items: c.paths, Notes: c.notes, Service: "voxflow-api",
			Slots: c.slots, Template: "voxflow-" + weird, TemplateTitle: "VoxFlow " + weird, TemplateVersion: 3, Version: "v2.4.0<"}
		if c.planned != nil {
			a.PlannedAt = c.planned.UTC().Format(time.RFC3339)
		}
		add("deployment.create "+c.name, DeploymentTarget(42), &DeploymentCreateEvent{After: a}, nil, createMap(c.paths, c.notes, c.slots, c.planned))
	}

	// deployment.status (postgres.SetStatus)
	for _, reason := range []string{"", weird} {
		after := map[string]any{"status": StatusAborted}
		if reason != "" {
			after["reason"] = reason
		}
		add("deployment.status reason="+strconv.Quote(reason), DeploymentTarget(42),
			&DeploymentStatusEvent{Before: DeploymentStatusBefore{Status: StatusLive}, After: DeploymentStatusAfter{Reason: reason, Status: StatusAborted}},
			map[string]any{"status": StatusLive}, after)
	}

	// item.state: a struct from the start (postgres.ItemStateAfter).
	type oldItemState struct {
		State    ItemState `json:"state"`
		NAReason string    `json:"na_reason"`
		Items    []string  `json:"items,omitempty"`
	}
	add("item.state tick", ItemTarget("1.2.3.4"),
		&ItemStateEvent{Before: ItemStateBefore{State: ItemNA, NAReason: weird}, After: ItemStateAfter{State: ItemDone}},
		oldItemState{State: ItemNA, NAReason: weird}, oldItemState{State: ItemDone})
	add("item.state N/A on a parent", ItemTarget("1.2.3"),
		&ItemStateEvent{Before: ItemStateBefore{State: ItemOpen}, After: ItemStateAfter{State: ItemNA, NAReason: weird, Items: []string{"1.2.3.1", "1.2.3.2"}}},
		oldItemState{State: ItemOpen}, oldItemState{State: ItemNA, NAReason: weird, Items: []string{"1.2.3.1", "1.2.3.2"}})

	// item.comment, item.evidence, note.edit (postgres.AddComment, SetEvidence, SetNote)
	add("item.comment", ItemTarget("1.1.1"), &ItemCommentEvent{After: ItemCommentAfter{Body: weird, Comment: 7}},
		nil, map[string]any{"comment": int64(7), "body": weird})
	add("item.evidence", ItemTarget("1.1.1.1.1"), &ItemEvidenceEvent{Before: ItemEvidenceBefore{}, After: ItemEvidenceAfter{Evidence: weird}},
		map[string]string{"evidence": ""}, map[string]string{"evidence": weird})
	fileSum := strings.Repeat("0123456789abcdef", 4)
	add("item.comment with a file", ItemTarget("1.1.1"), &ItemCommentEvent{After: ItemCommentAfter{Body: weird, Comment: 7,
		ContentType: "image/png", File: 3, Name: weird, SHA256: fileSum, Size: 1234}},
		nil, map[string]any{"comment": int64(7), "body": weird, "content_type": "image/png", "file": int64(3), "name": weird, "sha256": fileSum, "size": int64(1234)})
	add("item.file", ItemTarget("1.1.1"), &ItemFileEvent{After: ItemFileAfter{ContentType: "text/plain; charset=utf-8", File: 4, Name: weird, SHA256: fileSum, Size: 9}},
		nil, map[string]any{"content_type": "text/plain; charset=utf-8", "file": int64(4), "name": weird, "sha256": fileSum, "size": int64(9)})
	add("item.assign a person", ItemTarget("1.1.1"), &ItemAssignEvent{After: ItemAssignAfter{Name: weird, User: 5}},
		nil, map[string]any{"name": weird, "user": int64(5)})
	add("item.assign a section to a role", SectionTarget("2.4"), &ItemAssignEvent{After: ItemAssignAfter{Items: []string{"2.4.1", "2.4.1.1"}, Name: "DBA", Role: 2}},
		nil, map[string]any{"items": []string{"2.4.1", "2.4.1.1"}, "name": "DBA", "role": int64(2)})
	add("item.assign cleared", ItemTarget("1.1.1"), &ItemAssignEvent{}, nil, map[string]any{})
	add("note.edit", NoteTarget(6), &NoteEditEvent{Before: NoteEditBefore{Name: "Issues", Value: ""}, After: NoteEditAfter{Name: "Issues", Value: weird}},
		map[string]string{"name": "Issues", "value": ""}, map[string]string{"name": "Issues", "value": weird})

	// signoff.sign (postgres.Sign): with and without a replaced stale
	// signature, the several-slots setting and the final approval.
	sum := hex.EncodeToString(bytes.Repeat([]byte{0xab}, 32))
	for _, c := range []struct {
		name                  string
		stale, multiple, last bool
	}{{"plain", false, false, false}, {"over a stale one", true, false, false}, {"several slots", false, true, false}, {"final", true, true, true}} {
		after := map[string]any{
			"slot": 3, "role": "Security " + weird, "signer_id": int64(5), "printed_name": weird,
			"meaning": Meaning("Security " + weird), "checklist_sha256": sum,
			"checklist_rev": int64(12),
		}
		a := SignoffSignAfter{ChecklistRev: 12, ChecklistSHA256: sum, Meaning: Meaning("Security " + weird),
			PrintedName: weird, Role: "Security " + weird, SignerID: 5, Slot: 3}
		if c.multiple {
			after["multiple_slots_allowed"] = true
			a.MultipleSlots = true
		}
		if c.last {
			after["status"] = StatusCompleted
			after["locked"] = true
			a.Status, a.Locked = StatusCompleted, true
		}
		var before any
		e := &SignoffSignEvent{After: a}
		if c.stale {
			before = map[string]any{"signature": int64(9), "signer_id": int64(4), "printed_name": weird, "state": "stale"}
			e.Before = &SignoffSignBefore{PrintedName: weird, Signature: 9, SignerID: 4, State: "stale"}
		}
		add("signoff.sign "+c.name, SlotTarget(3), e, before, after)
	}
	// Since issue 13 a signature records the credential it was given
	// with (signed_with, absent from older ones, so theirs are unchanged).
	for _, w := range []SignedWith{
		{Method: SignedWithPassword},
		{Method: SignedWithPasskey, Credential: "q83vEjRWeJA"},
		{Method: SignedWithSSO, Issuer: "https://login.example.com/" + weird, AuthTime: "2026-12-07T10:00:00Z"},
	} {
		with := map[string]string{"method": w.Method}
		for k, v := range map[string]string{"credential": w.Credential, "issuer": w.Issuer, "auth_time": w.AuthTime} {
			if v != "" {
				with[k] = v
			}
		}
		after := map[string]any{"slot": 3, "role": "DBA", "signer_id": int64(5), "printed_name": "Dana",
			"meaning": Meaning("DBA"), "checklist_sha256": sum, "checklist_rev": int64(12), "signed_with": with}
		add("signoff.sign with "+w.Method, SlotTarget(3), &SignoffSignEvent{After: SignoffSignAfter{ChecklistRev: 12, ChecklistSHA256: sum,
			Meaning: Meaning("DBA"), PrintedName: "Dana", Role: "DBA", SignedWith: &w, SignerID: 5, Slot: 3}}, nil, after)
	}
	add("signoff.revoke", SlotTarget(8), &SignoffRevokeEvent{
		Before: SignoffRevokeBefore{PrintedName: weird, Role: "CTO", Signature: 11}, After: SignoffRevokeAfter{Reason: weird, Revoked: true}},
		map[string]any{"signature": int64(11), "role": "CTO", "printed_name": weird}, map[string]any{"revoked": true, "reason": weird})
	add("signoff.reject", SlotTarget(2), &SignoffRejectEvent{After: SignoffRejectAfter{Comment: weird, PrintedName: weird, Role: "DBA", UserID: 5}},
		nil, map[string]any{"comment": weird, "printed_name": weird, "role": "DBA", "user_id": int64(5)})
	add("signoff.withdraw", SlotTarget(2), &SignoffWithdrawEvent{
		Before: SignoffWithdrawBefore{Comment: weird, PrintedName: weird, RejectedSeq: 9}, After: SignoffWithdrawAfter{Withdrawn: true}},
		map[string]any{"comment": weird, "printed_name": weird, "rejected_seq": int64(9)}, map[string]any{"withdrawn": true})
	gated := DeploymentCreateAfter{Environment: "production", Gates: []int{2, 0}, Items: []string{"1.1.1", "1.1.2"},
		Service: "voxflow-api", Slots: []string{"DBA", "CTO"}, Template: "voxflow-" + weird, TemplateTitle: "VoxFlow " + weird,
		TemplateVersion: 3, Version: "v2.4.0<"}
	gm := createMap([]string{"1.1.1", "1.1.2"}, nil, []string{"DBA", "CTO"}, nil)
	gm["gates"] = []int{2, 0}
	add("deployment.create with gates", DeploymentTarget(42), &DeploymentCreateEvent{After: gated}, nil, gm)

	// The system chain (postgres users.go, setup.go, roles.go, templates.go, tokens.go, webhooks.go).
	for _, c := range []struct {
		name    string
		roles   []string
		invited bool
	}{{"with roles", []string{"DBA", weird}, false}, {"no roles", nil, false}, {"invited", []string{"DBA"}, true}} {
		after := map[string]any{"email": "a@example.com", "name": weird, "admin": false, "auditor": true, "roles": c.roles}
		if c.invited {
			after["invited"] = true
		}
		add("user.create "+c.name, UserTarget(3), &UserCreateEvent{After: UserCreateAfter{Auditor: true, Email: "a@example.com",
			Invited: c.invited, Name: weird, Roles: c.roles}}, nil, after)
	}
	add("user.create setup", UserTarget(1), &SetupAdminEvent{After: SetupAdminAfter{Admin: true, Email: "a@example.com", Name: weird, Setup: true}},
		nil, map[string]any{"email": "a@example.com", "name": weird, "admin": true, "setup": true})
	add("user.update permissions", UserTarget(3), &UserPermissionsEvent{Before: UserPermissions{Admin: true}, After: UserPermissions{Auditor: true}},
		map[string]bool{"admin": true, "auditor": false}, map[string]bool{"admin": false, "auditor": true})
	add("user.update password", UserTarget(3), &UserPasswordEvent{After: UserPasswordAfter{Password: "changed"}},
		nil, map[string]any{"password": "changed"})
	add("user.update password from invitation", UserTarget(3), &UserPasswordEvent{After: UserPasswordAfter{Password: "set from invitation"}},
		nil, map[string]string{"password": "set from invitation"})
	add("user.update invitation", UserTarget(3), &UserInvitationEvent{After: UserInvitationAfter{Invitation: "issued"}},
		nil, map[string]string{"invitation": "issued"})

	// Account changes (issue 13): no old writer, so the maps show the
	// layout the types must keep (keys sorted, as everywhere).
	add("user.update password reset", UserTarget(3), &UserPasswordEvent{After: UserPasswordAfter{Password: "reset"}},
		nil, map[string]string{"password": "reset"})
	add("user.update reset link", UserTarget(3), &UserResetEvent{After: UserResetAfter{Reset: "issued", Mailed: true}},
		nil, map[string]any{"reset": "issued", "mailed": true})
	add("user.update sso link", UserTarget(3), &SSOLinkEvent{After: SSOLinkAfter{Issuer: "https://idp.example.com/" + weird, Subject: "00u1" + weird}},
		nil, map[string]string{"issuer": "https://idp.example.com/" + weird, "subject": "00u1" + weird})
	add("user.create sso", UserTarget(3), &SSOCreateEvent{After: SSOCreateAfter{Admin: true, Email: "x@example.com", Issuer: "https://idp.example.com",
		Name: weird, Roles: []string{"DevOps Lead"}, Subject: "248289761001"}},
		nil, map[string]any{"admin": true, "auditor": false, "email": "x@example.com", "issuer": "https://idp.example.com",
			"name": weird, "roles": []string{"DevOps Lead"}, "subject": "248289761001"})
	add("user.create sso, no roles", UserTarget(3), &SSOCreateEvent{After: SSOCreateAfter{Email: "x@example.com", Issuer: "https://idp.example.com", Name: "X", Subject: "s"}},
		nil, map[string]any{"admin": false, "auditor": false, "email": "x@example.com", "issuer": "https://idp.example.com", "name": "X", "roles": nil, "subject": "s"})
	add("user.sync", UserTarget(3), &UserSyncEvent{Before: UserAccess{Roles: []string{"CTO/Technical Director"}}, After: UserAccess{Admin: true}},
		map[string]any{"admin": false, "auditor": false, "roles": []string{"CTO/Technical Director"}},
		map[string]any{"admin": true, "auditor": false, "roles": nil})
	add("session.end", UserTarget(3), &SessionEndEvent{After: SessionEndAfter{Ended: 2, Which: "others"}},
		nil, map[string]any{"ended": 2, "which": "others"})
	add("passkey.register", UserTarget(3), &PasskeyRegisterEvent{After: PasskeyAfter{Credential: "AQID", Name: weird}},
		nil, map[string]string{"credential": "AQID", "name": weird})
	add("passkey.remove", UserTarget(3), &PasskeyRemoveEvent{Before: PasskeyAfter{Credential: "AQID", Name: "Laptop"}},
		map[string]string{"credential": "AQID", "name": "Laptop"}, nil)
	add("user.deactivate", UserTarget(3), &UserActiveEvent{Before: UserActive{Active: true}, After: UserActive{Active: false}},
		map[string]bool{"active": true}, map[string]bool{"active": false})
	add("user.activate", UserTarget(3), &UserActiveEvent{Before: UserActive{Active: false}, After: UserActive{Active: true}},
		map[string]bool{"active": false}, map[string]bool{"active": true})
	add("role.create", RoleTarget(4), &RoleCreateEvent{After: RoleCreateAfter{Name: weird}}, nil, map[string]string{"name": weird})
	add("role.grant", UserTarget(3), &RoleGrantEvent{After: UserRole{Role: weird}}, nil, map[string]string{"role": weird})
	add("role.withdraw", UserTarget(3), &RoleWithdrawEvent{Before: UserRole{Role: weird}}, map[string]string{"role": weird}, nil)
	add("template.import", TemplateTarget("voxflow-production"), &TemplateImportEvent{After: TemplateImportAfter{
		Items: 222, Notes: 6, Phases: 6, Sections: 19, SHA256: sum, Slots: 8, Title: weird, Version: 2}},
		nil, map[string]any{"title": weird, "version": 1 + 1, "sha256": sum,
			"phases": 6, "sections": 19, "items": 222, "slots": 8, "notes": 6})
	add("template.settings", TemplateTarget("voxflow"), &TemplateSettingsEvent{After: TemplateSettings{AllowMultipleSlots: true}},
		map[string]bool{"allow_multiple_slots": false}, map[string]bool{"allow_multiple_slots": true})
	add("token.create", TokenTarget(5), &TokenCreateEvent{After: TokenCreateAfter{Name: weird, Prefix: "so_abc", UserID: 3, UserName: weird}},
		nil, map[string]any{"name": weird, "user_id": int64(3), "user_name": weird, "prefix": "so_abc"})
	add("token.revoke", TokenTarget(5), &TokenRevokeEvent{Before: TokenRevokeBefore{Name: weird, Prefix: "so_abc", UserID: 3}, After: TokenRevokeAfter{Revoked: true}},
		map[string]any{"name": weird, "user_id": int64(3), "prefix": "so_abc"}, map[string]any{"revoked": true})
	for _, events := range [][]string{{}, {"signoff.signed", "items.overdue"}} {
		add(fmt.Sprintf("webhook.create %d events", len(events)), WebhookTarget(2), &WebhookCreateEvent{After: WebhookCreateAfter{Events: events, Format: "slack", URL: "https://x.example/?a=1&b=<2>"}},
			nil, map[string]any{"url": "https://x.example/?a=1&b=<2>", "format": "slack", "events": events})
	}
	add("webhook.delete", WebhookTarget(2), &WebhookDeleteEvent{Before: WebhookDeleteBefore{URL: "https://x.example/"}}, map[string]any{"url": "https://x.example/"}, nil)
	return out
}

// envelope is a payload's envelope for a change, as the store fills it.
func envelope(ch Change) EventPayload {
	return EventPayload{V: 1, Chain: "deployment/42", Seq: 7, At: "2026-11-20T14:03:12.123456Z",
		Actor: ch.Actor, Action: ch.Action, Target: ch.Target}
}

func (s sample) payload(t testing.TB) []byte {
	t.Helper()
	ch := NewChange(EventActor{ID: 5, Name: weird, Via: "web"}, s.target, s.body)
	b, err := EncodePayload(envelope(ch), ch.Before, ch.After)
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	return b
}

// Every payload type writes, byte for byte, what the map it replaced
// wrote: the chain hashes these bytes, so new events must be as old ones.
func TestPayloadsAreWhatTheMapsWrote(t *testing.T) {
	for _, s := range samples() {
		ch := NewChange(EventActor{ID: 5, Name: weird, Via: "web"}, s.target, s.body)
		old, err := EncodePayload(envelope(ch), s.oldBefore, s.oldAfter)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.payload(t); !bytes.Equal(got, old) {
			t.Errorf("%s:\n typed %s\n   map %s", s.name, got, old)
		}
	}
}

// What is written reads back as what was written, through the one decoder.
func TestPayloadsReadBack(t *testing.T) {
	for _, s := range samples() {
		got, err := DecodeEvent(s.payload(t))
		if err != nil {
			t.Errorf("%s: %v", s.name, err)
			continue
		}
		if !reflect.DeepEqual(got.Body, s.body) || got.Target != s.target || got.Action != s.body.Action() {
			t.Errorf("%s: read back %#v on %v, want %#v on %v", s.name, got.Body, got.Target, s.body, s.target)
		}
	}
}

// Every action in audit.go has a payload type, but deployment.lock, which
// nothing records (the final approval's signoff.sign locks).
func TestEveryActionHasAPayloadType(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "audit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	sampled := map[string]bool{}
	for _, s := range samples() {
		sampled[s.body.Action()] = true
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || !strings.HasPrefix(vs.Names[0].Name, "Act") {
			return true
		}
		action, _ := strconv.Unquote(vs.Values[0].(*ast.BasicLit).Value)
		n++
		_, decodable := bodies[action]
		switch {
		case action == ActDeploymentLock:
			if decodable {
				t.Errorf("%s has a payload type, but nothing records it", action)
			}
		case !decodable:
			t.Errorf("%s (%s) has no payload type", vs.Names[0].Name, action)
		case !sampled[action]:
			t.Errorf("%s has no sample in this test", action)
		}
		return true
	})
	if n < 20 {
		t.Fatalf("found only %d actions in audit.go", n)
	}
}

// testdata/old-payloads.json holds payloads that the code before the typed
// payloads wrote (from maps) for every kind of change, on both chains:
// every shape of every action (each optional key present and absent), and
// text that needs escaping. They were taken from a run of that code (the
// lifecycle of internal/audit's tests, an aborted deployment, every writer
// of the system chain). Each reads back strictly, and the typed event it
// reads as is written byte for byte as the old code wrote it.
func TestOldPayloadsReadBackByteForByte(t *testing.T) {
	raw, err := os.ReadFile("testdata/old-payloads.json")
	if err != nil {
		t.Fatal(err)
	}
	var payloads []string
	if err := json.Unmarshal(raw, &payloads); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for i, p := range payloads {
		ev, err := DecodeEvent([]byte(p))
		if err != nil {
			t.Errorf("payload %d: %v\n%s", i, err, p)
			continue
		}
		ch := NewChange(ev.Actor, ev.Target, ev.Body)
		again, err := EncodePayload(EventPayload{V: ev.V, Chain: ev.Chain, Seq: ev.Seq, At: ev.At,
			Actor: ev.Actor, Action: ch.Action, Target: ch.Target}, ch.Before, ch.After)
		if err != nil || string(again) != p {
			t.Errorf("payload %d (%v):\n old %s\n new %s", i, err, p, again)
		}
		kinds[fmt.Sprintf("%T", ev.Body)] = true
	}
	// Kinds added since the samples were taken have no old payloads;
	// TestPayloadsReadBack holds them to what they write.
	newer := map[string]bool{}
	for _, b := range []EventBody{&UserResetEvent{}, &SSOLinkEvent{}, &SSOCreateEvent{}, &UserSyncEvent{},
		&SessionEndEvent{}, &PasskeyRegisterEvent{}, &PasskeyRemoveEvent{}, &SignoffRejectEvent{}, &SignoffWithdrawEvent{},
		&ItemFileEvent{}, &ItemAssignEvent{}} {
		newer[fmt.Sprintf("%T", b)] = true
	}
	for _, candidates := range bodies {
		for _, k := range candidates {
			if name := fmt.Sprintf("%T", k.new()); !kinds[name] && !newer[name] {
				t.Errorf("no old payload reads as %s", name)
			}
		}
	}
}

// docs/audit.md lists every key of every payload, on its action's row of
// the Event payloads tables: a key added to a type and not to the docs
// fails here.
func TestEveryPayloadKeyIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Event payloads\n")
	if !ok {
		t.Fatal("docs/audit.md has no Event payloads section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{} // by action
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			continue
		}
		for _, a := range strings.Split(cells[1], ",") {
			if a = strings.Trim(strings.TrimSpace(a), "`"); a != "" {
				rows[a] = line
			}
		}
	}
	for action, candidates := range bodies {
		row, ok := rows[action]
		if !ok {
			t.Errorf("docs/audit.md has no row for %s", action)
			continue
		}
		for _, k := range candidates {
			before, after := k.new().sides()
			for _, side := range []any{before, after} {
				if side == nil {
					continue
				}
				typ := reflect.TypeOf(side)
				for typ.Kind() == reflect.Pointer {
					typ = typ.Elem()
				}
				for f := range typ.Fields() {
					key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
					if !strings.Contains(row, "`"+key+"`") {
						t.Errorf("docs/audit.md: the %s row does not name %s's key %q", action, typ, key)
					}
				}
			}
		}
	}
}
