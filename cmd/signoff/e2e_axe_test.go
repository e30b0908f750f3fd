package main

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// axeSource is axe-core (npm axe-core 4.14.1, MPL-2.0, testdata/axe.LICENSE),
// kept as a test fixture only: the build has no Node toolchain, and the
// app never serves it. DevTools evaluation is not subject to the page's
// CSP, so the test injects it into each page.
//
//go:embed testdata/axe.min.js
var axeSource string

// axeRun runs axe-core on the page: WCAG 2.2 A and AA, best practices,
// and the label-in-name rule (experimental in axe). It returns each
// violation as "rule: target (summary)".
func axeRun(b *tab) []string {
	b.t.Helper()
	if !eval[bool](b, "typeof window.axe === 'object'") {
		eval[bool](b, axeSource+"\n;true")
	}
	// From the top: a page opened at its first open item has rows under
	// the sticky bars, which axe counts as obscured targets.
	b.settleScroll()
	eval[bool](b, `(document.documentElement.style.scrollBehavior = "auto", scrollTo(0, 0), true)`)
	b.settleScroll()
	// A 222-item page takes axe seconds; on shared cores, more than a
	// browser step's usual bound.
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
		rules: {"label-content-name-mismatch": {enabled: true}, "target-size": {enabled: true}},
		resultTypes: ["violations"],
	}).then(r => r.violations.flatMap(v => v.nodes.slice(0, 4).map(n => v.id + ": " + n.target.join(" ") + " (" + (n.failureSummary || "").replace(/\s+/g, " ").slice(0, 220) + ")")))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("axe-core: %v", err)
	}
	return v
}

// Issue 12: axe-core finds nothing on the main pages of each role, in
// light and in dark.
func TestBrowserAccessibility(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	ctx := context.Background()
	admin := a.person("Rachel Kim", true, false)
	member := a.user("Mel Member")
	holder := a.user("Dana Whitfield", "Database Administrator", "Deployment Engineer")
	auditor := a.person("Ari Auditor", false, true)

	// A deployment in progress with a little of everything; a completed one.
	d := a.deployment(holder, "voxflow-api", "v2.4.0")
	leaves := a.leaves(d)
	for i, it := range leaves[:40] {
		if i%7 == 3 {
			a.setItem(d, holder, it.Path, signoff.ItemNA, "Single-region launch")
		} else {
			a.setItem(d, holder, it.Path, signoff.ItemDone, "")
		}
	}
	if _, err := a.DB.AddComment(ctx, d.ID, leaves[0].Path, "Checked on the canary host.", byUser(holder)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.AddFile(ctx, d.ID, leaves[0].Path, postgres.Upload{Name: "canary.log", Data: []byte("ok\n")}, byUser(holder)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.Assign(ctx, d.ID, leaves[41].Path, postgres.AssignTo{User: member.ID}, byUser(holder)); err != nil {
		t.Fatal(err)
	}
	done := a.deployment(holder, "billing-worker", "v1.8.2")
	for _, it := range a.leaves(done) {
		a.setItem(done, holder, it.Path, signoff.ItemDone, "")
	}

	common := []string{"/deployments", dpath(d, ""), dpath(d, "/history"), dpath(d, "/items/"+leaves[0].Path+"/comments"), "/templates", "/account"}
	pages := map[string][]string{
		"admin":   append([]string{"/admin/people", "/admin/tokens", "/admin/webhooks", "/audit", "/my/work"}, common...),
		"member":  append([]string{"/my/work", "/my/signoffs", "/deployments/new"}, common...),
		"holder":  append([]string{"/my/signoffs", "/my/work", dpath(done, "/slots/1/sign")}, common...),
		"auditor": append([]string{"/audit"}, common...),
	}
	people := map[string]*signoff.User{"admin": admin, "member": member, "holder": holder, "auditor": auditor}

	browser := newBrowser(t)
	var found []string
	checked := 0
	for _, role := range []string{"admin", "member", "holder", "auditor"} {
		b := newTab(t, browser, a.URL, role)
		b.login(people[role])
		for _, scheme := range []string{"light", "dark"} {
			b.colorScheme(scheme)
			for _, p := range pages[role] {
				b.navigate(p)
				b.waitFor("the page", `document.readyState === "complete"`)
				for _, v := range axeRun(b) {
					found = append(found, fmt.Sprintf("%s %s %s: %s", role, scheme, p, v))
				}
				checked++
			}
		}
		b.do(chromedp.Navigate("about:blank")) // its live stream and timers stop
	}
	// And on a phone, where tables are cards and the menus fold.
	ph := newTab(t, browser, a.URL, "holder-phone")
	ph.phone(390, 844)
	ph.login(holder)
	for _, p := range []string{"/deployments", dpath(d, ""), dpath(d, "/history"), "/my/signoffs", "/my/work"} {
		ph.navigate(p)
		ph.waitFor("the page", `document.readyState === "complete"`)
		for _, v := range axeRun(ph) {
			found = append(found, fmt.Sprintf("holder phone %s: %s", p, v))
		}
		checked++
	}
	t.Logf("axe-core checked %d pages (4 roles, light and dark, and a phone)", checked)
	if len(found) > 0 {
		t.Fatalf("%d accessibility violations:\n%s", len(found), strings.Join(found, "\n"))
	}
}
