package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signoff/signoff/internal/signoff"
)

func TestAuditLogIsAppendOnlyInTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	tick(t, db, d, "1.2.1", signoff.ItemDone, alice)

	snapshot := func() string {
		t.Helper()
		var s string
		err := db.Pool().QueryRow(ctx, `
			SELECT string_agg(concat_ws('|', id, deployment_id, seq, at, actor_id, actor_name, action, target,
			                            payload, encode(prev_hash, 'hex'), encode(hash, 'hex')), E'\n' ORDER BY id)
			FROM audit_events`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := snapshot()
	if strings.Count(before, "\n") < 3 {
		t.Fatalf("too few events to test with:\n%s", before)
	}
	for _, q := range []string{
		`UPDATE audit_events SET actor_name = 'Mallory'`,
		`UPDATE audit_events SET payload = replace(payload, 'done', 'open') WHERE action = 'item.state'`,
		`DELETE FROM audit_events`,
		`DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events WHERE deployment_id IS NOT NULL)`,
		`TRUNCATE audit_events`,
		`TRUNCATE deployments CASCADE`,
	} {
		_, err := db.Pool().Exec(ctx, q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: error %v; want the database to refuse", q, err)
		}
		if pe.Code != "42501" || !strings.Contains(pe.Message, "append-only") {
			t.Fatalf("%s: refused with %s %q; want 42501 append-only", q, pe.Code, pe.Message)
		}
	}
	if after := snapshot(); after != before {
		t.Fatalf("audit rows changed:\nbefore\n%s\nafter\n%s", before, after)
	}
	// Appending still works.
	tick(t, db, d, "1.2.2", signoff.ItemDone, alice)
	checkChain(t, db, d.ID)
	checkChain(t, db, 0)
}

func TestAuditFailedAppendRollsBackTheChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	// A duplicate chain position, as a concurrent writer that bypassed the
	// row lock would cause, is refused by the chain's unique key and takes
	// the change down with it.
	db.OnEvent(func(ctx context.Context, tx pgx.Tx, ev signoff.Event) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO audit_events (deployment_id, seq, at, actor_name, action, payload, prev_hash, hash)
			VALUES ($1, $2, now(), 'x', 'x', '{}', '\x', '\x')`, ev.DeploymentID, ev.Seq)
		return err
	})
	_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.2.1", State: signoff.ItemDone}, as(alice))
	db.OnEvent(nil)
	if err == nil || signoff.ErrorCode(err) != signoff.EINTERNAL {
		t.Fatalf("tick with a clashing audit row: %v", err)
	}
	got := reload(t, db, d)
	if got.AuditSeq != 1 || got.ChecklistRev != 0 || got.Status != signoff.StatusDraft {
		t.Fatalf("failed change left: seq %d rev %d status %s", got.AuditSeq, got.ChecklistRev, got.Status)
	}
	if it := item(t, db, d, "1.2.1"); it.State != signoff.ItemOpen || it.StateBy != nil {
		t.Fatalf("failed change left the item %+v", it)
	}
	checkChain(t, db, d.ID)
}

func TestAuditChainsArePerDeployment(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	a := newSmallDeployment(t, db, alice, "service-a")
	b := newSmallDeployment(t, db, alice, "service-b")
	for i, p := range smallLeaves {
		tick(t, db, a, p, signoff.ItemDone, alice)
		if i%2 == 0 {
			tick(t, db, b, p, signoff.ItemDone, alice)
		}
	}
	ea, eb := checkChain(t, db, a.ID), checkChain(t, db, b.ID)
	if len(ea) != 1+len(smallLeaves) || len(eb) != 1+len(smallLeaves)/2 {
		t.Fatalf("chains of %d and %d events", len(ea), len(eb))
	}
	if string(ea[0].Hash) == string(eb[0].Hash) {
		t.Fatal("two deployments' first events hash alike")
	}
	checkChain(t, db, 0)
}
