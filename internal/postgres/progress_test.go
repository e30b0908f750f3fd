package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// recount counts a deployment's tasks by section from its items, the way
// the counts were taken before deployment_progress kept them.
func recount(t *testing.T, db *postgres.DB, d *signoff.Deployment) map[signoff.SectionKey]signoff.Progress {
	t.Helper()
	items, err := db.Items(context.Background(), d.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[signoff.SectionKey]signoff.Progress{}
	for _, it := range items {
		if it.HasChildren {
			continue
		}
		k := signoff.SectionKey{Phase: it.Phase, Section: it.Section}
		p := out[k]
		p.Total++
		switch it.State {
		case signoff.ItemDone:
			p.Done++
		case signoff.ItemNA:
			p.NA++
		}
		out[k] = p
	}
	return out
}

func wantCounts(t *testing.T, db *postgres.DB, d *signoff.Deployment, when string) {
	t.Helper()
	got, err := db.SectionProgress(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := recount(t, db, d)
	if !maps.Equal(got, want) {
		for _, k := range slices.SortedFunc(maps.Keys(want), func(a, b signoff.SectionKey) int {
			return (a.Phase-b.Phase)*100 + a.Section - b.Section
		}) {
			if got[k] != want[k] {
				t.Errorf("%s: section %d.%d counts %+v; the items say %+v", when, k.Phase, k.Section, got[k], want[k])
			}
		}
		t.Fatalf("%s: %d sections kept, %d counted", when, len(got), len(want))
	}
}

// The per-section counts a tick's answer reads are kept by triggers: they
// agree with a count of the items after every kind of change (ticks, N/A,
// a parent's N/A that closes its sub-items, many people at once, and a
// statement that changes many items outside the application).
func TestSectionProgressKeptByTriggers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	eng := addUser(t, db, "Erin Engineer", "Deployment Engineer")
	d := newDeployment(t, db, eng)
	wantCounts(t, db, d, "created")
	if got := recount(t, db, d); len(got) < 10 {
		t.Fatalf("the seed deployment has %d sections; want many", len(got))
	}

	items, err := db.Items(ctx, d.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var leaves, parents []string
	for _, it := range items {
		if it.HasChildren {
			parents = append(parents, it.Path)
		} else {
			leaves = append(leaves, it.Path)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	states := []signoff.ItemState{signoff.ItemDone, signoff.ItemOpen, signoff.ItemNA}
	for i := range 150 {
		tick(t, db, d, leaves[rng.IntN(len(leaves))], states[rng.IntN(len(states))], eng)
		if i%50 == 49 {
			wantCounts(t, db, d, fmt.Sprintf("after %d changes", i+1))
		}
	}
	for _, p := range parents[:5] {
		if _, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: p, State: signoff.ItemNA, NAReason: "not this time"}, as(eng)); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, db, d, "after parents marked N/A")

	// Eight people at once, each on items of their own and on shared ones.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range 40 {
				c := signoff.ItemChange{Path: leaves[r.IntN(len(leaves))], State: states[r.IntN(len(states))]}
				if c.State == signoff.ItemNA {
					c.NAReason = "does not apply"
				}
				if _, err := db.SetItemState(ctx, d.ID, c, as(eng)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	wantCounts(t, db, d, "after concurrent changes")

	// A statement that changes many items at once, as an operator's
	// repair might: the counts follow.
	if _, err := db.Pool().Exec(ctx, `
		UPDATE deployment_items SET state = 'open', na_reason = ''
		WHERE deployment_id = $1 AND state = 'na'`, d.ID); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, db, d, "after a bulk update")

	// Another deployment's counts are its own.
	other := newDeployment(t, db, eng)
	wantCounts(t, db, other, "a second deployment")
	wantCounts(t, db, d, "the first, beside a second")
}

// An item's place is fixed once it is created, and items are never
// deleted: the counts could not follow, and the audit trail refers to them.
func TestItemsKeepTheirPlace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	eng := addUser(t, db, "Erin Engineer", "Deployment Engineer")
	d := newDeployment(t, db, eng)
	for _, sql := range []string{
		`UPDATE deployment_items SET section = section + 1 WHERE deployment_id = $1 AND path = '1.1.1.1'`,
		`UPDATE deployment_items SET has_children = true WHERE deployment_id = $1 AND path = '1.1.1.1'`,
		`DELETE FROM deployment_items WHERE deployment_id = $1 AND path = '1.1.1.1'`,
	} {
		_, err := db.Pool().Exec(ctx, sql, d.ID)
		if err == nil || !strings.Contains(err.Error(), "fixed when it is created") {
			t.Errorf("%s: %v; want it refused", sql, err)
		}
	}
	wantCounts(t, db, d, "after refused changes")
	// Changing what is not its place is allowed.
	if _, err := db.Pool().Exec(ctx, `UPDATE deployment_items SET evidence = 'log' WHERE deployment_id = $1 AND path = '1.1.1.1'`, d.ID); err != nil {
		t.Fatal(err)
	}
}

// Reading one item's block (after a change) returns exactly the item and
// its descendants, for every item of the seed checklist, at every level.
func TestItemsBlockIsTheItemAndItsDescendants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	eng := addUser(t, db, "Erin Engineer", "Deployment Engineer")
	d := newDeployment(t, db, eng)
	all, err := db.Items(ctx, d.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	levels := map[int]bool{}
	for _, top := range all {
		levels[top.Level] = true
		var want []string
		for _, it := range all {
			if it.Path == top.Path || strings.HasPrefix(it.Path, top.Path+".") {
				want = append(want, it.Path)
			}
		}
		block, err := db.Items(ctx, d.ID, top.Path)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range block {
			got = append(got, it.Path)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("block of %s: %v; want %v", top.Path, got, want)
		}
	}
	if len(levels) < 2 {
		t.Fatalf("the seed checklist has items at levels %v; want nesting", levels)
	}
	if block, err := db.Items(ctx, d.ID, "9.9.9"); err != nil || len(block) != 0 {
		t.Fatalf("block of an unknown path: %d items, %v; want none", len(block), err)
	}
}

// Deployments that exist when the counts table arrives are counted by its
// migration: down to the schema before it, change items, and up again.
func TestProgressMigrationCountsExistingDeployments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	m, err := postgres.NewMigrator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	db, err := postgres.Open(ctx, url, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatal(err)
	}
	eng := addUser(t, db, "Erin Engineer", "Deployment Engineer")
	before := newDeployment(t, db, eng)
	tick(t, db, before, "1.1.1.1", signoff.ItemDone, eng)
	// Made now, changed below while the schema has no counts (today's
	// store cannot create a deployment on a schema that old: its slots
	// have columns 0017 added).
	during := newDeployment(t, db, eng)

	// Down to the release before the counts (0010), past the later ones.
	for {
		v, _, err := m.Status()
		if err != nil {
			t.Fatal(err)
		}
		if v < 10 {
			if v != 9 {
				t.Fatalf("after down: version %d", v)
			}
			break
		}
		if err := m.Down(); err != nil {
			t.Fatal(err)
		}
	}
	// Changes made while the schema had no counts, as the release before
	// them made them (today's store reads the counts after every tick).
	set := func(d *signoff.Deployment, path string, state signoff.ItemState) {
		t.Helper()
		reason := ""
		if state == signoff.ItemNA {
			reason = "not this time"
		}
		if _, err := db.Pool().Exec(ctx, `
			UPDATE deployment_items SET state = $3, na_reason = $4
			WHERE deployment_id = $1 AND path = $2`, d.ID, path, state, reason); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []*signoff.Deployment{before, during} {
		set(d, "1.1.1.2", signoff.ItemDone)
		set(d, "1.1.2.1", signoff.ItemNA)
	}
	set(before, "1.1.1.1", signoff.ItemOpen)

	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	db.Pool().Reset() // prepared statements name the dropped table
	wantCounts(t, db, before, "a deployment from before the counts")
	wantCounts(t, db, during, "a deployment created without them")
	tick(t, db, during, "1.1.1.3", signoff.ItemDone, eng)
	wantCounts(t, db, during, "a change after the migration")
}
