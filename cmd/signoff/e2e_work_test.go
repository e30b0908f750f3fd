package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
)

// person creates someone with permissions beyond a member's.
func (a *e2eApp) person(name string, admin, auditor bool, roles ...string) *signoff.User {
	a.t.Helper()
	u, err := a.DB.CreateUser(context.Background(), signoff.NewUser{
		Email: emailOf(name), Name: name, Password: e2ePassword, IsAdmin: admin, IsAuditor: auditor, Roles: roles,
	}, signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		a.t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

// testPNG is a small real picture (a green square).
func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for x := range 48 {
		for y := range 32 {
			img.Set(x, y, color.RGBA{G: 160, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sha256In is the SHA-256 of what the browser downloads from path,
// computed in the page.
func sha256In(b *tab, path string) string {
	b.t.Helper()
	return evalAsync[string](b, `fetch(`+jsString(path)+`).then(r => r.arrayBuffer()).then(buf => crypto.subtle.digest("SHA-256", buf)).then(d => [...new Uint8Array(d)].map(x => x.toString(16).padStart(2, "0")).join(""))`)
}

func jsString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// Issue 12: an evidence file uploaded from the item's panel, shown
// inline, downloaded with the SHA-256 the audit event records; a text
// file that holds a script is shown as text and served as text.
func TestBrowserEvidenceFile(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	alice := a.user("Alice Chen", "Deployment Engineer")
	d := a.deployment(alice, "voxflow-api", "v2.4.0")
	dir := t.TempDir()
	pic := testPNG(t)
	picPath := filepath.Join(dir, "login-after-deploy.png")
	logPath := filepath.Join(dir, "migrate.log")
	logText := "<script>document.title='pwned'</script>\nmigrate: 14 applied, 0 pending\n"
	if err := os.WriteFile(picPath, pic, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath, []byte(logText), 0o644); err != nil {
		t.Fatal(err)
	}

	b := newTab(t, newBrowser(t), a.URL, "alice")
	b.login(alice)
	b.navigate(dpath(d, ""))
	b.click("#blk-1-1-1-1 [data-comments-toggle]")
	b.waitFor("the item's panel", `document.querySelector("#item-1-1-1-1-panel [data-testid=comment-form]")`)
	// A picture with a comment: one change.
	b.do(
		chromedp.SetUploadFiles(chromedp.CSS("#item-1-1-1-1-panel input[type=file]"), []string{picPath}),
		chromedp.SendKeys(chromedp.ID("c-1-1-1-1"), "Login page after the deploy."),
	)
	b.click("#item-1-1-1-1-panel [data-testid=comment-form] button[type=submit]")
	b.waitFor("the picture in the panel", `(() => { const i = document.querySelector("#item-1-1-1-1-panel [data-testid=file] img"); return i && i.complete && i.naturalWidth === 48 })()`)
	if got := b.text("#item-1-1-1-1-panel [data-testid=comment] .comment-body"); got != "Login page after the deploy." {
		b.fail("comment reads %q", got)
	}
	// A log on its own.
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#item-1-1-1-1-panel input[type=file]"), []string{logPath}))
	b.click("#item-1-1-1-1-panel [data-testid=comment-form] button[type=submit]")
	b.waitFor("the log in the panel", `document.querySelectorAll("#item-1-1-1-1-panel [data-testid=file]").length === 2`)
	if got := eval[string](b, `document.querySelector("#item-1-1-1-1-panel pre.file-text").textContent`); got != logText {
		b.fail("the log shows as %q", got)
	}
	if eval[string](b, "document.title") == "pwned" {
		b.fail("the log's script ran")
	}
	if got := b.text("#blk-1-1-1-1 [data-comments-toggle]"); !strings.Contains(got, "2") {
		b.fail("the row's button does not count the files: %q", got)
	}
	b.shot("evidence-files")

	// Downloaded, the bytes hash to what the page and the audit event say.
	files, err := a.DB.Files(context.Background(), d.ID, "1.1.1.1")
	if err != nil || len(files) != 2 {
		t.Fatalf("files: %v %v", files, err)
	}
	recorded := map[string]bool{}
	evs, err := a.DB.Events(context.Background(), d.ID, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		p, err := signoff.DecodeEvent([]byte(e.Payload))
		if err != nil {
			t.Fatal(err)
		}
		switch body := p.Body.(type) {
		case *signoff.ItemFileEvent:
			recorded[body.After.SHA256] = true
		case *signoff.ItemCommentEvent:
			if body.After.SHA256 != "" {
				recorded[body.After.SHA256] = true
			}
		}
	}
	for i, want := range [][]byte{pic, []byte(logText)} {
		sum := sha256.Sum256(want)
		hexSum := hex.EncodeToString(sum[:])
		link := eval[string](b, `document.querySelectorAll("#item-1-1-1-1-panel [data-testid=file-link]")[`+string(rune('0'+i))+`].getAttribute("href")`)
		if got := sha256In(b, link); got != hexSum {
			b.fail("file %d downloads with SHA-256 %s; uploaded %s", i, got, hexSum)
		}
		if shown := eval[string](b, `document.querySelectorAll("#item-1-1-1-1-panel [data-testid=file]")[`+string(rune('0'+i))+`].dataset.sha256`); shown != hexSum {
			b.fail("file %d shows SHA-256 %s; want %s", i, shown, hexSum)
		}
		if !recorded[hexSum] {
			b.fail("file %d's SHA-256 %s is in no audit event", i, hexSum)
		}
	}
	// Opened directly, the log is plain text in a sandbox: nothing runs.
	logLink := eval[string](b, `document.querySelectorAll("#item-1-1-1-1-panel [data-testid=file-link]")[1].getAttribute("href")`)
	b.navigate(logLink)
	if ct := eval[string](b, "document.contentType"); ct != "text/plain" {
		b.fail("the log opens as %s", ct)
	}
	if eval[string](b, "document.title") == "pwned" || eval[int](b, "document.scripts.length") != 0 {
		b.fail("the log's script ran when opened")
	}
	// An SVG is refused with a message; nothing is stored.
	svgPath := filepath.Join(dir, "logo.svg")
	if err := os.WriteFile(svgPath, []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), 0o644); err != nil {
		t.Fatal(err)
	}
	b.navigate(dpath(d, ""))
	b.click("#blk-1-1-1-2 [data-comments-toggle]")
	b.waitFor("the item's panel", `document.querySelector("#item-1-1-1-2-panel [data-testid=comment-form]")`)
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#item-1-1-1-2-panel input[type=file]"), []string{svgPath}))
	b.click("#item-1-1-1-2-panel [data-testid=comment-form] button[type=submit]")
	b.waitFor("the refusal, saying why", `document.querySelector("#flash").textContent.includes("cannot be attached")`)
	// Without JavaScript the same form answers 415 with a page saying why.
	b.noJavaScript()
	b.navigate(dpath(d, "/items/1.1.1.2/comments"))
	b.do(chromedp.SetUploadFiles(chromedp.CSS("[data-testid=comment-form] input[type=file]"), []string{svgPath}))
	if st := b.submit("[data-testid=comment-form] button[type=submit]"); st != 415 {
		b.fail("an SVG upload without JavaScript answered %d; want 415", st)
	}
	if !strings.Contains(b.text("main"), "cannot be attached") {
		b.fail("the refusal does not say why: %q", b.text("main"))
	}
	if files, _ := a.DB.Files(context.Background(), d.ID, ""); len(files) != 2 {
		t.Fatalf("%d files after a refused upload", len(files))
	}
}

// Issue 12: an item and a section assigned, My work lists them, the page
// opens at the first open item and hides what is done.
func TestBrowserAssignAndMyWork(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	alice := a.user("Alice Chen", "Deployment Engineer")
	dana := a.user("Dana Whitfield", "Database Administrator")
	d := a.deployment(alice, "voxflow-api", "v2.4.0")
	leaves := a.leaves(d)
	for _, it := range leaves[:10] {
		a.setItem(d, alice, it.Path, signoff.ItemDone, "")
	}
	first := leaves[10].Path

	browser := newBrowser(t)
	b := newTab(t, browser, a.URL, "alice")
	b.login(alice)
	b.navigate(dpath(d, ""))
	// It opens at the first open item, focused.
	b.waitFor("focus on the first open item", `document.activeElement && document.activeElement.id === "item-`+pid(first)+`"`)
	b.settleScroll()
	if top := eval[float64](b, `document.getElementById("item-`+pid(first)+`").getBoundingClientRect().top`); top < 0 || top > eval[float64](b, "innerHeight") {
		b.fail("the first open item is at %vpx, off screen", top)
	}
	// Hide done, then Next open from the top.
	b.click("[data-testid=hide-done]")
	b.waitFor("done items hidden", `getComputedStyle(document.getElementById("blk-`+pid(leaves[0].Path)+`")).display === "none" && location.search === "?hide=done"`)
	b.do(chromedp.Reload())
	b.waitFor("hidden after reload", `document.querySelector(".deploy-main.hide-done") && getComputedStyle(document.getElementById("blk-`+pid(leaves[0].Path)+`")).display === "none"`)
	b.click("[data-testid=hide-done]")
	b.waitFor("done items shown", `getComputedStyle(document.getElementById("blk-`+pid(leaves[0].Path)+`")).display !== "none"`)

	// An item to Dana, through its panel.
	target := leaves[12].Path
	b.click("#blk-" + pid(target) + " [data-comments-toggle]")
	b.waitFor("the assign form", `document.querySelector("#item-`+pid(target)+`-panel [data-testid=assign-form]")`)
	b.do(chromedp.SetValue(chromedp.CSS("#a-"+pid(target)), "u"+itoa(dana.ID)))
	b.click("#item-" + pid(target) + "-panel [data-testid=assign-form] button[type=submit]")
	b.waitFor("the row shows Dana", `(document.querySelector("#item-`+pid(target)+` [data-testid=assignee]") || {}).textContent === "Assigned to Dana Whitfield"`)

	// A whole section to the Database Administrator role, without HTMX.
	sec := strings.Join(strings.Split(leaves[20].Path, ".")[:2], ".")
	b.submit(`a[href="` + dpath(d, "/sections/"+sec+"/assign") + `"]`)
	b.do(chromedp.SetValue(chromedp.ID("assignee"), roleValue(t, a, "Database Administrator")))
	b.submit("[data-testid=section-assign-form] button[type=submit]")
	if n := b.count("#section-" + pid(sec) + " [data-testid=assignee]"); n == 0 {
		b.fail("no item of section %s shows an assignee", sec)
	}
	b.shot("assigned")

	// Dana's My work: her item and the section's open items.
	dt := newTab(t, browser, a.URL, "dana")
	dt.login(dana)
	dt.navigate("/my/work")
	rows := eval[[]string](dt, `[...document.querySelectorAll("[data-testid=work-row]")].map(r => r.dataset.path)`)
	if len(rows) < 2 || !containsStr(rows, target) || !containsStr(rows, leaves[20].Path) {
		dt.fail("My work lists %v; want %s and the items of section %s", rows, target, sec)
	}
	dt.shot("my-work")
	dt.submit(`[data-testid=work-row][data-path="` + target + `"] a`)
	if h := eval[string](dt, "location.hash"); h != "#item-"+pid(target) {
		dt.fail("My work's link leads to %q", h)
	}
	// Done, it leaves the list.
	a.setItem(d, dana, target, signoff.ItemDone, "")
	dt.navigate("/my/work")
	if containsStr(eval[[]string](dt, `[...document.querySelectorAll("[data-testid=work-row]")].map(r => r.dataset.path)`), target) {
		dt.fail("a done item stays in My work")
	}
	// The assignments are in the record, one event each.
	count := 0
	evs, _ := a.DB.Events(context.Background(), d.ID, 0, 10000)
	for _, e := range evs {
		if e.Action == signoff.ActItemAssign {
			count++
		}
	}
	if count != 2 {
		t.Fatalf("%d item.assign events; want 2", count)
	}
}

func roleValue(t *testing.T, a *e2eApp, name string) string {
	roles, err := a.DB.Roles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if r.Name == name {
			return "r" + itoa(r.ID)
		}
	}
	t.Fatalf("no role %s", name)
	return ""
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Issue 12: after N/A and after a comment, the keyboard stays on the item
// and j goes on from there.
func TestBrowserKeyboardAfterNAAndComment(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	alice := a.user("Alice Chen", "Deployment Engineer")
	d := a.deployment(alice, "voxflow-api", "v2.4.0")
	leaves := a.leaves(d)
	a.setItem(d, alice, leaves[0].Path, signoff.ItemDone, "")

	b := newTab(t, newBrowser(t), a.URL, "alice")
	b.login(alice)
	b.navigate(dpath(d, ""))
	start := leaves[1].Path
	b.waitFor("focus on the first open item", `document.activeElement.id === "item-`+pid(start)+`"`)
	b.do(chromedp.KeyEvent("j"))
	second := eval[string](b, "document.activeElement.id")
	b.do(chromedp.KeyEvent("n"))
	b.waitFor("the N/A reason field", `document.activeElement && document.activeElement.id.startsWith("na-")`)
	b.do(chromedp.SendKeys(chromedp.CSS("#"+second+"-panel input[name=reason]"), "Not in this release"), chromedp.KeyEvent(kb.Enter))
	b.waitFor("focus back on the item after N/A", `document.activeElement.id === "`+second+`" && document.getElementById("`+second+`").classList.contains("is-na")`)
	b.do(chromedp.KeyEvent("j"))
	third := eval[string](b, "document.activeElement.id")
	if third == second || !strings.HasPrefix(third, "item-") {
		b.fail("j after N/A went to %q", third)
	}
	if eval[bool](b, `!!(document.getElementById("`+third+`").compareDocumentPosition(document.getElementById("`+second+`")) & Node.DOCUMENT_POSITION_FOLLOWING)`) {
		b.fail("j after N/A went backwards, to %s", third)
	}
	// A comment: c, type, Enter; the keyboard is back on the row.
	b.do(chromedp.KeyEvent("c"))
	b.waitFor("the comment field", `document.querySelector("#`+third+`-panel input[name=body]")`)
	b.do(chromedp.Click(chromedp.CSS("#"+third+"-panel input[name=body]")), chromedp.SendKeys(chromedp.CSS("#"+third+"-panel input[name=body]"), "Checked with the on-call DBA"), chromedp.KeyEvent(kb.Enter))
	b.waitFor("the comment shown, focus on the item", `document.querySelector("#`+third+`-panel [data-testid=comment]") && document.activeElement.id === "`+third+`"`)
	b.do(chromedp.KeyEvent("j"))
	fourth := eval[string](b, "document.activeElement.id")
	if fourth == third || !strings.HasPrefix(fourth, "item-") {
		b.fail("j after a comment went to %q", fourth)
	}
	// o: the next open item from here.
	b.do(chromedp.KeyEvent("o"))
	b.waitFor("an open item focused", `document.activeElement.matches("[data-item-row]:not(.is-done):not(.is-na)")`)
}

// Issue 12: on a phone the four table pages are cards: nothing scrolls
// sideways, every action is on screen.
func TestBrowserPhoneTablesAreCards(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	admin := a.person("Rachel Kim", true, true, "Deployment Engineer")
	dana := a.user("Dana Whitfield", "Database Administrator")
	a.user("Marcus Lee-Hernández Okonkwo", "Security Engineer", "DevOps Lead")
	d := a.deployment(admin, "notifications-gateway-with-a-long-service-name", "v12.0.0-rc.3+build.20261125")
	for _, it := range a.leaves(d) {
		a.setItem(d, dana, it.Path, signoff.ItemDone, "")
	}
	if _, err := a.DB.AddComment(context.Background(), d.ID, a.leaves(d)[0].Path, "Checked on the canary host first.", byUser(dana)); err != nil {
		t.Fatal(err)
	}
	b := newTab(t, newBrowser(t), a.URL, "phone")
	b.phone(390, 844)
	b.login(admin)
	for _, p := range []struct{ name, path, table string }{
		{"my-signoffs", "/my/signoffs", "awaiting"},
		{"people", "/admin/people", "people"},
		{"history", dpath(d, "/history"), "events"},
		{"audit", "/audit?status=", "audit-list"},
	} {
		b.navigate(p.path)
		b.waitFor(p.name+"'s table", `document.querySelector("[data-testid=`+p.table+`]")`)
		checkNoOverflow(b)
		if w := eval[int](b, "document.documentElement.scrollWidth"); w > 390 {
			b.fail("%s: the page is %dpx wide on a 390px phone", p.name, w)
		}
		if d := eval[string](b, `getComputedStyle(document.querySelector("[data-testid=`+p.table+`] tbody tr")).display`); d != "flex" {
			b.fail("%s: rows are %q on a phone, not cards", p.name, d)
		}
		// Every link and button of the table is on screen.
		off := eval[[]string](b, `[...document.querySelectorAll("[data-testid=`+p.table+`] a, [data-testid=`+p.table+`] button, [data-testid=`+p.table+`] select")].filter(e => { const r = e.getBoundingClientRect(); return e.checkVisibility() && r.width > 0 && (r.right > innerWidth + 1 || r.left < -1) }).map(e => e.outerHTML.slice(0, 80))`)
		if len(off) > 0 {
			b.fail("%s: off screen on a phone: %v", p.name, off)
		}
		if p.name == "people" {
			// Deactivate asks first; its question opens within the card.
			b.click("[data-testid=deactivate]")
			if !eval[bool](b, `(() => { const r = document.querySelector("details[open] [data-testid=deactivate-confirm]").getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= innerWidth })()`) {
				b.fail("people: Deactivate's confirmation opens off screen on a phone")
			}
		}
		b.shot("phone-" + p.name)
	}
}
