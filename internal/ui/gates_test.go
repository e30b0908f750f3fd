package ui_test

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

// Issue 12's smaller points: auditors are offered neither "Start
// deployment" nor an always-empty "My sign-offs"; deactivating a person
// asks first; "Sign as" is not offered where signing can never succeed;
// going live unconfirmed with work open shows what is open and changes
// nothing.
func TestOffersOnlyWhatCanBeDone(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	admin := a.user("Rachel Kim", true, false)
	auditor := a.user("Ari Auditor", false, true)
	alice := a.user("Alice Chen", false, false, "Deployment Engineer", "Database Administrator")
	d := a.deployment(alice)

	ac := a.login(auditor)
	for _, path := range []string{"/templates", "/templates/voxflow-production-deployment-checklist", "/deployments"} {
		body := ac.get(path).Body
		if strings.Contains(body, "Start deployment") || strings.Contains(body, `href="/my/signoffs"`) {
			t.Errorf("%s offers an auditor Start deployment or My sign-offs", path)
		}
	}
	if body := a.login(alice).get("/templates").Body; !strings.Contains(body, "Start deployment") || !strings.Contains(body, `href="/my/signoffs"`) {
		t.Error("a member is not offered Start deployment and My sign-offs")
	}

	people := a.login(admin).get("/admin/people").Body
	row := chunk(people, "deactivate", "")
	if !strings.Contains(people, `<summary class="btn btn-danger btn-xs" data-testid="deactivate">Deactivate</summary>`) ||
		!strings.Contains(row, "Deactivate Alice Chen?") || !strings.Contains(row, "signed out everywhere") {
		t.Errorf("Deactivate does not ask first:\n%.1500s", row)
	}

	// Alice holds two roles; once she signed one slot, the other is not
	// offered (one person, one slot), though items are open.
	c := a.login(alice)
	page := c.get(dpath(d, "")).Body
	if n := strings.Count(page, `data-testid="sign"`); n != 2 {
		t.Fatalf("Alice is offered %d Sign as buttons, want 2", n)
	}
	a.resolveAll(d, alice)
	c.sign(d, 1)
	page = c.get(dpath(d, "")).Body
	if n := strings.Count(page, `data-testid="sign"`); n != 0 {
		t.Errorf("after signing one slot Alice is offered %d more", n)
	}

	// Going live unconfirmed, with nothing open, goes live; on another
	// deployment with items open, it asks and changes nothing.
	open := a.deployment(alice)
	res := c.post(dpath(open, "/status"), url.Values{"status": {"live"}}, false)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "Go live with work still open?") || !strings.Contains(res.Body, "47 pre-deployment items are open") {
		t.Fatalf("going live with items open: %d\n%.800s", res.StatusCode, res.Body)
	}
	if got, _ := a.db.Deployment(t.Context(), open.ID); got.Status != signoff.StatusDraft {
		t.Fatalf("asking moved the deployment to %s", got.Status)
	}
	if res := c.post(dpath(d, "/status"), url.Values{"status": {"live"}}, false); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("going live with nothing open: %d", res.StatusCode)
	}
}

// The import preview of the docs' gated template says what each group is.
func TestImportPreviewShowsGates(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.login(a.user("Rachel Kim", true, false))
	src, err := os.ReadFile("../../docs/examples/gated-release.md")
	if err != nil {
		t.Fatal(err)
	}
	res := c.post("/templates/preview", url.Values{"source": {string(src)}}, false)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d\n%.800s", res.StatusCode, res.Body)
	}
	kinds := regexp.MustCompile(`data-testid="group-kind">([^<]*)<`).FindAllStringSubmatch(res.Body, -1)
	want := []string{
		"Go/no-go gate: attests to the 3 items above it; signed before going live.",
		"Gate: attests to the 5 items above it.",
		"Final approval: attests to every item; its last signature locks the deployment.",
	}
	if len(kinds) != len(want) {
		t.Fatalf("group kinds %q", kinds)
	}
	for i, k := range kinds {
		if k[1] != want[i] {
			t.Errorf("group %d: %q, want %q", i+1, k[1], want[i])
		}
	}
}
