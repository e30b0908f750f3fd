package main

import (
	"testing"
	"github.com/signoff/signoff/internal/pgtest"
)

func TestZZDebug(t *testing.T) {
	a := startApp(t, pgtest.URL(t))
	br := newBrowser(t)
	b := newTab(t, br, a.URL, "x")
	t.Log("tab open")
	b.navigate("/healthz")
	t.Log("healthz ok")
	b.navigate("/login")
	t.Log("login ok")
}
