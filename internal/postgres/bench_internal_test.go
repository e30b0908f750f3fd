package postgres

import (
	"context"
	"testing"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
)

// BenchmarkChainAppend measures the audit chain on its own: a transaction
// that locks a deployment and appends one event, with no item to change.
// Compare with BenchmarkTick for what the item update adds.
func BenchmarkChainAppend(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.URL(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		b.Fatal(err)
	}
	u, err := db.CreateUser(ctx, signoff.NewUser{Email: "bench@example.com", Name: "Bench", Password: "correct horse battery"},
		signoff.EventActor{Name: "bench", Via: "cli"})
	if err != nil {
		b.Fatal(err)
	}
	actor := signoff.EventActor{ID: u.ID, Name: u.Name, Via: "web"}
	d, err := db.CreateDeployment(ctx, signoff.NewDeployment{Service: "bench", Environment: "production", Version: "v1",
		TemplateSlug: "voxflow-production-deployment-checklist"}, actor)
	if err != nil {
		b.Fatal(err)
	}
	change := signoff.Change{Actor: actor, Action: signoff.ActItemComment, Target: "item/1.1.1.1",
		After: map[string]any{"comment": 1, "body": "benchmark"}}
	for b.Loop() {
		tx, err := db.pool.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		l, err := lockDeployment(ctx, tx, d.ID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.appendDeploymentEvent(ctx, tx, l, change, deploymentWrite{}); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
