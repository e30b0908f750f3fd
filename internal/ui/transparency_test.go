package ui_test

import (
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/ui"
)

// When the app's database role could rewrite history, admins see it on
// every page and /readyz says it; others do not see the banner.
func TestDatabaseRiskIsShown(t *testing.T) {
	t.Parallel()
	const warning = "the app connects to PostgreSQL as postgres (a superuser)"
	a := newAppWith(t, appConfig{opts: func(o *ui.Options) { o.DBWarning = warning }})
	admin := a.user("Rachel Kim", true, false)
	member := a.user("Alice Chen", false, false)
	if res := a.anon().get("/readyz"); res.StatusCode != 200 || !strings.Contains(res.Body, "warning: "+warning) {
		t.Fatalf("/readyz: %d %q", res.StatusCode, res.Body)
	}
	if res := a.login(admin).get("/admin/people"); !strings.Contains(res.Body, `data-testid="db-warning"`) || !strings.Contains(res.Body, warning) {
		t.Fatalf("the admin page shows no warning:\n%.600s", res.Body)
	}
	if res := a.login(member).get("/deployments"); strings.Contains(res.Body, `data-testid="db-warning"`) {
		t.Fatal("a member sees the database warning")
	}
}
