package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
)

// postForm submits a form made in the page, as a browser sends one a page
// does not offer (a hand-made request, same origin), and returns the
// status of the page it leads to.
func (b *tab) postForm(path string, fields map[string]string) int64 {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const f = document.createElement("form"); f.method = "post"; f.action = %q; f.id = "handmade";`, path)
	for k, v := range fields {
		js += fmt.Sprintf(`{ const i = document.createElement("input"); i.type = "hidden"; i.name = %q; i.value = %q; f.append(i); }`, k, v)
	}
	js += `const s = document.createElement("button"); s.type = "submit"; f.append(s); document.body.append(f); return true })()`
	eval[bool](b, js)
	return b.submit("#handmade button")
}

// gatedApp is an app with the docs' gated template and its people.
type gatedApp struct {
	*e2eApp
	slug                                 string
	owner, eng, pm, sec, em, cto, member *signoff.User
}

func startGatedApp(t *testing.T) *gatedApp {
	t.Helper()
	a := startApp(t, pgtest.URL(t))
	src, err := os.ReadFile("../../docs/examples/gated-release.md")
	if err != nil {
		t.Fatal(err)
	}
	tpl, _, err := a.DB.ImportTemplate(context.Background(), src, "", signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	return &gatedApp{e2eApp: a, slug: tpl.Slug,
		owner:  a.user("Olivia Owner"),
		eng:    a.user("Erin Engineer", "Deployment Engineer"),
		pm:     a.user("Priya Product", "Product Manager"),
		sec:    a.user("Sol Security", "Security Engineer"),
		em:     a.user("Emil Manager", "Engineering Manager"),
		cto:    a.user("Chris Cto", "CTO/Technical Director"),
		member: a.user("Mo Member"),
	}
}

func (a *gatedApp) gatedDeployment() *signoff.Deployment {
	a.t.Helper()
	d, err := a.DB.CreateDeployment(context.Background(), signoff.NewDeployment{
		TemplateSlug: a.slug, Service: "voxflow-api", Environment: "production", Version: "v2.5.0",
	}, byUser(a.owner))
	if err != nil {
		a.t.Fatal(err)
	}
	return d
}

// signInBrowser signs a slot through its sign page; it returns the status
// the form was answered with.
func signInBrowser(b *tab, d *signoff.Deployment, role string) int64 {
	b.t.Helper()
	b.navigate(dpath(d, ""))
	b.submit(fmt.Sprintf(`[data-testid=slot][data-role=%q] [data-testid=sign]`, role))
	b.do(chromedp.SendKeys(chromedp.ID("sign-password"), e2ePassword))
	return b.submit(`form[action$="/sign"] button[type=submit]`)
}

func slotState(b *tab, role string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector('[data-testid=slot][data-role=%q]') || {dataset: {}}).dataset.state || ""`, role))
}

// Issue 12: a go/no-go gate holds going live until it is signed; a
// request for changes holds it too, until withdrawn; a plain member may
// not take a deployment live; a signature over a checklist changed while
// the signer read it is refused with 409 and nothing signed; a final
// group of two slots stays open after its first signature.
func TestBrowserGatesRejectionsAndGoingLive(t *testing.T) {
	t.Parallel()
	a := startGatedApp(t)
	d := a.gatedDeployment()
	leaves := a.leaves(d)
	browser := newBrowser(t)

	// A plain member (neither owner nor a role holder) is offered no
	// "Mark live", and a hand-made request is refused.
	mo := newTab(t, browser, a.URL, "mo")
	mo.login(a.member)
	mo.navigate(dpath(d, ""))
	if mo.count(`form[action$="/status"] input[value=live]`) != 0 || mo.count(`form[action$="/status"] input[value=aborted]`) != 0 {
		mo.fail("a plain member is offered Mark live or Abort")
	}
	if st := mo.postForm(dpath(d, "/status"), map[string]string{"status": "live", "confirm": "yes"}); st != http.StatusForbidden {
		mo.fail("a plain member going live: status %d, want 403", st)
	}
	if msg := mo.text("[data-testid=error]"); !strings.Contains(msg, "Only Olivia Owner (who started it), an admin or a holder of a role") {
		mo.fail("a plain member refused going live reads %q", msg)
	}

	// The owner cannot go live before the go/no-go sign-off.
	owner := newTab(t, browser, a.URL, "olivia")
	owner.login(a.owner)
	owner.navigate(dpath(d, ""))
	if st := owner.submit(`form[action$="/status"] input[value=live] ~ button`); st != http.StatusConflict {
		owner.fail("going live before the go/no-go gate: status %d, want 409", st)
	}
	if msg := owner.text("[data-testid=error]"); !strings.Contains(msg, "go/no-go sign-off must be given before going live") {
		owner.fail("going live before the gate reads %q", msg)
	}
	for _, it := range leaves[:3] {
		a.setItem(d, a.eng, it.Path, signoff.ItemDone, "")
	}

	// The product manager asks for changes on the gate, with a comment.
	pm := newTab(t, browser, a.URL, "priya")
	pm.login(a.pm)
	pm.navigate(dpath(d, ""))
	pm.click(`[data-testid=slot][data-role="Product Manager"] [data-testid=reject]`)
	pm.do(chromedp.SendKeys(chromedp.ID("reject-2"), "Link the change ticket first."))
	pm.submit(`[data-testid=slot][data-role="Product Manager"] [data-testid=reject-submit]`)
	if got := pm.text(`[data-testid=slot][data-role="Product Manager"] [data-testid=rejection]`); !strings.Contains(got, "Changes requested by Priya Product") ||
		!strings.Contains(got, "Link the change ticket first.") {
		pm.fail("the slot shows %q after the request for changes", got)
	}
	pm.shot("gate-changes-requested")
	// Nobody else may sign over it, and it holds going live.
	other := a.user("Pat Product", "Product Manager")
	pat := newTab(t, browser, a.URL, "pat")
	pat.login(other)
	pat.navigate(dpath(d, ""))
	if pat.count(`[data-testid=slot][data-role="Product Manager"] [data-testid=sign]`) != 0 {
		pat.fail("another product manager is offered to sign over Priya's request for changes")
	}
	if st := signInBrowser(a.tabFor(t, browser, "erin", a.eng), d, "Deployment Engineer"); st != http.StatusOK {
		t.Fatalf("the engineer signs the gate: status %d", st)
	}
	owner.navigate(dpath(d, ""))
	if st := owner.submit(`form[action$="/status"] input[value=live] ~ button`); st != http.StatusConflict {
		owner.fail("going live over a request for changes: status %d, want 409", st)
	}
	if msg := owner.text("[data-testid=error]"); !strings.Contains(msg, "Product Manager (changes requested by Priya Product)") {
		owner.fail("going live over a request for changes reads %q", msg)
	}
	a.waitNotices(d, "rejected", 1)
	var subject, body string
	if err := a.DB.Pool().QueryRow(context.Background(), `
		SELECT subject, body FROM notification_emails WHERE deployment_id = $1 AND kind = 'rejected' AND user_id = $2`,
		d.ID, a.owner.ID).Scan(&subject, &body); err != nil {
		t.Fatalf("the owner's mail about the request for changes: %v", err)
	}
	if !strings.Contains(subject, "Priya Product asked for changes as Product Manager") || !strings.Contains(body, "Link the change ticket first.") {
		t.Errorf("the owner's mail reads %q:\n%s", subject, body)
	}

	// She withdraws it and signs: the deployment may go live.
	pm.navigate(dpath(d, ""))
	pm.submit(`[data-testid=slot][data-role="Product Manager"] [data-testid=withdraw]`)
	if pm.count("[data-testid=rejection]") != 0 {
		pm.fail("the request for changes still shows after its withdrawal")
	}
	if st := signInBrowser(pm, d, "Product Manager"); st != http.StatusOK {
		pm.fail("signing the gate: status %d", st)
	}
	owner.navigate(dpath(d, ""))
	if st := owner.submit(`form[action$="/status"] input[value=live] ~ button`); st != http.StatusOK {
		owner.fail("going live after the go/no-go gate: status %d", st)
	}
	if got := owner.text("#status-badge"); got != "Live" {
		owner.fail("after going live the status reads %q", got)
	}

	// The security engineer reads the verification gate's sign page while
	// the engineer ticks an item: the signature is refused, nothing signed.
	for _, it := range leaves[3:5] {
		a.setItem(d, a.eng, it.Path, signoff.ItemDone, "")
	}
	sol := a.tabFor(t, browser, "sol", a.sec)
	sol.navigate(dpath(d, ""))
	sol.submit(`[data-testid=slot][data-role="Security Engineer"] [data-testid=sign]`)
	if got := sol.text("[data-testid=attests]"); got != "the 5 tasks above this sign-off (5 of 5 resolved)" {
		sol.fail("the gate's sign page says it attests to %q", got)
	}
	a.setItem(d, a.eng, leaves[5].Path, signoff.ItemDone, "")
	sol.do(chromedp.SendKeys(chromedp.ID("sign-password"), e2ePassword))
	if st := sol.submit(`form[action$="/sign"] button[type=submit]`); st != http.StatusConflict {
		sol.fail("signing a changed checklist: status %d, want 409", st)
	}
	if msg := sol.text("[data-testid=form-error]"); !strings.Contains(msg, "changed while you were reading it") ||
		!strings.Contains(msg, "Erin Engineer ticked item "+leaves[5].Path) || !strings.Contains(msg, "nothing was signed") {
		sol.fail("the 409 reads %q", msg)
	}
	if sol.count("[data-testid=changed-since]") != 1 {
		sol.fail("the 409 page has no link to what changed")
	}
	sol.shot("sign-409-changed")
	if s := a.slot(d, slotOf(t, a.e2eApp, d, "Security Engineer")); s.Signature != nil {
		t.Fatalf("a refused signature was stored: %+v", s.Signature)
	}
	// The page now shows the state as it is; signing it works.
	sol.do(chromedp.SendKeys(chromedp.ID("sign-password"), e2ePassword))
	if st := sol.submit(`form[action$="/sign"] button[type=submit]`); st != http.StatusOK || slotState(sol, "Security Engineer") != "signed" {
		sol.fail("signing the state shown: status %d", st)
	}

	// The final group of two: the first signature leaves it open.
	a.setItem(d, a.eng, leaves[6].Path, signoff.ItemDone, "")
	emil := a.tabFor(t, browser, "emil", a.em)
	if st := signInBrowser(emil, d, "Engineering Manager"); st != http.StatusOK {
		emil.fail("the first final signature: status %d", st)
	}
	if emil.count("[data-testid=locked]") != 0 || slotState(emil, "CTO/Technical Director") != "unsigned" {
		emil.fail("the first of two final signatures locked the deployment")
	}
	if got := a.deploymentNow(d); got.Locked() || got.Status != signoff.StatusLive {
		t.Fatalf("after the first final signature: %s, locked %v", got.Status, got.Locked())
	}
	chris := a.tabFor(t, browser, "chris", a.cto)
	if st := signInBrowser(chris, d, "CTO/Technical Director"); st != http.StatusOK {
		chris.fail("the last final signature: status %d", st)
	}
	if chris.count("[data-testid=locked]") != 1 {
		chris.fail("the last final signature did not lock the deployment")
	}
}

// Going live with pre-deployment work open asks first, saying what is
// open, without JavaScript; an abort shows who, when and why.
func TestBrowserGoLiveConfirmationAndAbort(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	alice := a.user("Alice Chen", "Deployment Engineer")
	d := a.deployment(alice, "voxflow-api", "v2.4.0")
	b := newTab(t, newBrowser(t), a.URL, "alice")
	b.noJavaScript()
	b.login(alice)
	b.navigate(dpath(d, ""))
	if st := b.submit(`form[action$="/status"] input[value=live] ~ button`); st != http.StatusOK {
		b.fail("going live with items open: status %d", st)
	}
	if got := b.text("[data-testid=golive-open]"); !strings.Contains(got, "47 pre-deployment items are open") || b.count("[data-testid=golive-items] li") != 5 ||
		!strings.Contains(got, "and 42 more items.") {
		b.fail("the confirmation reads %q", got)
	}
	if got := a.deploymentNow(d).Status; got != signoff.StatusDraft {
		t.Fatalf("asking to confirm moved the deployment to %s", got)
	}
	b.shot("golive-confirm")
	if st := b.submit("[data-testid=golive-confirm]"); st != http.StatusOK || b.text("#status-badge") != "Live" {
		b.fail("going live anyway: status %d, badge %q", st, b.text("#status-badge"))
	}
	b.click("details.popover summary.btn-ghost")
	b.do(chromedp.SendKeys(chromedp.ID("abort-reason"), "Smoke tests failed in eu-west."))
	b.submit(`form[action$="/status"] .btn-danger`)
	if got := b.text("[data-testid=aborted]"); !strings.Contains(got, "Aborted by Alice Chen") || !strings.Contains(got, "Smoke tests failed in eu-west.") {
		b.fail("the aborted deployment reads %q", got)
	}
}
