package ui_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestTickWithAndWithoutJavaScript(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	c := a.login(alice)

	// Without JavaScript: a plain form post, then a redirect back to the row.
	res := c.post(dpath(d, "/items/1.1.1.1/state"), url.Values{"state": {"open", "done"}}, false)
	if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "#item-1-1-1-1") {
		t.Fatalf("no-JS tick: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// With HTMX: the item's line comes back, with its parent's row and the
	// progress out of band.
	res = c.post(dpath(d, "/items/1.1.1.2/state"), url.Values{"state": {"open", "done"}}, true)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Body, `<li class="item" id="blk-1-1-1-2"`) ||
		!strings.Contains(res.Body, `id="item-1-1-1" tabindex="-1" hx-swap-oob="true"`) || !strings.Contains(res.Body, `id="summary" hx-swap-oob="true"`) {
		t.Fatalf("htmx tick: %d\n%s", res.StatusCode, res.Body[:min(len(res.Body), 500)])
	}
	page := c.get(dpath(d, ""))
	if !strings.Contains(page.Body, "<strong>2</strong> / 179") {
		t.Fatalf("page does not show 2 of 179 resolved")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A tick's HTMX answer carries what the tick moved and no more: the item's
// line and its parent's row (not its siblings), the overall, phase and
// section counts of its own phase, and of
// the sign-off panel only the count of open items, unless the tick can
// have changed the panel itself (a signature it stales, the checklist
// becoming resolved or no longer resolved), when the whole panel comes.
func TestTickAnswersWithWhatChanged(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false, "Deployment Engineer")
	d := a.deployment(alice)
	c := a.login(alice)
	tick := func(path, state string) string {
		t.Helper()
		form := url.Values{"state": {"open"}}
		if state == "done" {
			form["state"] = append(form["state"], "done")
		}
		res := c.post(dpath(d, "/items/"+path+"/state"), form, true)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("tick %s: %d\n%.500s", path, res.StatusCode, res.Body)
		}
		return res.Body
	}
	has := func(body string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Fatalf("the answer lacks %s:\n%.3000s", w, body)
			}
		}
	}
	hasNot := func(body string, unwanted ...string) {
		t.Helper()
		for _, u := range unwanted {
			if strings.Contains(body, u) {
				t.Fatalf("the answer holds %s, which this tick did not change:\n%.3000s", u, body)
			}
		}
	}

	body := tick("2.1.1.1", "done")
	has(body, `id="blk-2-1-1-1"`, `class="item-row is-done" data-item-row id="item-2-1-1-1"`,
		`class="item-row" data-item-row id="item-2-1-1" tabindex="-1" hx-swap-oob="true"`, `aria-label="Sub-items resolved: 1/4"`,
		`id="summary" hx-swap-oob="true"`, `id="phase-2-nav" hx-swap-oob="true"`,
		`id="phase-2-progress" hx-swap-oob="true"`, `id="section-2-1-count" hx-swap-oob="true"`,
		`id="signoff-note" hx-swap-oob="true">178 items are still open.`)
	hasNot(body, `id="blk-2-1-1"`, `id="blk-2-1-1-2"`, `id="phase-nav"`, `id="phase-1-nav"`, `id="phase-3-nav"`,
		`id="phase-1-progress"`, `id="signoff"`)
	if len(body) > 5000 {
		t.Errorf("a tick's answer is %d bytes; its line, its parent's row and the counts should take less than 5000:\n%s", len(body), body)
	}
	// The full page still has every phase in its navigator.
	page := c.get(dpath(d, ""))
	has(page.Body, `id="phase-nav"`, `id="phase-1-nav"`, `id="phase-2-nav"`, `id="signoff-note">178 items are still open.`)

	// A parent marked N/A closes its sub-items: its whole block comes.
	res := c.post(dpath(d, "/items/2.3.1/state"), url.Values{"state": {"na"}, "reason": {"Not this release"}}, true)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Body, `<li class="item is-parent" id="blk-2-3-1"`) ||
		!strings.Contains(res.Body, `id="blk-2-3-1-1"`) {
		t.Fatalf("parent N/A: %d\n%.600s", res.StatusCode, res.Body)
	}

	// Resolving the last open item resolves the checklist, and the panel
	// no longer says anything is open: the whole panel comes.
	a.resolveAll(d, alice)
	tick("1.1.1.1", "open")
	body = tick("1.1.1.1", "done")
	has(body, `id="signoff" aria-labelledby="signoff-title" data-testid="signoff" hx-swap-oob="true"`)
	hasNot(body, `id="signoff-note"`)
	// Reopening it puts the count back: the whole panel again.
	body = tick("1.1.1.1", "open")
	has(body, `id="signoff" aria-labelledby="signoff-title"`, `id="signoff-note">1 item is still open.`)

	// With a signature given, every tick may stale it: the whole panel.
	tick("1.1.1.1", "done")
	c.sign(d, 1)
	body = tick("1.1.1.2", "open")
	has(body, `id="signoff" aria-labelledby="signoff-title"`, `data-state="stale"`)
	body = tick("1.1.1.3", "open")
	has(body, `id="signoff" aria-labelledby="signoff-title"`, `id="signoff-note">2 items are still open.`)
}
