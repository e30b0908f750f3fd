package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/loadgen"
	"github.com/signoff/signoff/internal/pgtest"
)

// TestLoadGeneratorInvariants runs the load generator against the whole
// app for a few seconds. Speed is not asserted here (CI machines vary);
// what is asserted is that nothing failed and the database holds exactly
// what was sent, with every hash chain intact.
func TestLoadGeneratorInvariants(t *testing.T) {
	dbURL := pgtest.URL(t)
	a := startApp(t, dbURL)
	a.App.Config.LoadFloors = true
	var log bytes.Buffer
	res, err := loadgen.Run(context.Background(), dbURL, loadgen.Config{
		BaseURL: a.URL, Clients: 12, Deployments: 3, Duration: 700 * time.Millisecond, Log: &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	var report bytes.Buffer
	res.Print(&report)
	t.Logf("load generator:\n%s", report.String())
	for _, s := range res.Stats {
		if s.Requests == 0 {
			t.Errorf("%s: no requests", s.Phase)
		}
		if s.Errors > 0 {
			t.Errorf("%s: %d errors: %v", s.Phase, s.Errors, s.ErrorText)
		}
	}
	if res.Checked.Items == 0 || res.Checked.Events == 0 {
		t.Fatalf("invariant check covered nothing: %+v", res.Checked)
	}
	for _, v := range res.Violations {
		t.Errorf("invariant violated: %s", v)
	}
}
