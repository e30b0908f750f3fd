// Package audittest builds signed-off deployments through the store for
// the tests and benchmarks of the audit exports. Everything goes through
// postgres.DB, so the audit trails are as real as any other.
package audittest

import (
	"context"
	"fmt"
	"time"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// Password is every team member's password.
const Password = "audit test password"

// SeedSlug is the built-in template's slug.
const SeedSlug = "voxflow-production-deployment-checklist"

// Team is one person per sign-off role of the seed template.
type Team map[string]*signoff.User

// Roles are the seed's sign-off roles, final approval last.
var Roles = []string{"Deployment Engineer", "Database Administrator", "Security Engineer", "DevOps Lead",
	"Product Manager", "Engineering Manager", "Operations Manager", "CTO/Technical Director"}

// Names are the printed names of the team, by role.
var Names = map[string]string{
	"Deployment Engineer": "Alice Chen", "Database Administrator": "Dana Whitfield",
	"Security Engineer": "Sam Patel", "DevOps Lead": "Marcus Lee", "Product Manager": "Priya Nair",
	"Engineering Manager": "Bob Okafor", "Operations Manager": "Olivia Grant",
	"CTO/Technical Director": "Rachel Kim",
}

// NewTeam makes sure the seed template exists and creates the team.
func NewTeam(ctx context.Context, db *postgres.DB) (Team, error) {
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		return nil, err
	}
	team := Team{}
	for i, role := range Roles {
		u, err := db.CreateUser(ctx, signoff.NewUser{Email: fmt.Sprintf("person%d@example.com", i+1), Name: Names[role],
			Password: Password, Roles: []string{role}}, signoff.EventActor{Name: "audittest", Via: "cli"})
		if err != nil {
			return nil, fmt.Errorf("team member %s: %w", role, err)
		}
		team[role] = u
	}
	return team, nil
}

// As is the team member holding role, as the audit log names them.
func (t Team) As(role string) signoff.EventActor {
	u := t[role]
	return signoff.EventActor{ID: u.ID, Name: u.Name, Via: "web"}
}

// Options shape a deployment.
type Options struct {
	Template                      string // slug; empty for the seed
	Service, Environment, Version string
	// Fast resolves whole top-level items at once by marking them N/A (one
	// event each) instead of ticking every leaf: far fewer events, for
	// building many deployments.
	Fast bool
	// Toggles adds that many untick-and-tick-again pairs (two events each)
	// before resolving, to grow the chain.
	Toggles int
	// NAReason is the reason given for N/A items.
	NAReason string
	// NAItems, when above 0, marks only that many conditional leaves N/A
	// (the first ones) and ticks every other leaf.
	NAItems int
	// Notes are note values by position.
	Notes map[int]string
	// Unsigned leaves the deployment resolved but unsigned.
	Unsigned bool
	// PlannedAt is the deployment's planned time, if any.
	PlannedAt *time.Time
}

// Completed creates a deployment of the seed template, resolves every item
// (conditional ones N/A, the rest done), fills the notes and has every
// slot signed by its role holder, final approval last: the deployment ends
// completed and locked.
func Completed(ctx context.Context, db *postgres.DB, team Team, o Options) (*signoff.Deployment, error) {
	if o.Service == "" {
		o.Service, o.Environment, o.Version = "voxflow-api", "production", "v2.4.0"
	}
	if o.NAReason == "" {
		o.NAReason = "Not applicable to this release."
	}
	if o.Template == "" {
		o.Template = SeedSlug
	}
	d, err := db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: o.Template,
		Service: o.Service, Environment: o.Environment, Version: o.Version, PlannedAt: o.PlannedAt}, team.As(Roles[0]))
	if err != nil {
		return nil, err
	}
	cl, err := db.Checklist(ctx, d)
	if err != nil {
		return nil, err
	}
	if err := toggle(ctx, db, team, d.ID, cl, o.Toggles); err != nil {
		return nil, err
	}
	if err := resolve(ctx, db, team, d.ID, cl, o); err != nil {
		return nil, err
	}
	for pos := 1; pos <= len(cl.Notes); pos++ {
		if v, ok := o.Notes[pos]; ok {
			if _, err := db.SetNote(ctx, d.ID, pos, v, team.As(Roles[0])); err != nil {
				return nil, err
			}
		}
	}
	if !o.Unsigned {
		if err := SignAll(ctx, db, team, d.ID); err != nil {
			return nil, err
		}
	}
	return db.Deployment(ctx, d.ID)
}

// toggle unticks and ticks again the first leaf, n times.
func toggle(ctx context.Context, db *postgres.DB, team Team, id int64, cl *signoff.Checklist, n int) error {
	var first string
	for _, it := range cl.Items {
		if !it.HasChildren {
			first = it.Path
			break
		}
	}
	for i := range n {
		who := team.As(Roles[i%4])
		for _, st := range []signoff.ItemState{signoff.ItemDone, signoff.ItemOpen} {
			if _, err := db.SetItemState(ctx, id, signoff.ItemChange{Path: first, State: st}, who); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolve resolves every item as o says, the first four roles taking
// turns.
func resolve(ctx context.Context, db *postgres.DB, team Team, id int64, cl *signoff.Checklist, o Options) error {
	na := 0
	for i, it := range cl.Items {
		c, ok := o.change(cl, &it, &na)
		if !ok {
			continue
		}
		if _, err := db.SetItemState(ctx, id, c, team.As(Roles[i%4])); err != nil {
			return fmt.Errorf("resolve %s: %w", it.Path, err)
		}
	}
	return nil
}

// change is what resolving an item takes (nothing for an item resolved
// through others); na counts the N/A items so far.
func (o Options) change(cl *signoff.Checklist, it *signoff.Item, na *int) (signoff.ItemChange, bool) {
	conditional := it.Conditional || it.ParentPath != "" && cl.Item(it.ParentPath).Conditional
	switch {
	case o.Fast && it.ParentPath == "" && it.HasChildren:
		return signoff.ItemChange{Path: it.Path, State: signoff.ItemNA, NAReason: o.NAReason}, true
	case o.Fast && it.ParentPath != "", it.HasChildren:
		return signoff.ItemChange{}, false
	case conditional && (o.NAItems == 0 || *na < o.NAItems):
		*na++
		return signoff.ItemChange{Path: it.Path, State: signoff.ItemNA, NAReason: o.NAReason}, true
	}
	return signoff.ItemChange{Path: it.Path, State: signoff.ItemDone}, true
}

// SignAll signs every slot of a deployment, in order, each by its role's
// holder.
func SignAll(ctx context.Context, db *postgres.DB, team Team, id int64) error {
	slots, err := db.Slots(ctx, id)
	if err != nil {
		return err
	}
	for _, s := range slots {
		u := team[s.Role]
		if u == nil {
			return fmt.Errorf("nobody holds %s", s.Role)
		}
		if _, err := db.Sign(ctx, postgres.SignInput{DeploymentID: id, Slot: s.Position, UserID: u.ID,
			Password: Password, Via: "web"}); err != nil {
			return fmt.Errorf("sign %s: %w", s.Role, err)
		}
	}
	return nil
}
