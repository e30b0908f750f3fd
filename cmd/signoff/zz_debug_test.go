package main

import (
	"context"
	"testing"
	"time"
	"github.com/signoff/signoff/internal/pgtest"
)

func TestZZDebug(t *testing.T) {
	a := startApp(t, pgtest.URL(t))
	alice := a.user("Alice Chen", "Deployment Engineer")
	d := a.deployment(alice, "x", "v1")
	br := newBrowser(t)
	b := newTab(t, br, a.URL, "x")
	b.login(alice)
	b.navigate(dpath(d, ""))
	b.waitFor("conn", `document.querySelector("[data-live-indicator].is-connected")`)
	q := func() { var n int; a.DB.Pool().QueryRow(context.Background(), "select count(*) from live_viewers").Scan(&n); t.Log("viewers rows", n) }
	q()
	b.navigate("/deployments")
	for i := 0; i < 3; i++ { time.Sleep(500*time.Millisecond); q() }
	b.navigate("/my/signoffs")
	for i := 0; i < 2; i++ { time.Sleep(500*time.Millisecond); q() }
}
