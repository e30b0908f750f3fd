package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

func TestListTemplates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	res := e.call(http.MethodGet, "/api/v1/templates", secret, "")
	wantStatus(t, res, http.StatusOK)
	var body struct {
		Templates []struct {
			Slug    string `json:"slug"`
			Version int    `json:"version"`
			Items   int    `json:"items"`
			Slots   int    `json:"slots"`
			Notes   int    `json:"notes"`
			Phases  int    `json:"phases"`
		} `json:"templates"`
	}
	res.Decode(t, &body)
	if len(body.Templates) != 1 {
		t.Fatalf("templates = %+v", body.Templates)
	}
	if tp := body.Templates[0]; tp.Slug != seedSlug || tp.Version != 1 || tp.Items != 222 || tp.Slots != 8 || tp.Notes != 6 || tp.Phases != 6 {
		t.Fatalf("seed template = %+v", tp)
	}
}

// deploymentBody is the part of a deployment the tests look at.
type deploymentBody struct {
	ID          int64          `json:"id"`
	Service     string         `json:"service"`
	Environment string         `json:"environment"`
	Version     string         `json:"version"`
	Status      signoff.Status `json:"status"`
	PlannedAt   *time.Time     `json:"planned_at"`
	WentLiveAt  *time.Time     `json:"went_live_at"`
	Locked      bool           `json:"locked"`
	AuditSeq    int64          `json:"audit_seq"`
	CreatedBy   struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"created_by"`
	Template struct {
		Slug    string `json:"slug"`
		Version int    `json:"version"`
	} `json:"template"`
	Progress struct {
		Total, Done, NA, Open, Percent int
		Complete                       bool
	} `json:"progress"`
	Signoffs struct {
		Signed, Total int
	} `json:"signoffs"`
	ChecklistSHA256 string     `json:"checklist_sha256"`
	Phases          []any      `json:"phases"`
	Items           []itemBody `json:"items"`
	Notes           []any      `json:"notes"`
	Slots           []struct {
		Position  int    `json:"position"`
		Role      string `json:"role"`
		Final     bool   `json:"final"`
		State     string `json:"state"`
		Signature *struct {
			PrintedName     string `json:"printed_name"`
			Meaning         string `json:"meaning"`
			ChecklistSHA256 string `json:"checklist_sha256"`
		} `json:"signature"`
	} `json:"slots"`
}

type itemBody struct {
	Path        string            `json:"path"`
	ParentPath  string            `json:"parent_path"`
	Title       string            `json:"title"`
	HasChildren bool              `json:"has_children"`
	Conditional bool              `json:"conditional"`
	State       signoff.ItemState `json:"state"`
	NAReason    string            `json:"na_reason"`
	By          *struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"by"`
	At       *time.Time `json:"at"`
	Evidence string     `json:"evidence"`
}

func TestCreateDeployment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "github-actions")
	res := e.call(http.MethodPost, "/api/v1/deployments", secret,
		`{"template":"`+seedSlug+`","service":" voxflow-api ","environment":"production","version":"v2.5.0","planned_at":"2026-12-01T14:30:00+01:00"}`)
	wantStatus(t, res, http.StatusCreated)
	var d deploymentBody
	res.Decode(t, &d)
	if res.Header.Get("Location") != dpath(d.ID, "") {
		t.Fatalf("Location %q", res.Header.Get("Location"))
	}
	if d.Service != "voxflow-api" || d.Version != "v2.5.0" || d.Status != signoff.StatusDraft || d.CreatedBy.ID != alice.ID ||
		d.Template.Slug != seedSlug || d.PlannedAt == nil || !d.PlannedAt.Equal(time.Date(2026, 12, 1, 13, 30, 0, 0, time.UTC)) ||
		len(d.Items) != 222 || len(d.Slots) != 8 || len(d.Notes) != 6 || d.Progress.Total != 179 || d.AuditSeq != 1 {
		t.Fatalf("created = %+v", d)
	}
	// The audit log names the person and the token, through the API.
	events, err := e.db.Events(context.Background(), d.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ev := events[0]; ev.Action != signoff.ActDeploymentCreate || ev.Actor.ID != alice.ID ||
		ev.Actor.Name != "Alice Chen (token github-actions)" || !strings.Contains(ev.Payload, `"via":"api"`) {
		t.Fatalf("create event = %+v", ev)
	}
}

func TestCreateDeploymentRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	count := e.countDeployments()
	for _, c := range []struct{ name, body, code string }{
		{"no template", `{"service":"s","environment":"e","version":"v"}`, "invalid"},
		{"unknown template", `{"template":"nope","service":"s","environment":"e","version":"v"}`, "invalid"},
		{"no service", `{"template":"` + seedSlug + `","environment":"e","version":"v"}`, "invalid"},
		{"blank version", `{"template":"` + seedSlug + `","service":"s","environment":"e","version":"  "}`, "invalid"},
		{"bad planned_at", `{"template":"` + seedSlug + `","service":"s","environment":"e","version":"v","planned_at":"tomorrow"}`, "invalid"},
		{"planned_at number", `{"template":"` + seedSlug + `","service":"s","environment":"e","version":"v","planned_at":1}`, "invalid"},
		{"service too long", `{"template":"` + seedSlug + `","service":"` + strings.Repeat("s", 101) + `","environment":"e","version":"v"}`, "invalid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.call(http.MethodPost, "/api/v1/deployments", secret, c.body), http.StatusBadRequest, c.code)
		})
	}
	if e.countDeployments() != count {
		t.Fatal("refused requests created deployments")
	}
}

func TestListDeployments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	prod := e.deployment(alice)
	staging, err := e.db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: seedSlug, Service: "billing", Environment: "staging", Version: "v9"},
		signoff.EventActor{ID: alice.ID, Name: alice.Name, Via: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.SetStatus(ctx, staging.ID, signoff.StatusLive, "", signoff.EventActor{ID: alice.ID, Name: alice.Name, Via: "web"}); err != nil {
		t.Fatal(err)
	}
	list := func(query string) []deploymentBody {
		t.Helper()
		res := e.call(http.MethodGet, "/api/v1/deployments"+query, secret, "")
		wantStatus(t, res, http.StatusOK)
		var body struct {
			Deployments []deploymentBody `json:"deployments"`
		}
		res.Decode(t, &body)
		return body.Deployments
	}
	if all := list(""); len(all) != 2 || all[0].ID != staging.ID || all[1].ID != prod.ID || all[1].Progress.Total != 179 ||
		all[1].Signoffs.Total != 8 || all[0].Items != nil {
		t.Fatalf("all = %+v", all)
	}
	if got := list("?environment=staging"); len(got) != 1 || got[0].ID != staging.ID {
		t.Fatalf("staging = %+v", got)
	}
	if got := list("?status=live&service=BILL"); len(got) != 1 || got[0].ID != staging.ID || got[0].WentLiveAt == nil {
		t.Fatalf("live billing = %+v", got)
	}
	if got := list("?status=draft"); len(got) != 1 || got[0].ID != prod.ID {
		t.Fatalf("drafts = %+v", got)
	}
	if got := list("?limit=1&offset=1"); len(got) != 1 || got[0].ID != prod.ID {
		t.Fatalf("second page = %+v", got)
	}
	for _, q := range []string{"?status=bogus", "?limit=0", "?limit=501", "?offset=-1", "?limit=ten", "?env=staging"} {
		wantError(t, e.call(http.MethodGet, "/api/v1/deployments"+q, secret, ""), http.StatusBadRequest, "invalid")
	}
}

func TestGetDeployment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	d := e.deployment(alice)
	res := e.call(http.MethodGet, dpath(d.ID, ""), secret, "")
	wantStatus(t, res, http.StatusOK)
	var got deploymentBody
	res.Decode(t, &got)
	if got.ID != d.ID || len(got.Items) != 222 || len(got.Phases) != 6 || len(got.Notes) != 6 || len(got.Slots) != 8 ||
		len(got.ChecklistSHA256) != 64 || got.Signoffs.Total != 8 || got.Signoffs.Signed != 0 {
		t.Fatalf("deployment = %+v", got)
	}
	first := got.Items[0]
	if first.Path != "1.1.1" || first.ParentPath != "" || !first.HasChildren || first.Title == "" || first.State != signoff.ItemOpen || first.By != nil {
		t.Fatalf("first item = %+v", first)
	}
	if s := got.Slots[7]; !s.Final || s.Role != "CTO/Technical Director" || s.State != "unsigned" || s.Signature != nil {
		t.Fatalf("final slot = %+v", s)
	}
	for _, p := range []string{"/api/v1/deployments/99999", "/api/v1/deployments/abc", "/api/v1/deployments/0", "/api/v1/deployments/-1"} {
		wantError(t, e.call(http.MethodGet, p, secret, ""), http.StatusNotFound, "not_found")
	}
}

func TestDeploymentStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("Alice Chen", false, false)
	_, secret := e.token(alice, "ci")
	d := e.deployment(alice)

	res := e.call(http.MethodPost, dpath(d.ID, "/status"), secret, `{"status":"in_progress"}`)
	wantStatus(t, res, http.StatusOK)
	// A member who neither started it nor holds a role it names may not
	// take it live; with pre-deployment items open, the owner is asked
	// to confirm.
	bob := e.user("Bob Member", false, false)
	_, bobs := e.token(bob, "bob")
	wantError(t, e.call(http.MethodPost, dpath(d.ID, "/status"), bobs, `{"status":"live","confirm":true}`), http.StatusForbidden, "forbidden")
	res = e.call(http.MethodPost, dpath(d.ID, "/status"), secret, `{"status":"live"}`)
	wantError(t, res, http.StatusConflict, "conflict")
	if b := string(res.Body); !strings.Contains(b, "pre-deployment items are open") || !strings.Contains(b, `\"confirm\": true`) {
		t.Fatalf("going live unconfirmed: %s", res.Body)
	}
	res = e.call(http.MethodPost, dpath(d.ID, "/status"), secret, `{"status":"live","confirm":true}`)
	wantStatus(t, res, http.StatusOK)
	var got deploymentBody
	res.Decode(t, &got)
	if got.Status != signoff.StatusLive || got.WentLiveAt == nil || got.AuditSeq != 3 {
		t.Fatalf("after going live: %+v", got)
	}

	seq := e.auditSeq(d.ID)
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"status":"bogus"}`, http.StatusBadRequest, "invalid"},
		{`{"status":""}`, http.StatusBadRequest, "invalid"},
		{`{}`, http.StatusBadRequest, "invalid"},
		{`{"status":"aborted"}`, http.StatusBadRequest, "invalid"},            // needs a reason
		{`{"status":"completed"}`, http.StatusConflict, "conflict"},           // only the final approval completes
		{`{"status":"in_progress"}`, http.StatusConflict, "conflict"},         // no going back
		{`{"status":"live","reason":7}`, http.StatusBadRequest, "invalid"},    // wrong type
		{`{"status":"live","why":"x"}`, http.StatusBadRequest, "invalid"},     // unknown field
		{`{"status":"live"}{"status":"x"}`, http.StatusBadRequest, "invalid"}, // two objects
	} {
		wantError(t, e.call(http.MethodPost, dpath(d.ID, "/status"), secret, c.body), c.status, c.code)
	}
	wantError(t, e.call(http.MethodPost, "/api/v1/deployments/99999/status", secret, `{"status":"live"}`), http.StatusNotFound, "not_found")
	if e.auditSeq(d.ID) != seq {
		t.Fatal("refused status changes wrote events")
	}

	res = e.call(http.MethodPost, dpath(d.ID, "/status"), secret, `{"status":"aborted","reason":"rolled back: error rate"}`)
	wantStatus(t, res, http.StatusOK)
	// An aborted deployment takes no more changes.
	seq = e.auditSeq(d.ID)
	wantError(t, e.call(http.MethodPut, dpath(d.ID, "/items/1.1.1.1"), secret, `{"state":"done"}`), http.StatusConflict, "conflict")
	if e.auditSeq(d.ID) != seq {
		t.Fatal("a change to an aborted deployment was recorded")
	}
}
