package postgres

import (
	"context"
	"crypto/ed25519"
	"slices"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/internal/transparency"
)

func filledDB(t *testing.T, n int) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.URL(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetLogKey(ctx, ed25519.NewKeyFromSeed(make([]byte, 32)), "scale.test/audit-log", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Fill(ctx, FillOptions{N: n, Seed: 3, Chunk: 7, Integrate: true}); err != nil {
		t.Fatal(err)
	}
	return db
}

// The chain heads kept between checkpoints, and their tree, are the heads
// read whole from the log and their tree made afresh, at the newest
// checkpoint and at older ones, as the log grows.
func TestChainHeadsKeptAreTheLogs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := filledDB(t, 30)
	check := func() {
		t.Helper()
		var sizes []int64
		rows, err := db.pool.Query(ctx, `SELECT size FROM audit_log_checkpoints ORDER BY size`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s int64
			rows.Scan(&s)
			sizes = append(sizes, s)
		}
		if len(sizes) < 3 {
			t.Fatalf("%d checkpoints; want several", len(sizes))
		}
		for _, size := range []int64{sizes[0], sizes[len(sizes)/2], sizes[len(sizes)-1]} {
			whole, err := chainHeads(ctx, db.pool, size)
			if err != nil {
				t.Fatal(err)
			}
			kept, err := db.chainHeadsAt(ctx, db.pool, size)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(whole, kept.heads) {
				t.Fatalf("at size %d the kept heads (%d) differ from the log's (%d)", size, len(kept.heads), len(whole))
			}
			got, err1 := kept.tree.Root()
			want, err2 := whole.Root()
			if err1 != nil || err2 != nil || got != want {
				t.Fatalf("at size %d the kept heads' tree has root %v, the log's %v (%v, %v)", size, got, want, err1, err2)
			}
		}
	}
	check()
	// Chains that move on, and new ones.
	if _, err := db.Fill(ctx, FillOptions{N: 9, Seed: 4, Chunk: 4, Integrate: true}); err != nil {
		t.Fatal(err)
	}
	actor := signoff.EventActor{ID: 1, Name: "x", Via: "web"}
	d, err := db.CreateDeployment(ctx, signoff.NewDeployment{TemplateSlug: "voxflow-production-deployment-checklist",
		Service: "s", Environment: "e", Version: "v"}, actor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1.1", State: signoff.ItemDone}, actor); err != nil {
		t.Fatal(err)
	}
	if _, err := db.IntegrateLog(ctx); err != nil {
		t.Fatal(err)
	}
	check()
}

// Every list, filter and search is served by an index, however the table
// grows: with sequential scans off, a plan still shows one on deployments
// only where no index serves the query.
func TestListsUseIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := filledDB(t, 40)
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]string{
		"environments":   environmentsSQL,
		"overdue sweep":  strings.ReplaceAll(overdueSQL, "$1", "now()"),
		"my sign-offs":   strings.ReplaceAll(awaitingSQL, "$1", "1"),
		"service filter": `SELECT id FROM deployments d WHERE d.service ILIKE '%pay%' ORDER BY d.created_at DESC, d.id DESC LIMIT 200`,
		"signer filter": `SELECT id FROM deployments d WHERE EXISTS (SELECT 1 FROM signoffs s WHERE s.deployment_id = d.id
			AND s.ended_at IS NULL AND s.signer_name ILIKE '%zz%') ORDER BY d.created_at DESC, d.id DESC LIMIT 200`,
	} {
		var plan strings.Builder
		rows, err := conn.Query(ctx, "EXPLAIN "+q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for rows.Next() {
			var line string
			rows.Scan(&line)
			plan.WriteString(line + "\n")
		}
		if rows.Err() != nil {
			t.Fatalf("%s: %v", name, rows.Err())
		}
		if strings.Contains(plan.String(), "Seq Scan on deployments") || strings.Contains(plan.String(), "Seq Scan on deployment_slots") ||
			strings.Contains(plan.String(), "Seq Scan on signoffs") {
			t.Errorf("%s reads a whole table:\n%s", name, plan.String())
		}
	}
}

func TestMergeHeads(t *testing.T) {
	h := func(chain, seq int64) transparency.Head { return transparency.Head{Chain: chain, Seq: seq} }
	base := transparency.Heads{h(0, 5), h(3, 1), h(7, 2)}
	for _, c := range []struct {
		moved    transparency.Heads
		want     transparency.Heads
		changed  []int
		appended bool
	}{
		{nil, base, nil, true},
		{transparency.Heads{h(3, 2), h(9, 1)}, transparency.Heads{h(0, 5), h(3, 2), h(7, 2), h(9, 1)}, []int{1}, true},
		{transparency.Heads{h(0, 6), h(7, 3)}, transparency.Heads{h(0, 6), h(3, 1), h(7, 3)}, []int{0, 2}, true},
		{transparency.Heads{h(5, 1), h(7, 3)}, transparency.Heads{h(0, 5), h(3, 1), h(5, 1), h(7, 3)}, []int{3}, false},
	} {
		got, changed, appended := mergeHeads(base, c.moved)
		if !slices.Equal(got, c.want) || !slices.Equal(changed, c.changed) || appended != c.appended {
			t.Errorf("merge %v: %v %v %v; want %v %v %v", c.moved, got, changed, appended, c.want, c.changed, c.appended)
		}
	}
	if base[0].Seq != 5 || base[2].Seq != 2 {
		t.Error("merging changed the kept heads")
	}
}
