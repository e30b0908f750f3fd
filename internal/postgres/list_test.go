package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// ids lists deployments' ids in order.
func ids(ds []*signoff.Deployment) []int64 {
	var out []int64
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

// startSmall creates a smallTemplate deployment for a service and
// environment.
func startSmall(t *testing.T, db *postgres.DB, by *signoff.User, service, env string) *signoff.Deployment {
	t.Helper()
	if _, _, err := db.ImportTemplate(context.Background(), []byte(smallTemplate), "", importer); err != nil {
		t.Fatal(err)
	}
	d, err := db.CreateDeployment(context.Background(), signoff.NewDeployment{
		TemplateSlug: smallSlug, Service: service, Environment: env, Version: "v1",
	}, as(by))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func setCreatedAt(t *testing.T, db *postgres.DB, d *signoff.Deployment, at time.Time) {
	t.Helper()
	if _, err := db.Pool().Exec(context.Background(), `UPDATE deployments SET created_at = $2 WHERE id = $1`, d.ID, at); err != nil {
		t.Fatal(err)
	}
}

func TestListDeploymentsFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	eng := addUser(t, db, "Erin Engineer", "Deployment Engineer")
	dana := addUser(t, db, "Dana Signer", "Deployment Engineer")
	payUnderscore := startSmall(t, db, eng, "pay_api", "production")
	payX := startSmall(t, db, eng, "payXapi", "staging")
	loadPercent := startSmall(t, db, eng, "load-100%-test", "production")
	load1000 := startSmall(t, db, eng, "load-1000-test", "production")
	vox := startSmall(t, db, eng, "Voxflow-API", "staging")

	tick(t, db, payUnderscore, "1.2.1", signoff.ItemDone, eng)
	if _, err := db.SetStatus(ctx, payX.ID, signoff.StatusLive, "", as(eng)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetStatus(ctx, load1000.ID, signoff.StatusAborted, "cancelled", as(eng)); err != nil {
		t.Fatal(err)
	}
	resolveSmall(t, db, payUnderscore, eng)
	resolveSmall(t, db, loadPercent, eng)
	mustSign(t, db, payUnderscore, 1, dana)
	mustSign(t, db, loadPercent, 1, eng)

	setCreatedAt(t, db, payUnderscore, time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC))
	setCreatedAt(t, db, payX, time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC))
	setCreatedAt(t, db, loadPercent, time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	setCreatedAt(t, db, load1000, time.Date(2026, 4, 10, 12, 0, 0, 0, time.UTC))
	setCreatedAt(t, db, vox, time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC))

	date := func(m time.Month, d int) *time.Time { t := time.Date(2026, m, d, 12, 0, 0, 0, time.UTC); return &t }
	for _, tc := range []struct {
		name string
		f    signoff.DeploymentFilter
		want []*signoff.Deployment
	}{
		{"all, newest first", signoff.DeploymentFilter{Environment: "production"}, []*signoff.Deployment{load1000, loadPercent, payUnderscore}},
		{"status live", signoff.DeploymentFilter{Status: signoff.StatusLive}, []*signoff.Deployment{payX}},
		{"status aborted", signoff.DeploymentFilter{Status: signoff.StatusAborted}, []*signoff.Deployment{load1000}},
		{"status in progress", signoff.DeploymentFilter{Status: signoff.StatusInProgress}, []*signoff.Deployment{loadPercent, payUnderscore}},
		{"status draft", signoff.DeploymentFilter{Status: signoff.StatusDraft, Environment: "staging"}, []*signoff.Deployment{vox}},
		{"service substring", signoff.DeploymentFilter{Service: "pay"}, []*signoff.Deployment{payX, payUnderscore}},
		{"service case-insensitive", signoff.DeploymentFilter{Service: "VOXFLOW-api"}, []*signoff.Deployment{vox}},
		{"service _ is literal", signoff.DeploymentFilter{Service: "y_a"}, []*signoff.Deployment{payUnderscore}},
		{"service % is literal", signoff.DeploymentFilter{Service: "100%"}, []*signoff.Deployment{loadPercent}},
		{"service backslash is literal", signoff.DeploymentFilter{Service: `\`}, nil},
		{"environment", signoff.DeploymentFilter{Environment: "staging"}, []*signoff.Deployment{vox, payX}},
		{"environment and status", signoff.DeploymentFilter{Environment: "staging", Status: signoff.StatusLive}, []*signoff.Deployment{payX}},
		{"signer", signoff.DeploymentFilter{Signer: "dana"}, []*signoff.Deployment{payUnderscore}},
		{"signer other", signoff.DeploymentFilter{Signer: "Erin Engineer"}, []*signoff.Deployment{loadPercent}},
		{"from (inclusive)", signoff.DeploymentFilter{From: date(3, 10), Environment: "production"}, []*signoff.Deployment{load1000, loadPercent}},
		{"to (exclusive)", signoff.DeploymentFilter{To: date(3, 10), Environment: "production"}, []*signoff.Deployment{payUnderscore}},
		{"range", signoff.DeploymentFilter{From: date(2, 1), To: date(4, 11)}, []*signoff.Deployment{load1000, loadPercent, payX}},
		{"limit", signoff.DeploymentFilter{From: date(1, 1), Limit: 2}, []*signoff.Deployment{vox, load1000}},
		{"offset", signoff.DeploymentFilter{From: date(1, 1), Limit: 2, Offset: 2}, []*signoff.Deployment{loadPercent, payX}},
	} {
		got, err := db.Deployments(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(ids(got), ids(tc.want)) {
			t.Errorf("%s: got %v; want %v", tc.name, ids(got), ids(tc.want))
		}
	}
	// A revoked signature no longer names its signer.
	if err := db.Revoke(ctx, payUnderscore.ID, 1, "wrong build", dana, "web"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Deployments(ctx, signoff.DeploymentFilter{Signer: "dana"}); err != nil || len(got) != 0 {
		t.Fatalf("signer filter after revoke: %v, %v", ids(got), err)
	}
	envs, err := db.Environments(ctx)
	if err != nil || !slices.Equal(envs, []string{"production", "staging"}) {
		t.Fatalf("environments = %v, %v", envs, err)
	}
}

func TestListDeploymentsProgressAndSignatureCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	team := newSignTeam(t, db)
	partial := newSmallDeployment(t, db, team.eng, "partial")
	tick(t, db, partial, "1.1.1.1", signoff.ItemDone, team.eng)
	tick(t, db, partial, "1.2.1", signoff.ItemDone, team.eng)
	tick(t, db, partial, "1.2.2", signoff.ItemNA, team.eng)
	if _, err := db.SetItemState(ctx, partial.ID, signoff.ItemChange{Path: "1.1.1.2", State: signoff.ItemNA, NAReason: "no tests"}, as(team.eng)); err != nil {
		t.Fatal(err)
	}
	signed := newSmallDeployment(t, db, team.eng, "signed")
	resolveSmall(t, db, signed, team.eng)
	mustSign(t, db, signed, 1, team.eng)
	mustSign(t, db, signed, 2, team.dba)
	seed := newDeployment(t, db, team.eng)

	counts := func() map[int64]*signoff.Deployment {
		t.Helper()
		ds, err := db.Deployments(ctx, signoff.DeploymentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]*signoff.Deployment{}
		for _, d := range ds {
			out[d.ID] = d
		}
		return out
	}
	got := counts()
	if p := got[partial.ID].Progress; p != (signoff.Progress{Total: 6, Done: 2, NA: 3}) {
		t.Fatalf("partial progress = %+v", p)
	}
	if d := got[partial.ID]; d.Slots != 3 || d.Signed != 0 {
		t.Fatalf("partial slots %d signed %d", d.Slots, d.Signed)
	}
	if d := got[signed.ID]; d.Progress != (signoff.Progress{Total: 6, Done: 4, NA: 2}) || d.Slots != 3 || d.Signed != 2 {
		t.Fatalf("signed deployment: progress %+v slots %d signed %d", d.Progress, d.Slots, d.Signed)
	}
	if d := got[seed.ID]; d.Progress.Total != 179 || d.Progress.Resolved() != 0 || d.Slots != 8 || d.Signed != 0 {
		t.Fatalf("seed deployment: progress %+v slots %d signed %d", d.Progress, d.Slots, d.Signed)
	}
	// The list agrees with the checklist's own count.
	cl, _ := db.Checklist(ctx, partial)
	if cl.Progress(0, 0) != got[partial.ID].Progress {
		t.Fatalf("list progress %+v; checklist %+v", got[partial.ID].Progress, cl.Progress(0, 0))
	}
	// Stale signatures are not counted as signed.
	tick(t, db, signed, "1.2.1", signoff.ItemNA, team.eng)
	if d := counts()[signed.ID]; d.Signed != 0 {
		t.Fatalf("signed count with stale signatures = %d", d.Signed)
	}
	mustSign(t, db, signed, 1, team.eng)
	if d := counts()[signed.ID]; d.Signed != 1 {
		t.Fatalf("signed count after re-signing one = %d", d.Signed)
	}

	// Overdue: open monitoring items past their window after go-live.
	if _, err := db.SetStatus(ctx, seed.ID, signoff.StatusLive, "", as(team.eng)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE deployments SET went_live_at = now() - interval '3 hours' WHERE id = $1`, seed.ID); err != nil {
		t.Fatal(err)
	}
	live := reload(t, db, seed)
	seedCl, err := db.Checklist(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, it := range seedCl.Overdue(live.WentLiveAt, time.Now()) {
		if !it.HasChildren {
			want++
		}
	}
	if want == 0 {
		t.Fatal("the seed has no item due within 3 hours of go-live")
	}
	if got := counts()[seed.ID].Overdue; got != want {
		t.Fatalf("overdue = %d; want %d", got, want)
	}
	// The page's per-section counts (read after every tick) agree, and
	// only a live deployment has overdue items.
	sectionOverdue := func(d *signoff.Deployment) int {
		t.Helper()
		sections, err := db.SectionProgress(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range sections {
			n += p.Overdue
		}
		return n
	}
	if got := sectionOverdue(live); got != want {
		t.Fatalf("section progress counts %d overdue; want %d", got, want)
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE deployments SET went_live_at = now() - interval '3 hours' WHERE id = $1`, partial.ID); err != nil {
		t.Fatal(err)
	}
	if got := sectionOverdue(partial); got != 0 {
		t.Fatalf("a deployment that is not live has %d overdue items in its section progress; want 0", got)
	}
}

func TestListAwaitingSignature(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	team := newSignTeam(t, db)
	twoRoles := addUser(t, db, "Tess Two-Roles", "deployment engineer", "CTO/Technical Director")

	awaiting := func(u *signoff.User) []string {
		t.Helper()
		as, err := db.AwaitingSignature(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			s := a.Deployment.Service + "/" + a.Role
			if a.Stale {
				s += " (stale)"
			}
			out = append(out, s)
		}
		return out
	}
	want := func(u *signoff.User, w ...string) {
		t.Helper()
		if got := awaiting(u); !slices.Equal(got, w) {
			t.Fatalf("awaiting %s: %q; want %q", u.Name, got, w)
		}
	}
	older := newSmallDeployment(t, db, team.eng, "older")
	setCreatedAt(t, db, older, time.Now().Add(-time.Hour))
	newer := newSmallDeployment(t, db, team.eng, "newer")
	want(team.eng, "newer/Deployment Engineer", "older/Deployment Engineer")
	want(team.dba, "newer/Database Administrator", "older/Database Administrator")
	want(team.other)
	want(twoRoles, "newer/Deployment Engineer", "newer/CTO/Technical Director", "older/Deployment Engineer", "older/CTO/Technical Director")

	resolveSmall(t, db, newer, team.eng)
	mustSign(t, db, newer, 1, team.eng)
	want(team.eng, "older/Deployment Engineer")
	want(twoRoles, "newer/CTO/Technical Director", "older/Deployment Engineer", "older/CTO/Technical Director")
	resolveSmall(t, db, older, team.eng)
	// Once Tess signs one slot of a deployment, its other slot is no
	// longer offered to her: one person signs at most one slot.
	mustSign(t, db, older, 1, twoRoles)
	want(twoRoles, "newer/CTO/Technical Director")
	// A change brings the stale slot back.
	tick(t, db, newer, "1.2.1", signoff.ItemNA, team.dba)
	want(team.eng, "newer/Deployment Engineer (stale)") // older's slot is Tess's now
	// Aborted and locked deployments await nobody.
	if _, err := db.SetStatus(ctx, older.ID, signoff.StatusAborted, "cancelled", as(team.eng)); err != nil {
		t.Fatal(err)
	}
	want(team.eng, "newer/Deployment Engineer (stale)")
	mustSign(t, db, newer, 1, team.eng)
	mustSign(t, db, newer, 2, team.dba)
	mustSign(t, db, newer, 3, team.cto)
	want(team.eng)
	want(twoRoles)
	want(team.cto)
}
