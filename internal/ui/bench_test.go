package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

// BenchmarkDeploymentPage renders the full seed deployment page (222
// items) through the whole handler stack, session and all.
func BenchmarkDeploymentPage(b *testing.B) {
	a := newApp(b)
	alice := a.user("Alice Chen", false, false, "Deployment Engineer")
	d := a.deployment(alice)
	c := a.login(alice)
	for _, p := range []string{"1.1.1.1", "1.1.1.2", "2.1.1.1"} {
		c.post(dpath(d, "/items/"+p+"/state"), url.Values{"state": {"done"}}, true)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	for b.Loop() {
		res := c.get(dpath(d, ""))
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
		size = len(res.Body)
	}
	b.ReportMetric(float64(size), "bytes/page")
}

// BenchmarkTick is one HTMX tick (alternating done/open) through the whole
// handler stack: session, store transaction with its audit event, and the
// partial render.
func BenchmarkTick(b *testing.B) {
	a := newApp(b)
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	c := a.login(alice)
	states := []url.Values{{"state": {"open", "done"}}, {"state": {"open"}}}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		res := c.post(dpath(d, "/items/1.1.1.1/state"), states[i%2], true)
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d: %s", res.StatusCode, res.Body)
		}
		i++
	}
}

// BenchmarkDeploymentPageAfterChange is the same page when every view
// follows a change (the tick itself not timed): the checklist is read and
// rendered afresh each time, as when a crowd ticks while others reload.
func BenchmarkDeploymentPageAfterChange(b *testing.B) {
	a := newApp(b)
	alice := a.user("Alice Chen", false, false, "Deployment Engineer")
	d := a.deployment(alice)
	c := a.login(alice)
	states := []signoff.ItemState{signoff.ItemDone, signoff.ItemOpen}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		if _, err := a.db.SetItemState(context.Background(), d.ID, signoff.ItemChange{Path: "1.1.1.1", State: states[i%2]},
			signoff.EventActor{ID: alice.ID, Name: alice.Name, Via: "web"}); err != nil {
			b.Fatal(err)
		}
		i++
		b.StartTimer()
		if res := c.get(dpath(d, "")); res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}
