package ui_test

import (
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/internal/ui"
)

// secondInstance serves the same database as a, as another app instance
// would, with its own caches and the given clock.
func (a *app) secondInstance(t *testing.T, now func() time.Time) *app {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s, err := ui.New(context.Background(), a.db, cfg, slog.New(slog.DiscardHandler), ui.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &app{t: t, db: a.db, srv: srv, ui: s}
}

// phasesOf cuts the checklist out of a deployment page.
func phasesOf(t *testing.T, page string) string {
	t.Helper()
	start := strings.Index(page, `<section class="phase"`)
	end := strings.Index(page, `id="notes"`)
	if start < 0 || end < start {
		t.Fatalf("no phases in the page:\n%.500s", page)
	}
	return page[start:end]
}

// TestCachedChecklistFollowsChanges: a page served from one instance's
// cache shows a change made through another instance at once.
func TestCachedChecklistFollowsChanges(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	b := a.secondInstance(t, time.Now)

	onA, onB := a.login(alice), b.login(alice)
	before := onB.get(dpath(d, ""))
	if before.StatusCode != http.StatusOK || strings.Contains(phasesOf(t, before.Body), `id="chk-1-1-1-1" name="state" value="done" checked`) {
		t.Fatalf("fresh deployment: %d, item 1.1.1.1 already ticked?", before.StatusCode)
	}
	onB.get(dpath(d, "")) // served from B's cache now

	if res := onA.post(dpath(d, "/items/1.1.1.1/state"), url.Values{"state": {"open", "done"}}, true); res.StatusCode != http.StatusOK {
		t.Fatalf("tick on A: %d %s", res.StatusCode, res.Body)
	}
	after := phasesOf(t, onB.get(dpath(d, "")).Body)
	if !strings.Contains(after, `id="chk-1-1-1-1" name="state" value="done" checked`) || !strings.Contains(after, "Alice Chen") {
		t.Fatal("B's page does not show the tick made on A")
	}
}

// TestCachedChecklistIsTheSameForEveryEditor: the cached rendering must
// not carry anything about the viewer but whether they may edit, or one
// person would see another's page.
func TestCachedChecklistIsTheSameForEveryEditor(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false, "Deployment Engineer")
	bob := a.user("Bob Okafor", true, false, "Database Administrator", "CTO/Technical Director")
	audrey := a.user("Audrey Auditor", false, true)
	ivan := a.user("Ivan Inspector", false, true)
	d := a.deployment(alice)
	ca := a.login(alice)
	for _, p := range []string{"1.1.1.1", "1.1.1.2", "2.1.1.1"} {
		ca.post(dpath(d, "/items/"+p+"/state"), url.Values{"state": {"open", "done"}}, true)
	}
	ca.post(dpath(d, "/items/1.2.5/state"), url.Values{"state": {"na"}, "reason": {"single region"}}, true)

	// Each viewer's page rendered by an instance of its own, so nothing is
	// served from a cache another viewer filled.
	render := func(u *signoff.User) string {
		return phasesOf(t, a.secondInstance(t, time.Now).login(u).get(dpath(d, "")).Body)
	}
	if render(alice) != render(bob) {
		t.Error("two editors see different checklists: the cached rendering would leak one's view to the other")
	}
	if render(audrey) != render(ivan) {
		t.Error("two auditors see different checklists")
	}
	if render(alice) == render(audrey) {
		t.Error("an auditor sees the editor's checklist (checkboxes they may not use)")
	}
	// And through one shared cache each still gets their own kind.
	if got := phasesOf(t, a.login(audrey).get(dpath(d, "")).Body); got != render(audrey) {
		t.Error("the cache served an auditor the editor's rendering")
	}
}

// TestCachedChecklistTurnsOverdue: a timed item falls overdue by the clock
// alone, with no change to the deployment, and the page shows it.
func TestCachedChecklistTurnsOverdue(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	ctx := context.Background()
	actor := signoff.EventActor{ID: alice.ID, Name: alice.Name, Via: "web"}
	if _, err := a.db.SetStatus(ctx, d.ID, signoff.StatusInProgress, "", actor); err != nil {
		t.Fatal(err)
	}
	if _, err := a.db.SetStatus(ctx, d.ID, signoff.StatusLive, "", actor); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	clock := time.Now()
	b := a.secondInstance(t, func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	c := b.login(alice)
	if n := strings.Count(phasesOf(t, c.get(dpath(d, "")).Body), "is-overdue"); n != 0 {
		t.Fatalf("just went live, yet %d overdue markers", n)
	}
	mu.Lock()
	clock = clock.Add(3 * time.Hour) // past the first-2-hours window
	mu.Unlock()
	if n := strings.Count(phasesOf(t, c.get(dpath(d, "")).Body), "is-overdue"); n == 0 {
		t.Fatal("three hours after go-live no item shows overdue: the cached page did not expire")
	}
}

// TestCachedPageCompressedOnce: the page whose checklist comes from the
// cache, compressed, is the same HTML as sent to a client that does not
// take gzip, and both follow a change.
func TestCachedPageCompressedOnce(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false, "Deployment Engineer")
	d := a.deployment(alice)
	c := a.login(alice)
	get := func(encoding string) response {
		req, _ := http.NewRequest(http.MethodGet, c.base+dpath(d, ""), nil)
		req.Header.Set("Accept-Encoding", encoding)
		res := c.do(req)
		if res.StatusCode != http.StatusOK || res.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("%s: status %d, Vary %q", encoding, res.StatusCode, res.Header.Get("Vary"))
		}
		return res
	}
	for round := range 2 {
		c.get(dpath(d, "")) // the checklist cached
		zipped, plain := get("gzip"), get("identity")
		if zipped.Header.Get("Content-Encoding") != "gzip" || plain.Header.Get("Content-Encoding") != "" {
			t.Fatalf("Content-Encoding %q and %q", zipped.Header.Get("Content-Encoding"), plain.Header.Get("Content-Encoding"))
		}
		// (gzip's reader checks the CRC and the length.)
		zr, err := gzip.NewReader(strings.NewReader(zipped.Body))
		if err != nil {
			t.Fatal(err)
		}
		unzipped, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("gunzip: %v", err)
		}
		zp, pp := phasesOf(t, string(unzipped)), phasesOf(t, plain.Body)
		if zp != pp || len(zp) < 100_000 {
			t.Fatalf("round %d: the checklist differs by encoding (%d and %d bytes)", round, len(zp), len(pp))
		}
		if round == 0 {
			if res := c.post(dpath(d, "/items/1.1.1.1/state"), url.Values{"state": {"open", "done"}}, true); res.StatusCode != http.StatusOK {
				t.Fatalf("tick: %d", res.StatusCode)
			}
		} else if !strings.Contains(zp, `id="chk-1-1-1-1" name="state" value="done" checked`) {
			t.Fatal("the compressed page does not show the tick")
		}
	}

	// A page viewed often is compressed again, harder, in the background:
	// fewer bytes, the same page.
	first := get("gzip")
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := get("gzip")
		if len(res.Body) < len(first.Body)*9/10 {
			zr, err := gzip.NewReader(strings.NewReader(res.Body))
			if err != nil {
				t.Fatal(err)
			}
			unzipped, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("gunzip: %v", err)
			}
			if phasesOf(t, string(unzipped)) != phasesOf(t, get("identity").Body) {
				t.Fatal("the page compressed again differs")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d bytes compressed (first %d) after many views", len(res.Body), len(first.Body))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
