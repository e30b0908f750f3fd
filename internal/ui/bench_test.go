package ui_test

import (
	"net/http"
	"net/url"
	"testing"
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
