package postgres_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// A fill's deployments are what the app itself would have recorded: each
// one's signed export verifies (its chain, the signatures' checklist
// hashes, the record against the replayed events, its proof in the log),
// every state is there, and the kept counts agree with the items.
func TestFillVerifies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	if _, err := db.SetLogKey(ctx, key, "fill.test/audit-log", nil); err != nil {
		t.Fatal(err)
	}
	rep, err := db.Fill(ctx, postgres.FillOptions{N: 60, Seed: 7, Chunk: 25, Integrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deployments != 60 {
		t.Fatalf("filled %d deployments, want 60", rep.Deployments)
	}
	for _, st := range []signoff.Status{signoff.StatusDraft, signoff.StatusInProgress, signoff.StatusLive,
		signoff.StatusCompleted, signoff.StatusAborted} {
		if rep.ByStatus[st] == 0 {
			t.Errorf("no %s deployment in the fill: %v", st, rep.ByStatus)
		}
	}
	list, err := db.Deployments(ctx, signoff.DeploymentFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 60 {
		t.Fatalf("the list shows %d deployments, want 60", len(list))
	}
	// The ended deployments' chains are sealed, as the server seals them:
	// what follows verifies them as read back from their seals.
	if sealed, ended := sqlInt(t, db, `SELECT count(*) FROM audit_sealed_chains`),
		rep.ByStatus[signoff.StatusCompleted]+rep.ByStatus[signoff.StatusAborted]; sealed != int64(ended) {
		t.Fatalf("%d chains sealed; want the %d ended deployments'", sealed, ended)
	}
	signer := audit.NewSigner(key)
	for _, d := range list {
		rec, err := db.SignedRecord(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		file, err := audit.JSON(rec, signer, time.Now())
		if err != nil {
			t.Fatalf("deployment %d (%s): export: %v", d.ID, d.Status, err)
		}
		if _, err := audit.Verify(file, key.Public().(ed25519.PublicKey)); err != nil {
			t.Fatalf("deployment %d (%s): verify: %v", d.ID, d.Status, err)
		}
		p := rec.Checklist.Progress(0, 0)
		if p.Done != d.Progress.Done || p.NA != d.Progress.NA || p.Total != d.Progress.Total {
			t.Errorf("deployment %d: kept counts %+v, items %+v", d.ID, d.Progress, p)
		}
		if d.Status == signoff.StatusCompleted && (d.Signed != d.Slots || !d.Locked()) {
			t.Errorf("deployment %d completed with %d of %d slots signed, locked %v", d.ID, d.Signed, d.Slots, d.Locked())
		}
	}
	// Changes go on after a fill: its ids and chains are where the app
	// expects them.
	d, err := db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: "voxflow-production-deployment-checklist",
		Service: "after-fill", Environment: "production", Version: "v1"}, as(addUser(t, db, "After Fill")))
	if err != nil {
		t.Fatal(err)
	}
	if d.ID <= list[0].ID {
		t.Errorf("a deployment created after the fill has id %d, not after the fill's %d", d.ID, list[0].ID)
	}
}
