package postgres_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"filippo.io/torchwood"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// sameEvents fails unless got are want, field by field.
func sameEvents(t *testing.T, what string, got, want []signoff.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.ID || g.DeploymentID != w.DeploymentID || g.Seq != w.Seq || !g.At.Equal(w.At) ||
			g.Actor != w.Actor || g.Action != w.Action || g.Target != w.Target || g.Payload != w.Payload ||
			!bytes.Equal(g.PrevHash, w.PrevHash) || !bytes.Equal(g.Hash, w.Hash) {
			t.Fatalf("%s: event %d is\n%+v\nwant\n%+v", what, w.Seq, g, w)
		}
	}
}

// verifyExport exports deployment id as a signed JSON record and verifies
// it as `signoff verify` does.
func verifyExport(t *testing.T, db *postgres.DB, key ed25519.PrivateKey, id int64) error {
	t.Helper()
	rec, err := db.SignedRecord(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	file, err := audit.JSON(rec, audit.NewSigner(key), time.Now())
	if err != nil {
		t.Fatalf("deployment %d: export: %v", id, err)
	}
	_, err = audit.Verify(file, key.Public().(ed25519.PublicKey))
	return err
}

// An ended deployment's chain is sealed once it is wholly in the log: its
// rows leave audit_events, and every reader (its events, its export and
// verification, the log's tiles, proofs and chain heads) sees the same
// events as before, byte for byte. Nothing else can be sealed, and no row
// can be deleted that a seal does not hold.
func TestSealedChains(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	key, _ := logKey(t, db)
	team := newSignTeam(t, db)

	completed := newSmallDeployment(t, db, team.eng, "voxflow-api")
	if _, err := db.AddCommentWithFile(ctx, completed.ID, "1.2.1", "Migration log attached.",
		postgres.Upload{Name: "migrate.log", Data: []byte("ok\n")}, as(team.dba)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddComment(ctx, completed.ID, "1.1.1", "Two lines,\nthe second \"quoted\".", as(team.eng)); err != nil {
		t.Fatal(err)
	}
	resolveSmall(t, db, completed, team.eng)
	mustSign(t, db, completed, 1, team.eng)
	mustSign(t, db, completed, 2, team.dba)
	mustSign(t, db, completed, 3, team.cto)
	aborted := newSmallDeployment(t, db, team.eng, "voxflow-web")
	tick(t, db, aborted, smallLeaves[0], signoff.ItemDone, team.eng)
	if _, err := db.SetStatus(ctx, aborted.ID, signoff.StatusAborted, "rolled back", as(team.eng)); err != nil {
		t.Fatal(err)
	}
	open := newSmallDeployment(t, db, team.eng, "voxflow-db")
	tick(t, db, open, smallLeaves[0], signoff.ItemDone, team.eng)

	// Not in the log yet: nothing is sealed.
	if n, err := db.SealDeployments(ctx); err != nil || n != 0 {
		t.Fatalf("sealed %d chains before the log held them (%v)", n, err)
	}
	before := map[int64][]signoff.Event{}
	type kept struct {
		d        *signoff.Deployment
		list     *signoff.Checklist
		slots    []signoff.Slot
		block    []signoff.Item
		comments []signoff.Comment
		files    []signoff.EvidenceFile
	}
	keep := func(id int64) kept {
		var k kept
		var err error
		if k.d, err = db.Deployment(ctx, id); err != nil {
			t.Fatal(err)
		}
		if k.list, err = db.Checklist(ctx, k.d); err != nil {
			t.Fatal(err)
		}
		if k.slots, err = db.Slots(ctx, id); err != nil {
			t.Fatal(err)
		}
		if k.block, err = db.Items(ctx, id, "1.1.1"); err != nil {
			t.Fatal(err)
		}
		if k.comments, err = db.Comments(ctx, id, ""); err != nil {
			t.Fatal(err)
		}
		if k.files, err = db.Files(ctx, id, ""); err != nil {
			t.Fatal(err)
		}
		return k
	}
	rows := map[int64]kept{}
	for _, d := range []*signoff.Deployment{completed, aborted, open} {
		before[d.ID] = events(t, db, d.ID)
		rows[d.ID] = keep(d.ID)
	}
	if _, err := db.IntegrateLog(ctx); err != nil {
		t.Fatal(err)
	}
	size := openCheckpoint(t, db, key).Size
	entries, err := db.LogTile(ctx, torchwood.TilePath(tlog.Tile{H: torchwood.TileHeight, L: -1, N: 0, W: int(size)}))
	if err != nil {
		t.Fatal(err)
	}

	if n, err := db.SealDeployments(ctx); err != nil || n != 2 {
		t.Fatalf("sealed %d chains (%v); want the completed and the aborted one", n, err)
	}
	if n, err := db.SealDeployments(ctx); err != nil || n != 0 {
		t.Fatalf("sealed %d chains again (%v)", n, err)
	}
	for _, d := range []*signoff.Deployment{completed, aborted} {
		if rows := sqlInt(t, db, `SELECT count(*) FROM audit_events WHERE deployment_id = $1`, d.ID); rows != 0 {
			t.Fatalf("deployment %d sealed with %d rows left in audit_events", d.ID, rows)
		}
		if rows := sqlInt(t, db, `SELECT count(*) FROM audit_log_entries WHERE chain = $1`, d.ID); rows != 0 {
			t.Fatalf("deployment %d sealed with %d rows left in audit_log_entries", d.ID, rows)
		}
		if rows := sqlInt(t, db, `SELECT count(*) FROM deployment_items WHERE deployment_id = $1`, d.ID); rows != 0 {
			t.Fatalf("deployment %d sealed with %d rows left in deployment_items", d.ID, rows)
		}
		if sqlInt(t, db, `SELECT count(*) FROM deployments WHERE id = $1 AND sealed_at IS NOT NULL`, d.ID) != 1 {
			t.Fatalf("deployment %d not marked sealed", d.ID)
		}
	}
	if rows := sqlInt(t, db, `SELECT count(*) FROM audit_events WHERE deployment_id = $1`, open.ID); rows != int64(len(before[open.ID])) {
		t.Fatalf("the open deployment's chain has %d rows, want %d (not sealed)", rows, len(before[open.ID]))
	}

	// Read back: the same events, whole or in part, a chain that checks.
	for id, want := range before {
		sameEvents(t, "deployment "+strconv.FormatInt(id, 10), events(t, db, id), want)
		checkChain(t, db, id)
		part, err := db.Events(ctx, id, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		sameEvents(t, "event 2 alone", part, want[1:2])
		rest, err := db.Events(ctx, id, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		sameEvents(t, "events after the first", rest, want[1:])
		if err := verifyExport(t, db, key, id); err != nil {
			t.Fatalf("deployment %d: verify after sealing: %v", id, err)
		}
	}
	// Its items, comments and files read back as they were, the page's
	// counts with them.
	for id, want := range rows {
		got := keep(id)
		if !reflect.DeepEqual(got.d, want.d) || !reflect.DeepEqual(got.list, want.list) ||
			!reflect.DeepEqual(got.slots, want.slots) {
			t.Fatalf("deployment %d after sealing:\n%+v\nwant\n%+v", id, got.d, want.d)
		}
		if !reflect.DeepEqual(got.block, want.block) || !reflect.DeepEqual(got.comments, want.comments) ||
			!reflect.DeepEqual(got.files, want.files) {
			t.Fatalf("deployment %d: items, comments or files changed when sealed:\n%+v\n%+v\n%+v\nwant\n%+v\n%+v\n%+v",
				id, got.block, got.comments, got.files, want.block, want.comments, want.files)
		}
	}
	if len(rows[completed.ID].comments) != 2 || len(rows[completed.ID].files) != 1 || len(rows[completed.ID].list.Items) == 0 {
		t.Fatalf("the completed deployment has %d comments, %d files, %d items; the test wants 2, 1 and all",
			len(rows[completed.ID].comments), len(rows[completed.ID].files), len(rows[completed.ID].list.Items))
	}
	// So does the view for reading by hand.
	for _, w := range before[completed.ID] {
		var payload string
		var hash []byte
		if err := db.Pool().QueryRow(ctx, `SELECT payload, audit_event_hash(deployment_id, seq) FROM audit_events_all
			WHERE deployment_id = $1 AND seq = $2`, completed.ID, w.Seq).Scan(&payload, &hash); err != nil ||
			payload != w.Payload || !bytes.Equal(hash, w.Hash) {
			t.Fatalf("audit_events_all, event %d: %q %x (%v)", w.Seq, payload, hash, err)
		}
	}

	// The log reads sealed entries as it read rows: the same entry bundle,
	// and it goes on growing over them.
	again, err := db.LogTile(ctx, torchwood.TilePath(tlog.Tile{H: torchwood.TileHeight, L: -1, N: 0, W: int(size)}))
	if err != nil || !bytes.Equal(again, entries) {
		t.Fatalf("the entry bundle changed when chains were sealed (%v)", err)
	}
	tick(t, db, open, smallLeaves[1], signoff.ItemDone, team.eng)
	if n, err := db.IntegrateLog(ctx); err != nil || n != 1 {
		t.Fatalf("integrated %d after sealing (%v)", n, err)
	}
	if err := verifyExport(t, db, key, open.ID); err != nil {
		t.Fatal(err)
	}

	// Nothing else moves: not an open chain, not a sealed one again, and
	// no row a seal does not hold can be deleted, even by the tables'
	// owner; sealed chains can be neither changed nor deleted.
	var n int
	for _, id := range []int64{open.ID, completed.ID, 0, -1} {
		if err := db.Pool().QueryRow(ctx, `SELECT seal_deployment($1)`, id).Scan(&n); err != nil || n != 0 {
			t.Fatalf("seal_deployment(%d) = %d (%v); want 0", id, n, err)
		}
	}
	for _, q := range []string{
		`DELETE FROM audit_events WHERE deployment_id = ` + strconv.FormatInt(open.ID, 10),
		`DELETE FROM audit_events WHERE deployment_id IS NULL`,
		`UPDATE audit_sealed_chains SET payloads = payloads || ' '`,
		`DELETE FROM audit_sealed_chains`,
		`TRUNCATE audit_sealed_chains CASCADE`,
	} {
		_, err := db.Pool().Exec(ctx, q)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Fatalf("%s: %v; want it refused (42501)", q, err)
		}
	}
	sameEvents(t, "after the refusals", events(t, db, completed.ID), before[completed.ID])

	// A sealed payload changed behind the triggers' back no longer
	// matches its hash: verification says so.
	for _, q := range []string{
		`ALTER TABLE audit_sealed_chains DISABLE TRIGGER audit_sealed_chains_append_only`,
		`UPDATE audit_sealed_chains SET payloads = replace(payloads, '"state":"na"', '"state":"done"') WHERE deployment_id = ` + strconv.FormatInt(completed.ID, 10),
		`ALTER TABLE audit_sealed_chains ENABLE TRIGGER audit_sealed_chains_append_only`,
	} {
		if _, err := db.Pool().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := verifyExport(t, db, key, completed.ID); err == nil {
		t.Fatal("a sealed chain rewritten behind the triggers' back verified")
	}
}

// A chain whose rows disagree with their payloads (a column changed behind
// the triggers' back) is not sealed: the seal would lose the column's
// value. The sealer says so, and the others are still sealed.
func TestSealRefusesAChainThatIsNotWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	logKey(t, db)
	team := newSignTeam(t, db)
	var ds []*signoff.Deployment
	for _, service := range []string{"voxflow-api", "voxflow-web"} {
		d := newSmallDeployment(t, db, team.eng, service)
		if _, err := db.SetStatus(ctx, d.ID, signoff.StatusAborted, "not today", as(team.eng)); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	if _, err := db.IntegrateLog(ctx); err != nil {
		t.Fatal(err)
	}
	want := events(t, db, ds[0].ID)
	for _, q := range []string{
		`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update`,
		`UPDATE audit_events SET actor_name = 'Someone Else' WHERE seq = 1 AND deployment_id = ` + strconv.FormatInt(ds[0].ID, 10),
		`ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update`,
	} {
		if _, err := db.Pool().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.SealDeployments(ctx)
	if n != 1 || err == nil {
		t.Fatalf("SealDeployments: %d sealed, %v; want the whole chain sealed and an error for the other", n, err)
	}
	if rows := sqlInt(t, db, `SELECT count(*) FROM audit_events WHERE deployment_id = $1`, ds[0].ID); rows != int64(len(want)) {
		t.Fatalf("%d rows left of a chain that was not whole; want all %d", rows, len(want))
	}
	if sqlInt(t, db, `SELECT count(*) FROM audit_sealed_chains WHERE deployment_id = $1`, ds[1].ID) != 1 {
		t.Fatal("the whole chain beside it was not sealed")
	}
}
