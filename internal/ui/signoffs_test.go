package ui_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

// dbaSlot is the Database Administrator's slot in the seed template.
const dbaSlot = 2

// resolveAll marks every leaf item done through the store, except the
// paths given, which are marked N/A.
func (a *app) resolveAll(d *signoff.Deployment, by *signoff.User, na ...string) {
	a.t.Helper()
	cl, err := a.db.Checklist(context.Background(), d)
	if err != nil {
		a.t.Fatal(err)
	}
	skip := map[string]bool{}
	for _, p := range na {
		skip[p] = true
	}
	actor := signoff.EventActor{ID: by.ID, Name: by.Name, Via: "web"}
	for _, it := range cl.Items {
		if it.HasChildren {
			continue
		}
		c := signoff.ItemChange{Path: it.Path, State: signoff.ItemDone}
		if skip[it.Path] {
			c = signoff.ItemChange{Path: it.Path, State: signoff.ItemNA, NAReason: "Not in this release"}
		}
		if _, err := a.db.SetItemState(context.Background(), d.ID, c, actor); err != nil {
			a.t.Fatalf("resolve %s: %v", it.Path, err)
		}
	}
}

var seenField = regexp.MustCompile(`name="(checklist_sha256|seen_seq)" value="([^"]*)"`)

// signForm reads the sign page of a slot and returns its password form's
// fields: the checklist state it shows, and the password.
func (c *client) signForm(d *signoff.Deployment, slot int) url.Values {
	c.t.Helper()
	res := c.get(dpath(d, fmt.Sprintf("/slots/%d/sign", slot)))
	form := url.Values{"password": {testPassword}}
	for _, m := range seenField.FindAllStringSubmatch(res.Body, 2) {
		form.Set(m[1], m[2])
	}
	if len(form) != 3 {
		c.t.Fatalf("the sign page of slot %d (%d) shows no checklist state:\n%.600s", slot, res.StatusCode, res.Body)
	}
	return form
}

// sign signs a slot through the web form, as a browser would: the page,
// then the form it shows.
func (c *client) sign(d *signoff.Deployment, slot int) {
	c.t.Helper()
	res := c.post(dpath(d, fmt.Sprintf("/slots/%d/sign", slot)), c.signForm(d, slot), false)
	if res.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign slot %d: %d\n%.600s", slot, res.StatusCode, res.Body)
	}
}

// tick sets an item's state through the web form, as a browser would.
func (c *client) tick(d *signoff.Deployment, path string, done bool) {
	c.t.Helper()
	form := url.Values{"state": {"open"}}
	if done {
		form["state"] = append(form["state"], "done")
	}
	if res := c.post(dpath(d, "/items/"+path+"/state"), form, false); res.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("set %s done=%v: %d", path, done, res.StatusCode)
	}
}

// chunk returns the part of body from the element marked data-testid=id
// that contains want, up to the next such element ("" if none does).
func chunk(body, id, want string) string {
	parts := strings.Split(body, `data-testid="`+id+`"`)
	for _, p := range parts[1:] {
		if strings.Contains(p, want) {
			return p
		}
	}
	return ""
}

var staleLink = regexp.MustCompile(`<a href="([^"]*)" data-testid="stale-changes">([^<]*)</a>`)

// staleChanges finds the "what changed" link in a piece of page: its
// address and its words.
func staleChanges(t *testing.T, where, part string) (href, text string) {
	t.Helper()
	m := staleLink.FindStringSubmatch(part)
	if m == nil {
		t.Fatalf("%s: no link to what changed in:\n%.1500s", where, part)
	}
	return html.UnescapeString(m[1]), html.UnescapeString(m[2])
}

// Issue 3: a stale sign-off says what changed since, and the history
// narrowed to "since" lists exactly that.
func TestStaleSignoffShowsWhatChangedSince(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	dana := a.user("Dana Whitfield", false, false, "Database Administrator")
	d := a.deployment(alice)
	a.resolveAll(d, alice, "1.1.1.1")
	ac, dc := a.login(alice), a.login(dana)
	dc.sign(d, dbaSlot)
	signed, err := a.db.Deployment(t.Context(), d.ID)
	if err != nil {
		t.Fatal(err)
	}

	// One tick after the signature makes it stale.
	ac.tick(d, "1.1.1.1", true)
	page := dc.get(dpath(d, ""))
	slot := chunk(page.Body, "slot", `data-role="Database Administrator"`)
	if !strings.Contains(slot, `data-state="stale"`) {
		t.Fatalf("the DBA slot is not stale after a tick:\n%.1500s", slot)
	}
	href, text := staleChanges(t, "Dana's deployment page", slot)
	if want := fmt.Sprintf("/deployments/%d/history?since=%d", d.ID, signed.AuditSeq); href != want {
		t.Fatalf("what-changed link %q; want %q (the signature's event)", href, want)
	}
	if text != "1 change since you signed" {
		t.Errorf("Dana reads %q; want %q", text, "1 change since you signed")
	}
	if _, other := staleChanges(t, "Alice's deployment page", chunk(ac.get(dpath(d, "")).Body, "slot", `data-role="Database Administrator"`)); other != "1 change since Dana Whitfield signed" {
		t.Errorf("Alice reads %q; want %q", other, "1 change since Dana Whitfield signed")
	}

	// Following the link lists the tick, and only the tick.
	hist := dc.get(href)
	if hist.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", href, hist.StatusCode)
	}
	if h := html.UnescapeString(hist.Body); !strings.Contains(h, "Changes since Dana Whitfield signed as Database Administrator at ") {
		t.Errorf("narrowed history lacks the heading naming the signature")
	}
	if n := strings.Count(hist.Body, `data-testid="event"`); n != 1 {
		t.Fatalf("narrowed history lists %d events; want only the tick", n)
	}
	if !strings.Contains(hist.Body, `data-action="item.state"`) || !strings.Contains(html.UnescapeString(hist.Body), "Ticked 1.1.1.1") {
		t.Fatalf("the one event listed is not the tick of 1.1.1.1")
	}
	if !strings.Contains(hist.Body, `<a href="`+dpath(d, "/history")+`" data-testid="full-history">`) {
		t.Error("narrowed history has no link to the full history")
	}
	if strings.Contains(hist.Body, `data-testid="signatures"`) {
		t.Error("narrowed history repeats the signatures table")
	}

	// A comment (not a checklist change) and an untick later: three
	// events since, two of which changed the checklist, as the link says.
	if res := ac.post(dpath(d, "/items/1.2.1.1/comments"), url.Values{"body": {"Double-checked"}}, false); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("comment: %d", res.StatusCode)
	}
	ac.tick(d, "1.2.1.1", false)
	_, text = staleChanges(t, "Dana's page after three events", chunk(dc.get(dpath(d, "")).Body, "slot", `data-role="Database Administrator"`))
	if text != "2 changes since you signed" {
		t.Errorf("after a comment and an untick Dana reads %q; want 2 changes", text)
	}
	hist = dc.get(href)
	if n := strings.Count(hist.Body, `data-testid="event"`); n != 3 {
		t.Errorf("narrowed history lists %d events; want 3 (tick, comment, untick)", n)
	}
	if !strings.Contains(hist.Body, `<span data-testid="since-changes">2 changed the checklist</span>`) {
		t.Error("narrowed history does not count 2 checklist changes")
	}
	full := dc.get(dpath(d, "/history"))
	if n := strings.Count(full.Body, `data-testid="event"`); int64(n) != signed.AuditSeq+3 {
		t.Errorf("full history lists %d events; want %d", n, signed.AuditSeq+3)
	}

	// My sign-offs says the same, with the same link.
	mine := dc.get("/my/signoffs")
	row := chunk(mine.Body, "awaiting-row", fmt.Sprintf(`data-deployment="%d"`, d.ID))
	if !strings.Contains(row, `data-testid="stale"`) {
		t.Fatalf("My sign-offs does not list the stale sign-off:\n%.1500s", mine.Body)
	}
	if h, txt := staleChanges(t, "My sign-offs", row); h != href || txt != "2 changes since you signed" {
		t.Errorf("My sign-offs links %q with %q; want %q with 2 changes", h, txt, href)
	}

	// A "since" that names no event of this deployment is refused.
	for _, bad := range []string{"abc", "0", "-3", "1.5", fmt.Sprint(signed.AuditSeq + 100)} {
		res := dc.get(dpath(d, "/history?since="+url.QueryEscape(bad)))
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(res.Body), "must be the number of one of this deployment's audit events") {
			t.Errorf("since=%s: %d; want 400 with a message", bad, res.StatusCode)
		}
	}
}

// Issue 3: "My sign-offs" lists what waits for a role holder, and the
// deployment list shows the sign-off state at a glance.
func TestMySignoffsAndListPips(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	dana := a.user("Dana Whitfield", false, false, "Database Administrator")
	ready := a.deployment(alice)
	a.resolveAll(ready, alice)
	open := a.deployment(alice)
	ac, dc := a.login(alice), a.login(dana)

	row := func(c *client, d *signoff.Deployment) string {
		t.Helper()
		return chunk(c.get("/my/signoffs").Body, "awaiting-row", fmt.Sprintf(`data-deployment="%d"`, d.ID))
	}
	// Both deployments wait for Dana's slot: one ready to sign, one not.
	r := row(dc, ready)
	if !strings.Contains(r, `data-role="Database Administrator"`) || !strings.Contains(r, "Ready to sign") ||
		!strings.Contains(r, fmt.Sprintf(`href="/deployments/%d/slots/%d/sign"`, ready.ID, dbaSlot)) {
		t.Fatalf("My sign-offs row for the ready deployment:\n%.1500s", r)
	}
	if r := row(dc, open); !strings.Contains(r, "179 items open") || strings.Contains(r, "/sign") {
		t.Fatalf("My sign-offs row for the open deployment:\n%.1500s", r)
	}
	// Someone holding no role has nothing waiting.
	if mine := ac.get("/my/signoffs"); !strings.Contains(mine.Body, `data-testid="empty"`) || strings.Contains(mine.Body, `data-testid="awaiting-row"`) {
		t.Fatal("My sign-offs lists slots for someone holding no role")
	}

	pips := func(d *signoff.Deployment) string {
		t.Helper()
		list := ac.get("/deployments")
		r := chunk(list.Body, "deployment-row", fmt.Sprintf(`href="/deployments/%d"`, d.ID))
		if r == "" {
			t.Fatalf("deployment %d not on the list", d.ID)
		}
		return r
	}
	checkPips := func(when string, d *signoff.Deployment, signed int, stale ...int) {
		t.Helper()
		r := pips(d)
		title := fmt.Sprintf("%d of 8 sign-off slots signed", signed)
		nStale := 0
		if len(stale) > 0 {
			nStale = stale[0]
			title += fmt.Sprintf("; %d stale, to be signed again", nStale)
		}
		if !strings.Contains(r, `title="`+title+`" data-testid="signoff-state"`) ||
			strings.Count(r, `class="pip is-signed"`) != signed || strings.Count(r, `class="pip is-stale"`) != nStale ||
			strings.Count(r, `class="pip"`) != 8-signed-nStale ||
			!strings.Contains(r, fmt.Sprintf("%d/8", signed)) ||
			(nStale > 0) != strings.Contains(r, fmt.Sprintf(`data-testid="signoff-stale">%d stale<`, nStale)) {
			t.Errorf("%s: deployment %d's pips do not show %d of 8 signed, %d stale:\n%.1500s", when, d.ID, signed, nStale, r)
		}
	}
	checkPips("before signing", ready, 0)

	// Once Dana signs, that deployment no longer waits for her.
	dc.sign(ready, dbaSlot)
	if r := row(dc, ready); r != "" {
		t.Fatalf("My sign-offs still lists the deployment Dana signed:\n%.1500s", r)
	}
	if row(dc, open) == "" {
		t.Fatal("My sign-offs lost the deployment Dana has not signed")
	}
	checkPips("after Dana signed", ready, 1)
	checkPips("the other deployment", open, 0)

	// A change makes her sign-off stale: it waits for her again, saying so.
	ac.tick(ready, "1.1.1.1", false)
	r = row(dc, ready)
	if !strings.Contains(r, `data-testid="stale"`) || !strings.Contains(r, "stale: sign again") {
		t.Fatalf("My sign-offs does not show the stale sign-off:\n%.1500s", r)
	}
	if _, txt := staleChanges(t, "My sign-offs", r); txt != "1 change since you signed" {
		t.Errorf("stale row reads %q", txt)
	}
	// The list says a stale signature stands, not just 0/8 (issue 12).
	checkPips("after the sign-off went stale", ready, 0, 1)
}
