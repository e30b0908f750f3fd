package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
)

// An auditor finds a completed deployment on the Audit page and sees the
// exports there and in the deployment page's Export menu.
func TestBrowserAuditWorkspace(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.URL(t))
	ctx := context.Background()
	team, err := audittest.NewTeam(ctx, a.DB)
	if err != nil {
		t.Fatal(err)
	}
	d, err := audittest.Completed(ctx, a.DB, team, audittest.Options{Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	ari, err := a.DB.CreateUser(ctx, signoff.NewUser{Email: emailOf("Ari Auditor"), Name: "Ari Auditor",
		Password: e2ePassword, IsAuditor: true}, signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	b := newTab(t, newBrowser(t), a.URL, "auditor")
	b.login(ari)

	b.navigate("/audit")
	if b.count("[data-testid=audit-row]") != 1 || b.count(`a[href="/audit/export.zip"]`) != 1 {
		b.fail("the Audit page should list the deployment and offer the ZIP")
	}
	if got := b.text("[data-testid=key-fingerprint]"); got == "" || got[:7] != "SHA256:" {
		b.fail("the Audit page shows key fingerprint %q", got)
	}
	b.shot("audit-workspace")

	b.submit(`[data-testid=audit-row] a.cell-main`)
	b.do(chromedp.Click(chromedp.CSS(`[data-testid=export-menu] summary`)))
	b.waitFor("the Export menu to open", `document.querySelector("[data-testid=export-menu]").open`)
	id := strconv.FormatInt(d.ID, 10)
	for _, f := range []string{"pdf", "md", "json", "csv"} {
		if b.count(`[data-testid=export-menu] a[href="/deployments/`+id+`/export.`+f+`"]`) != 1 {
			b.fail("the Export menu lacks %s", f)
		}
	}
	// The open menu, as the viewport shows it (a full-page shot is 14,000
	// pixels tall).
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(artifactsDir, 0o755)
	os.WriteFile(filepath.Join(artifactsDir, "deployment-export-menu.png"), png, 0o644)
}
