package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/internal/transparency"
	"github.com/signoff/signoff/internal/ui"
)

// A witness cosigns every checkpoint that extends the last one it
// cosigned, and the server keeps its cosignatures. When the log is rebuilt
// without an event (what a careful rewrite of history must do so that the
// log serves again), the witness refuses: exit 3, a log line, its metric,
// evidence in its state folder, and it refuses that log from then on.
func TestWitnessCosignsAndRefusesAFork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	db, err := postgres.Open(ctx, dbURL, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wdir := filepath.Join(t.TempDir(), "witness")
	var out, logs syncBuffer
	if err := cmdWitness(ctx, []string{"key", "--state", wdir, "--name", "witness.test/w2"}, &out, &logs); err != nil {
		t.Fatal(err)
	}
	wkey := strings.TrimSpace(out.String())
	signer, err := audit.SignerFromSeed(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(k string) string { return map[string]string{"WITNESS_KEYS": wkey}[k] })
	if err != nil {
		t.Fatal(err)
	}
	origin, err := db.SetLogKey(ctx, signer.PrivateKey(), "signoff.test/audit-log", cfg.WitnessKeys)
	if err != nil {
		t.Fatal(err)
	}
	web, err := ui.New(ctx, db, cfg, slog.New(slog.DiscardHandler), ui.Options{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	logKey, err := transparency.LogVerifierKey(origin, signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	witness := func() error {
		return cmdWitness(ctx, []string{"--once", "--log", srv.URL, "--log-key", logKey, "--state", wdir}, &out, &logs)
	}
	person := func(email string) {
		t.Helper()
		if _, err := db.CreateUser(ctx, signoff.NewUser{Email: email, Name: email, Password: testPassword}, signoff.EventActor{Name: "t", Via: "cli"}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.IntegrateLog(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wv, err := transparency.ParseWitnessKey(wkey)
	if err != nil {
		t.Fatal(err)
	}
	lv, err := transparency.NewLogVerifier(origin, signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	for i, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		person(email)
		if err := witness(); err != nil {
			t.Fatalf("poll %d of an honest log: %v\n%s", i, err, logs.String())
		}
		signed, err := db.LogCheckpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := transparency.Open(signed, lv, wv); err != nil {
			t.Fatalf("poll %d: the server has no cosignature of its newest checkpoint: %v", i, err)
		}
	}

	// The owner deletes the last person's event, and rebuilds the log so
	// that it serves again; then another person is added in its place.
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update`,
		`ALTER TABLE audit_log_entries DISABLE TRIGGER USER`,
		`ALTER TABLE audit_log_hashes DISABLE TRIGGER USER`,
		`ALTER TABLE audit_log_checkpoints DISABLE TRIGGER USER`,
		`ALTER TABLE audit_log_cosignatures DISABLE TRIGGER USER`,
		`DELETE FROM audit_log_cosignatures`,
		`DELETE FROM audit_log_checkpoints`,
		`DELETE FROM audit_log_hashes`,
		`DELETE FROM audit_log_entries`,
		`DELETE FROM audit_log_pending`,
		`DELETE FROM audit_events WHERE deployment_id IS NULL AND target = (SELECT 'user/' || id FROM users WHERE email = 'c@example.com')`,
		`UPDATE audit_system_chain SET (seq, head) = (SELECT seq, hash FROM audit_events WHERE deployment_id IS NULL ORDER BY seq DESC LIMIT 1)`,
		`INSERT INTO audit_log_pending SELECT id FROM audit_events`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	person("d@example.com")
	err = witness()
	var ee exitError
	if !errors.As(err, &ee) || ee.code != forkExit || !strings.Contains(logs.String(), "REFUSED") {
		t.Fatalf("witness after the log was rebuilt: %v\n%s", err, logs.String())
	}
	prom, err := os.ReadFile(filepath.Join(wdir, "witness.prom"))
	if err != nil || !strings.Contains(string(prom), "signoff_witness_refused_total 1") || !strings.Contains(string(prom), "signoff_witness_log_size 3") {
		t.Fatalf("witness.prom:\n%s (%v)", prom, err)
	}
	if evidence, err := os.ReadFile(filepath.Join(wdir, "fork-evidence.txt")); err != nil || !bytes.Contains(evidence, []byte("last cosigned checkpoint")) {
		t.Fatalf("fork evidence: %s (%v)", evidence, err)
	}
	// Restarted, it still refuses that log.
	if err := witness(); !errors.As(err, &ee) || ee.code != forkExit {
		t.Fatalf("a restarted witness after a fork: %v", err)
	}
}
