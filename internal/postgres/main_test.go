package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/password"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/migrations"
)

func TestMain(m *testing.M) {
	// Cheap hashes: the tests check behaviour, not argon2's cost.
	postgres.PasswordParams = password.Params{Memory: 64, Time: 1, Threads: 1}
	pgtest.Main(m, pgtest.HashFS(migrations.FS), postgres.Migrate)
}

// openDB gives the test a store on a fresh database holding the seed
// template.
func openDB(t testing.TB) *postgres.DB {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	return db
}

const testPassword = "correct horse battery"

// addUser creates a person holding the given roles.
func addUser(t testing.TB, db *postgres.DB, name string, roles ...string) *signoff.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), signoff.NewUser{
		Email: fmt.Sprintf("%s@example.com", slug(name)), Name: name, Password: testPassword, Roles: roles,
	}, signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	return u
}

func slug(s string) string { return postgres.Slugify(s) }

func as(u *signoff.User) signoff.EventActor {
	return signoff.EventActor{ID: u.ID, Name: u.Name, Via: "web"}
}

// newDeployment starts a deployment of the seed template.
func newDeployment(t testing.TB, db *postgres.DB, by *signoff.User) *signoff.Deployment {
	t.Helper()
	d, err := db.CreateDeployment(context.Background(), signoff.NewDeployment{
		TemplateSlug: "voxflow-production-deployment-checklist", Service: "voxflow-api", Environment: "production", Version: "v2.4.0",
	}, as(by))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// resolveAll ticks every leaf (conditional ones N/A).
func resolveAll(t testing.TB, db *postgres.DB, d *signoff.Deployment, by *signoff.User) {
	t.Helper()
	ctx := context.Background()
	cl, err := db.Checklist(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range cl.Items {
		if it.HasChildren {
			continue
		}
		c := signoff.ItemChange{Path: it.Path, State: signoff.ItemDone}
		if it.Conditional {
			c = signoff.ItemChange{Path: it.Path, State: signoff.ItemNA, NAReason: "not this time"}
		}
		if _, err := db.SetItemState(ctx, d.ID, c, as(by)); err != nil {
			t.Fatalf("resolve %s: %v", it.Path, err)
		}
	}
}

// wantCode fails unless err carries the domain error code.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := signoff.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q); want code %q", err, got, code)
	}
}
