package main

import (
	"os"
	"testing"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
)

func TestZZDebug(t *testing.T) {
	a := startApp(t, pgtest.URL(t))
	alice := a.user("Alice Chen", "Deployment Engineer")
	d := a.deployment(alice, "x", "v1")
	for i, it := range a.leaves(d) {
		if i < 100 { a.setItem(d, alice, it.Path, signoff.ItemDone, "") }
	}
	c := newHTTPClient(t)
	c.login(a.URL, alice)
	_, raw := c.get(a.URL, dpath(d, ""), false)
	os.WriteFile("/tmp/page.html", raw, 0o644)
	t.Log(len(raw))
}
