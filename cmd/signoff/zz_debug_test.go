package main

import (
	"testing"
	"time"
	"github.com/signoff/signoff/internal/pgtest"
)

func TestZZDebug(t *testing.T) {
	t0 := time.Now()
	u := pgtest.URL(t)
	t.Log("pgtest", time.Since(t0)); t0 = time.Now()
	u2 := pgtest.URL(t)
	t.Log("pgtest2", time.Since(t0)); t0 = time.Now()
	_ = u2
	startApp(t, u)
	t.Log("app", time.Since(t0)); t0 = time.Now()
}
