package main

import (
	"context"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
)

// Every checkpoint of the transparency log is kept, so the server signs
// them at most every LOG_CHECKPOINT_INTERVAL while events trickle in (a
// checkpoint a second would cost a slow deployment one per event), the
// first event after a quiet spell at once; an export does not wait for
// the interval, it integrates what its record needs.
func TestLogCheckpointsComeEveryInterval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := startAppWith(t, pgtest.URL(t), appSetup{env: map[string]string{"LOG_CHECKPOINT_INTERVAL": "1h"}})
	count := func(q string) int64 {
		t.Helper()
		var n int64
		if err := a.DB.Pool().QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The events made before the server started are in the log within a
	// poll or two.
	for deadline := time.Now().Add(10 * time.Second); count(`SELECT count(*) FROM audit_log_pending`) > 0 ||
		count(`SELECT count(*) FROM audit_log_checkpoints`) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first events did not enter the log")
		}
	}
	checkpoints := count(`SELECT count(*) FROM audit_log_checkpoints`)

	alice := a.user("Alice Chen", "Deployment Engineer")
	d := a.deployment(alice, "voxflow-api", "v2.4.0")
	for _, it := range a.leaves(d)[:3] {
		a.setItem(d, alice, it.Path, signoff.ItemDone, "")
	}
	time.Sleep(3 * time.Second) // three polls
	if n := count(`SELECT count(*) FROM audit_log_checkpoints`); n != checkpoints {
		t.Fatalf("%d checkpoints signed within the interval; want none after the first %d", n-checkpoints, checkpoints)
	}
	if waiting := count(`SELECT count(*) FROM audit_log_pending`); waiting < 5 {
		t.Fatalf("%d events wait for the log; want the person, the deployment and its ticks", waiting)
	}

	rec, err := a.DB.SignedRecord(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Log == nil || count(`SELECT count(*) FROM audit_log_pending`) != 0 ||
		count(`SELECT count(*) FROM audit_log_checkpoints`) != checkpoints+1 {
		t.Fatalf("an export did not integrate what was waiting into one checkpoint (proof %v)", rec.Log != nil)
	}
}
