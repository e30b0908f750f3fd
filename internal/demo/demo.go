// Package demo fills an empty database with people and deployments in
// every state, so a newcomer sees a living app at once. Everything goes
// through the store, so the demo's audit trail is as real as any other.
package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// Password is every demo person's password.
const Password = "signoff-demo-password"

// Person is a demo person.
type Person struct {
	Name, Email, Role string
	Admin, Auditor    bool
}

// People are the demo team: one holder for each seed role, an admin and an
// auditor.
var People = []Person{
	{Name: "Alice Chen", Email: "alice@example.com", Role: "Deployment Engineer"},
	{Name: "Dana Whitfield", Email: "dana@example.com", Role: "Database Administrator"},
	{Name: "Sam Patel", Email: "sam@example.com", Role: "Security Engineer"},
	{Name: "Marcus Lee", Email: "marcus@example.com", Role: "DevOps Lead"},
	{Name: "Priya Nair", Email: "priya@example.com", Role: "Product Manager"},
	{Name: "Bob Okafor", Email: "bob@example.com", Role: "Engineering Manager"},
	{Name: "Olivia Grant", Email: "olivia@example.com", Role: "Operations Manager"},
	{Name: "Rachel Kim", Email: "rachel@example.com", Role: "CTO/Technical Director", Admin: true},
	{Name: "Ari Auditor", Email: "auditor@example.com", Auditor: true},
}

// Fill creates the demo people and deployments. It refuses a database that
// already has deployments, so it never muddles real records.
func Fill(ctx context.Context, db *postgres.DB) (string, error) {
	existing, err := db.Deployments(ctx, signoff.DeploymentFilter{Limit: 1})
	if err != nil {
		return "", err
	}
	if len(existing) > 0 {
		return "", signoff.Errorf(signoff.ECONFLICT, "the database already has deployments; run demo on an empty one")
	}
	t, err := db.LatestTemplate(ctx, postgres.Slugify(mustTitle()))
	if err != nil {
		return "", err
	}
	sys := signoff.EventActor{Name: "demo", Via: "cli"}
	users := map[string]*signoff.User{}
	for _, p := range People {
		var roles []string
		if p.Role != "" {
			roles = []string{p.Role}
		}
		u, err := db.CreateUser(ctx, signoff.NewUser{Email: p.Email, Name: p.Name, Password: Password,
			IsAdmin: p.Admin, IsAuditor: p.Auditor, Roles: roles}, sys)
		if err != nil {
			return "", fmt.Errorf("demo person %s: %w", p.Email, err)
		}
		users[p.Role] = u
	}
	as := func(role string) signoff.EventActor {
		u := users[role]
		return signoff.EventActor{ID: u.ID, Name: u.Name, Via: "web"}
	}
	engineer := as("Deployment Engineer")

	create := func(service, env, version string) (*signoff.Deployment, error) {
		return db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: t.Slug, Service: service, Environment: env, Version: version}, engineer)
	}

	// A month of the team's earlier work first (the list shows the newest
	// first, so the five below lead it).
	extra, err := month(ctx, db, t.Slug, users, as)
	if err != nil {
		return "", err
	}

	// 1. Completed: every item resolved, all eight slots signed, locked.
	done, err := create("voxflow-api", "production", "v2.4.0")
	if err != nil {
		return "", err
	}
	if err := resolveAll(ctx, db, done, as, 1.0); err != nil {
		return "", err
	}
	if _, err := db.SetNote(ctx, done.ID, 1, "2026-11-20", engineer); err != nil {
		return "", err
	}
	if _, err := db.SetNote(ctx, done.ID, 3, "Migration 0048 builds an index concurrently (~6 min on prod).", engineer); err != nil {
		return "", err
	}
	if err := signAll(ctx, db, done.ID, users); err != nil {
		return "", err
	}

	// 2. Live: the first 80% of the items done (the monitoring phase still
	// open), so no slot can be signed yet.
	live, err := create("voxflow-web", "production", "v1.18.2")
	if err != nil {
		return "", err
	}
	if err := resolveAll(ctx, db, live, as, 0.8); err != nil {
		return "", err
	}
	if _, err := db.SetStatus(ctx, live.ID, signoff.StatusLive, "", engineer); err != nil {
		return "", err
	}

	// 3. In progress: about a third ticked, one N/A, a comment.
	wip, err := create("voxflow-api", "staging", "v2.5.0")
	if err != nil {
		return "", err
	}
	if err := resolveAll(ctx, db, wip, as, 0.35); err != nil {
		return "", err
	}
	if _, err := db.AddComment(ctx, wip.ID, "2.2.2.1", "Running now; 0048 is the index build, ~6 min.", as("Database Administrator")); err != nil {
		return "", err
	}

	// 4. Draft, and 5. aborted.
	if _, err := create("billing-worker", "production", "v0.9.1"); err != nil {
		return "", err
	}
	aborted, err := create("voxflow-api", "production", "v2.3.9")
	if err != nil {
		return "", err
	}
	if _, err := db.SetStatus(ctx, aborted.ID, signoff.StatusAborted, "Superseded by v2.4.0 after a failed smoke test.", engineer); err != nil {
		return "", err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "demo: %d deployments (completed, live, in progress, draft, aborted) and %d people, all with password %q:\n", 5+extra, len(People), Password)
	for _, p := range People {
		what := p.Role
		if p.Admin {
			what += ", admin"
		}
		if p.Auditor {
			what = "auditor"
		}
		fmt.Fprintf(&b, "  %-22s %s\n", p.Email, what)
	}
	return b.String(), nil
}

func mustTitle() string {
	t, err := checklist.Parse(checklist.Seed)
	if err != nil {
		return ""
	}
	return t.Title
}

// resolveAll resolves the first share of the leaves, in document order:
// conditional items N/A with a reason, the rest done, by the role whose
// phase it is.
func resolveAll(ctx context.Context, db *postgres.DB, d *signoff.Deployment, as func(string) signoff.EventActor, share float64) error {
	cl, err := db.Checklist(ctx, d)
	if err != nil {
		return err
	}
	var leaves []signoff.Item
	for _, it := range cl.Items {
		if !it.HasChildren {
			leaves = append(leaves, it)
		}
	}
	n := int(float64(len(leaves)) * share)
	roles := []string{"Deployment Engineer", "Database Administrator", "Security Engineer", "DevOps Lead"}
	for i, it := range leaves[:n] {
		change := signoff.ItemChange{Path: it.Path, State: signoff.ItemDone}
		if signoff.IsConditional(it.Text) || (it.ParentPath != "" && signoff.IsConditional(cl.Item(it.ParentPath).Text)) {
			change = signoff.ItemChange{Path: it.Path, State: signoff.ItemNA, NAReason: "Not applicable to this release."}
		}
		if _, err := db.SetItemState(ctx, d.ID, change, as(roles[i%len(roles)])); err != nil {
			return fmt.Errorf("demo: resolve %s: %w", it.Path, err)
		}
	}
	return nil
}

// signAll signs every slot, final approval last, each by its role holder.
func signAll(ctx context.Context, db *postgres.DB, deploymentID int64, users map[string]*signoff.User) error {
	slots, err := db.Slots(ctx, deploymentID)
	if err != nil {
		return err
	}
	for _, s := range slots {
		u := users[s.Role]
		if u == nil {
			return fmt.Errorf("demo: nobody holds %s", s.Role)
		}
		if _, err := db.Sign(ctx, postgres.SignInput{DeploymentID: deploymentID, Slot: s.Position, UserID: u.ID,
			Password: Password, Via: "web"}); err != nil {
			return fmt.Errorf("demo: sign %s: %w", s.Role, err)
		}
	}
	return nil
}
