package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

func TestSetItemState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	d := e.deployment(alice)
	put := func(path, body string) itemBody {
		t.Helper()
		res := e.call(http.MethodPut, dpath(d.ID, "/items/"+path), secret, body)
		wantStatus(t, res, http.StatusOK)
		var it itemBody
		res.Decode(t, &it)
		return it
	}

	it := put("1.1.1.1", `{"state":"done"}`)
	if it.Path != "1.1.1.1" || it.State != signoff.ItemDone || it.By == nil || it.By.ID != alice.ID || it.At == nil {
		t.Fatalf("ticked = %+v", it)
	}
	if seq := e.auditSeq(d.ID); seq != 2 {
		t.Fatalf("audit_seq %d after one tick; want 2", seq)
	}
	// The same state again changes nothing and records nothing.
	put("1.1.1.1", `{"state":"done"}`)
	if seq := e.auditSeq(d.ID); seq != 2 {
		t.Fatalf("a repeated tick was recorded: audit_seq %d", seq)
	}
	// Unticking is allowed and recorded.
	if it := put("1.1.1.1", `{"state":"open","na_reason":""}`); it.State != signoff.ItemOpen {
		t.Fatalf("unticked = %+v", it)
	}
	// N/A with a reason.
	if it := put("1.1.1.2", `{"state":"na","na_reason":"no schema change this release"}`); it.State != signoff.ItemNA || it.NAReason != "no schema change this release" {
		t.Fatalf("N/A = %+v", it)
	}
	// N/A on a parent marks its open sub-items, and the parent answers
	// with its state as people count it.
	parent := put("1.1.1", `{"state":"na","na_reason":"covered by the platform team"}`)
	if !parent.HasChildren || parent.State != signoff.ItemNA {
		t.Fatalf("parent after N/A = %+v", parent)
	}
	if seq := e.auditSeq(d.ID); seq != 5 {
		t.Fatalf("audit_seq %d; want 5", seq)
	}

	events, err := e.db.Events(context.Background(), d.ID, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ev := events[0]; ev.Action != signoff.ActItemState || ev.Target != "item/1.1.1.1" || ev.Actor.Name != "Alice Chen (token ci)" ||
		!strings.Contains(ev.Payload, `"via":"api"`) {
		t.Fatalf("tick event = %+v", ev)
	}
	got, _ := e.db.Deployment(context.Background(), d.ID)
	if got.Status != signoff.StatusInProgress {
		t.Fatalf("the first tick should start the deployment: %s", got.Status)
	}
}

func TestSetItemEvidence(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	d := e.deployment(alice)
	out := "$ ./verify-deployment.sh\nall 42 checks passed ✓\nhttps://ci.example.com/runs/981"
	res := e.call(http.MethodPut, dpath(d.ID, "/items/4.2.1/evidence"), secret, `{"evidence":`+jsonString(out)+`}`)
	wantStatus(t, res, http.StatusOK)
	var it itemBody
	res.Decode(t, &it)
	if it.Path != "4.2.1" || it.Evidence != out {
		t.Fatalf("item = %+v", it)
	}
	if seq := e.auditSeq(d.ID); seq != 2 {
		t.Fatalf("audit_seq %d; want 2", seq)
	}
	// Evidence does not tick the item: a person or the pipeline does that.
	if it.State != signoff.ItemOpen {
		t.Fatalf("evidence changed the state: %+v", it)
	}
	seq := e.auditSeq(d.ID)
	wantError(t, e.call(http.MethodPut, dpath(d.ID, "/items/4.2.1/evidence"), secret, `{"evidence":"   "}`), http.StatusBadRequest, "invalid")
	wantError(t, e.call(http.MethodPut, dpath(d.ID, "/items/4.2.1/evidence"), secret, `{"evidence":"`+strings.Repeat("x", signoff.MaxEvidenceLen+1)+`"}`), http.StatusBadRequest, "invalid")
	wantError(t, e.call(http.MethodPut, dpath(d.ID, "/items/4.2.1/evidence"), secret, `{"evidence":"a\u0000b"}`), http.StatusBadRequest, "invalid")
	if e.auditSeq(d.ID) != seq {
		t.Fatal("refused evidence was recorded")
	}
}

func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// TestBadItemPaths: malformed paths are a 400 naming the format; well
// formed paths that name no item are a 404; a parent cannot be ticked.
// None changes anything.
func TestBadItemPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	d := e.deployment(alice)
	seq := e.auditSeq(d.ID)
	for _, suffix := range []string{"", "/evidence"} {
		body := `{"state":"done"}`
		if suffix != "" {
			body = `{"evidence":"x"}`
		}
		for _, c := range []struct {
			path   string
			status int
			code   string
		}{
			{"abc", http.StatusBadRequest, "invalid"},
			{"1.1", http.StatusBadRequest, "invalid"},
			{"1.1.1.1.1.1", http.StatusBadRequest, "invalid"},
			{"0.1.1", http.StatusBadRequest, "invalid"},
			{"1..1", http.StatusBadRequest, "invalid"},
			{"1.1.1.", http.StatusBadRequest, "invalid"},
			{"1.1.01", http.StatusBadRequest, "invalid"},
			{"%20", http.StatusBadRequest, "invalid"},
			{"9.9.9", http.StatusNotFound, "not_found"},
			{"1.1.1.99", http.StatusNotFound, "not_found"},
		} {
			t.Run(c.path+suffix, func(t *testing.T) {
				wantError(t, e.call(http.MethodPut, dpath(d.ID, "/items/"+c.path+suffix), secret, body), c.status, c.code)
			})
		}
		wantError(t, e.call(http.MethodPut, "/api/v1/deployments/99999/items/1.1.1.1"+suffix, secret, body), http.StatusNotFound, "not_found")
		wantError(t, e.call(http.MethodPut, "/api/v1/deployments/x/items/1.1.1.1"+suffix, secret, body), http.StatusNotFound, "not_found")
	}
	// A parent's state follows its sub-items: only N/A applies to it.
	wantError(t, e.call(http.MethodPut, dpath(d.ID, "/items/1.1.1"), secret, `{"state":"done"}`), http.StatusBadRequest, "invalid")
	if e.auditSeq(d.ID) != seq {
		t.Fatal("requests with bad paths changed something")
	}
}

// TestBadBodiesChangeNothing sends every write endpoint malformed,
// unknown, repeated, mistyped, oversized, non-UTF-8 and otherwise wrong
// bodies: each gets a JSON error that says what is wrong, and the
// deployment's audit sequence (which every change moves) stays put.
func TestBadBodiesChangeNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	d := e.deployment(alice)
	big := `{"evidence":"` + strings.Repeat("x", 70<<10) + `"}`
	type bad struct {
		name, body, contentType string
		status                  int
		code                    string
	}
	common := []bad{
		{"empty", "", "", http.StatusBadRequest, "invalid"},
		{"whitespace", "  \n", "", http.StatusBadRequest, "invalid"},
		{"malformed", `{"state":"done"`, "", http.StatusBadRequest, "invalid"},
		{"garbage", `state=done`, "", http.StatusBadRequest, "invalid"},
		{"array", `["done"]`, "", http.StatusBadRequest, "invalid"},
		{"null", `null`, "", http.StatusBadRequest, "invalid"},
		{"string", `"done"`, "", http.StatusBadRequest, "invalid"},
		{"two objects", `{} {}`, "", http.StatusBadRequest, "invalid"},
		{"unknown field", `{"colour":"blue"}`, "", http.StatusBadRequest, "invalid"},
		{"oversized", big, "", http.StatusRequestEntityTooLarge, "too_large"},
		{"invalid UTF-8", "{\"x\":\"\xff\xfe\"}", "", http.StatusBadRequest, "invalid"},
		{"form content type", `{}`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"text content type", `{}`, "text/plain", http.StatusUnsupportedMediaType, "unsupported_media_type"},
	}
	cases := map[string]struct {
		method, path string
		bads         []bad
	}{
		"item state": {http.MethodPut, dpath(d.ID, "/items/1.1.1.1"), []bad{
			{"wrong type", `{"state":1}`, "", http.StatusBadRequest, "invalid"},
			{"reason wrong type", `{"state":"na","na_reason":["x"]}`, "", http.StatusBadRequest, "invalid"},
			{"unknown state", `{"state":"ticked"}`, "", http.StatusBadRequest, "invalid"},
			{"missing state", `{}`, "", http.StatusBadRequest, "invalid"},
			{"missing N/A reason", `{"state":"na"}`, "", http.StatusBadRequest, "invalid"},
			{"blank N/A reason", `{"state":"na","na_reason":"  "}`, "", http.StatusBadRequest, "invalid"},
			{"N/A reason too long", `{"state":"na","na_reason":"` + strings.Repeat("r", 1001) + `"}`, "", http.StatusBadRequest, "invalid"},
			{"reason without N/A", `{"state":"done","na_reason":"why"}`, "", http.StatusBadRequest, "invalid"},
			{"other case", `{"State":"done"}`, "", http.StatusBadRequest, "invalid"},
			{"repeated field", `{"state":"open","state":"done"}`, "", http.StatusBadRequest, "invalid"},
			{"invalid UTF-8 reason", "{\"state\":\"na\",\"na_reason\":\"bad \xc3\x28\"}", "", http.StatusBadRequest, "invalid"},
			{"trailing garbage", `{"state":"done"}x`, "", http.StatusBadRequest, "invalid"},
		}},
		"evidence": {http.MethodPut, dpath(d.ID, "/items/1.1.1.1/evidence"), []bad{
			{"wrong type", `{"evidence":true}`, "", http.StatusBadRequest, "invalid"},
			{"missing", `{}`, "", http.StatusBadRequest, "invalid"},
			{"repeated field", `{"evidence":"a","evidence":"b"}`, "", http.StatusBadRequest, "invalid"},
		}},
		"status": {http.MethodPost, dpath(d.ID, "/status"), []bad{
			{"wrong type", `{"status":{"to":"live"}}`, "", http.StatusBadRequest, "invalid"},
			{"missing", `{}`, "", http.StatusBadRequest, "invalid"},
		}},
		"create": {http.MethodPost, "/api/v1/deployments", []bad{
			{"wrong type", `{"template":"` + seedSlug + `","service":1,"environment":"e","version":"v"}`, "", http.StatusBadRequest, "invalid"},
			{"missing fields", `{}`, "", http.StatusBadRequest, "invalid"},
		}},
	}
	seq, count := e.auditSeq(d.ID), e.countDeployments()
	for name, c := range cases {
		for _, b := range append(append([]bad{}, common...), c.bads...) {
			t.Run(name+"/"+b.name, func(t *testing.T) {
				rq := request{method: c.method, path: c.path, token: secret, body: b.body}
				if b.contentType != "" {
					rq.header = map[string]string{"Content-Type": b.contentType}
				}
				wantError(t, e.send(e.web, rq), b.status, b.code)
				if e.auditSeq(d.ID) != seq || e.countDeployments() != count {
					t.Fatal("a refused request changed something")
				}
			})
		}
	}
	// No content type at all is accepted as JSON (curl -d sends one, but
	// not every client does).
	rq := request{method: http.MethodPut, path: dpath(d.ID, "/items/1.1.1.1"), token: secret, body: `{"state":"done"}`,
		header: map[string]string{"Content-Type": ""}}
	wantStatus(t, e.send(e.web, rq), http.StatusOK)
	rq.header = map[string]string{"Content-Type": "application/json; charset=utf-8"}
	rq.body = `{"state":"open"}`
	wantStatus(t, e.send(e.web, rq), http.StatusOK)
}

// TestLockedDeploymentRefusesWrites: once the final approval signs, the
// deployment is read-only, through the API as everywhere.
func TestLockedDeploymentRefusesWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	d := e.deployment(alice)
	signAll(t, e, d)

	res := e.call(http.MethodGet, dpath(d.ID, ""), secret, "")
	wantStatus(t, res, http.StatusOK)
	var got deploymentBody
	res.Decode(t, &got)
	if !got.Locked || got.Status != signoff.StatusCompleted || got.Signoffs.Signed != 8 || got.Slots[0].Signature == nil ||
		got.Slots[0].Signature.ChecklistSHA256 != got.ChecklistSHA256 || got.Slots[0].Signature.Meaning == "" {
		t.Fatalf("locked deployment = %+v", got)
	}
	seq := e.auditSeq(d.ID)
	wantError(t, e.call(http.MethodPut, dpath(d.ID, "/items/1.1.1.1"), secret, `{"state":"open"}`), http.StatusLocked, "locked")
	wantError(t, e.call(http.MethodPut, dpath(d.ID, "/items/1.1.1.1/evidence"), secret, `{"evidence":"late"}`), http.StatusLocked, "locked")
	wantError(t, e.call(http.MethodPost, dpath(d.ID, "/status"), secret, `{"status":"aborted","reason":"x"}`), http.StatusLocked, "locked")
	if e.auditSeq(d.ID) != seq {
		t.Fatal("a locked deployment changed")
	}
}

// signAll resolves every item and signs every slot, each by its own role
// holder, which completes and locks the deployment.
func signAll(t *testing.T, e *env, d *signoff.Deployment) {
	t.Helper()
	ctx := context.Background()
	cl, err := e.db.Checklist(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	doer := signoff.EventActor{ID: d.CreatedBy.ID, Name: d.CreatedBy.Name, Via: "web"}
	for _, it := range cl.Items {
		if it.HasChildren {
			continue
		}
		c := signoff.ItemChange{Path: it.Path, State: signoff.ItemDone}
		if it.Conditional {
			c = signoff.ItemChange{Path: it.Path, State: signoff.ItemNA, NAReason: "not this time"}
		}
		if _, err := e.db.SetItemState(ctx, d.ID, c, doer); err != nil {
			t.Fatalf("resolve %s: %v", it.Path, err)
		}
	}
	slots, err := e.db.Slots(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		signer := e.user("Signer "+strings.NewReplacer("/", " ", " ", " ").Replace(s.Role), false, false, s.Role)
		if _, err := e.db.Sign(ctx, postgresSignInput(d.ID, s.Position, signer.ID)); err != nil {
			t.Fatalf("sign slot %d: %v", s.Position, err)
		}
	}
}
