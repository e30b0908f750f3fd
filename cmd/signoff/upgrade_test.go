package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/embeddedpg"
	"github.com/signoff/signoff/internal/postgres"
)

// A data folder from before the role split (its superuser owned every
// table, at schema version 13, with a completed deployment's events)
// upgrades on the first start: the objects are handed to the owner role,
// migration 0014 runs as it, the app serves as the runtime role that
// cannot rewrite history, and the old events enter the transparency log
// and export with their proof. A second start changes nothing.
func TestEmbeddedDataFolderUpgrades(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir := dataDirFor(t)
	cluster, err := embeddedpg.Start(ctx, embeddedpg.Config{DataDir: filepath.Join(dataDir, "postgres")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := postgres.NewMigrator(cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	m.Close()
	old, err := postgres.Open(ctx, cluster.URL(), postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	team, err := audittest.NewTeam(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	d, err := audittest.Completed(ctx, old, team, audittest.Options{Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	// Back to 0013, the last schema before the role split, as an older
	// release left it (later migrations first, each down migration keeping
	// the events; the data is made by today's store, which writes columns
	// older schemas lack).
	if m, err = postgres.NewMigrator(cluster.URL()); err != nil {
		t.Fatal(err)
	}
	for v, _, _ := m.Status(); v > 13; v, _, _ = m.Status() {
		if err := m.Down(); err != nil {
			t.Fatal(err)
		}
	}
	if v, _, _ := m.Status(); v != 13 {
		t.Fatalf("schema version %d; want 13", v)
	}
	m.Close()
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}

	cfg, err := config.Load(func(k string) string { return map[string]string{"DATA_DIR": dataDir}[k] })
	if err != nil {
		t.Fatal(err)
	}
	for start := 1; start <= 2; start++ {
		app := NewApp(cfg, slog.New(slog.DiscardHandler))
		app.Hosting = true
		app.PasswordCost = cheapPasswords
		if err := app.OpenDB(ctx, true); err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		if app.Risk.AtRisk() {
			t.Fatalf("start %d: the app serves as a role that could rewrite history: %+v", start, app.Risk)
		}
		signer, err := app.serverSigner(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := app.openLog(ctx, signer); err != nil {
			t.Fatal(err)
		}
		rec, err := app.DB.SignedRecord(ctx, d.ID)
		if err != nil {
			t.Fatalf("start %d: the old deployment's record: %v", start, err)
		}
		if rec.Log == nil || !rec.Deployment.Locked() {
			t.Fatalf("start %d: record %+v", start, rec.Deployment)
		}
		file, err := audit.JSON(rec, signer, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := audit.Verify(file, signer.Public()); err != nil {
			t.Fatalf("start %d: the old deployment's export: %v", start, err)
		}
		app.Close()
	}
}
