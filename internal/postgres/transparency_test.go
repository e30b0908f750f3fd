package postgres_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strconv"
	"strings"
	"testing"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/internal/transparency"
)

const testOrigin = "signoff.test/audit-log"

// logKey names the store's log and returns the verifier of its checkpoints.
func logKey(t *testing.T, db *postgres.DB) (ed25519.PrivateKey, *transparency.Checkpoint) {
	t.Helper()
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	if origin, err := db.SetLogKey(context.Background(), key, testOrigin, nil); err != nil || origin != testOrigin {
		t.Fatalf("SetLogKey: %q, %v", origin, err)
	}
	return key, nil
}

// openCheckpoint reads and checks the newest signed checkpoint.
func openCheckpoint(t *testing.T, db *postgres.DB, key ed25519.PrivateKey) transparency.Checkpoint {
	t.Helper()
	signed, err := db.LogCheckpoint(context.Background())
	if err != nil || signed == nil {
		t.Fatalf("no checkpoint (%v)", err)
	}
	v, err := transparency.NewLogVerifier(testOrigin, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := transparency.Open(signed, v)
	if err != nil {
		t.Fatalf("checkpoint does not verify: %v\n%s", err, signed)
	}
	return c
}

func entryOf(deploymentID int64, e signoff.Event) transparency.Entry {
	en := transparency.Entry{Chain: deploymentID, Seq: e.Seq}
	copy(en.Prev[:], e.PrevHash)
	copy(en.Hash[:], e.Hash)
	return en
}

// Every event of every chain enters the log, in order; checkpoints verify;
// a record's last event is proven to be its chain's head; trees grow
// consistently; tiles hold the entries.
func TestTransparencyLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	key, _ := logKey(t, db)
	alice := addUser(t, db, "Alice Chen", "Deployment Engineer")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	tick(t, db, d, smallLeaves[0], signoff.ItemDone, alice)

	n, err := db.IntegrateLog(ctx)
	if err != nil || n == 0 {
		t.Fatalf("IntegrateLog: %d, %v", n, err)
	}
	first := openCheckpoint(t, db, key)
	var events int64
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_events`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if first.Size != events || first.Chains != 2 {
		t.Fatalf("checkpoint of %d leaves and %d chains; want %d leaves (every event) and 2 chains (system, the deployment)", first.Size, first.Chains, events)
	}
	if again, err := db.IntegrateLog(ctx); err != nil || again != 0 {
		t.Fatalf("nothing pending: integrated %d (%v)", again, err)
	}

	for _, p := range smallLeaves[1:] {
		tick(t, db, d, p, signoff.ItemDone, alice)
	}
	rec, err := db.SignedRecord(ctx, d.ID) // integrates what is pending
	if err != nil {
		t.Fatal(err)
	}
	v, _ := transparency.NewLogVerifier(testOrigin, key.Public().(ed25519.PublicKey))
	last := rec.Events[len(rec.Events)-1]
	c, err := rec.Log.Check(entryOf(d.ID, last), v)
	if err != nil {
		t.Fatalf("record proof: %v", err)
	}
	// An earlier event is not the chain's head at that checkpoint.
	if _, err := rec.Log.Check(entryOf(d.ID, rec.Events[len(rec.Events)-2]), v); err == nil {
		t.Fatal("a record cut short by one event proved to be complete")
	}
	proof, err := db.ProveConsistency(ctx, first.Size, c.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(tlog.TreeProof(proof), c.Size, c.Root, first.Size, first.Root); err != nil {
		t.Fatalf("consistency proof %d -> %d: %v", first.Size, c.Size, err)
	}
	incl, err := db.ProveInclusion(ctx, rec.Log.Index, c.Size)
	if err != nil || tlog.CheckRecord(tlog.RecordProof(incl), c.Size, c.Root, rec.Log.Index, entryOf(d.ID, last).LeafHash()) != nil {
		t.Fatalf("inclusion proof of leaf %d: %v", rec.Log.Index, err)
	}

	// The entries tile holds every entry, each hashing to its leaf.
	tile := tlog.Tile{H: torchwood.TileHeight, L: -1, N: 0, W: int(c.Size)}
	bundle, err := db.LogTile(ctx, torchwood.TilePath(tile))
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := db.LogTile(ctx, torchwood.TilePath(tlog.Tile{H: torchwood.TileHeight, L: 0, N: 0, W: int(c.Size)}))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; len(bundle) > 0; i++ {
		var entry []byte
		if entry, bundle, err = torchwood.ReadTileEntry(bundle); err != nil {
			t.Fatal(err)
		}
		if _, err := transparency.ParseEntry(entry); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if h, _ := tlog.HashFromTile(tlog.Tile{H: torchwood.TileHeight, L: 0, N: 0, W: int(c.Size)}, hashes, tlog.StoredHashIndex(0, int64(i))); h != tlog.RecordHash(entry) {
			t.Fatalf("entry %d does not hash to its leaf", i)
		}
	}
	if _, err := db.LogTile(ctx, torchwood.TilePath(tlog.Tile{H: torchwood.TileHeight, L: -1, N: 0, W: int(c.Size) + 1})); err == nil {
		t.Fatal("a tile beyond the log was served")
	}
}

// An event that does not extend its chain as the log holds it (the audit
// table was changed behind the log's back) stops the log: nothing more is
// integrated, and the error says which event.
func TestTransparencyLogRefusesAFork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	logKey(t, db)
	alice := addUser(t, db, "Alice Chen", "Deployment Engineer")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	ev := tick(t, db, d, smallLeaves[0], signoff.ItemDone, alice)
	if _, err := db.IntegrateLog(ctx); err != nil {
		t.Fatal(err)
	}
	// As the owner: rewrite the logged event's hash.
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update`,
		`UPDATE audit_events SET hash = sha256(hash) WHERE deployment_id = ` + strconv.FormatInt(d.ID, 10) + ` AND seq = ` + strconv.FormatInt(ev.Seq, 10),
		`ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	size, _ := db.LogSize(ctx)
	tick(t, db, d, smallLeaves[1], signoff.ItemDone, alice)
	_, err = db.IntegrateLog(ctx)
	if !errors.Is(err, postgres.ErrLogFork) || !strings.Contains(err.Error(), "deployment/"+strconv.FormatInt(d.ID, 10)) {
		t.Fatalf("IntegrateLog after a rewrite: %v; want ErrLogFork naming the chain", err)
	}
	if after, _ := db.LogSize(ctx); after != size {
		t.Fatalf("the log grew from %d to %d past a fork", size, after)
	}
	if _, forks, _ := db.LogStats(); forks == 0 {
		t.Fatal("the fork was not counted")
	}
}
