package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// /readyz fails while the database takes no writes, saying why, and passes
// again by itself once it does. (A full disk: cmd/signoff's
// TestFaultReadyzWhileTheDiskIsFull.)
func TestReadyzFailsWhileTheDatabaseIsReadOnly(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.anon()
	ctx := context.Background()
	var name string
	if err := a.db.Pool().QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	readOnly := func(on bool) {
		t.Helper()
		q := fmt.Sprintf(`BEGIN READ WRITE; ALTER DATABASE %q SET default_transaction_read_only = %v; COMMIT`, name, on)
		if _, err := a.db.Pool().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
		a.db.Pool().Reset() // connections made from now on see it
	}
	wait := func(status int, says string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			res := c.get("/readyz")
			if res.StatusCode == status && strings.Contains(res.Body, says) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz: %d %q; want %d saying %q", res.StatusCode, res.Body, status, says)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wait(200, "ready")
	readOnly(true)
	wait(503, "accepts only reads")
	readOnly(false)
	wait(200, "ready")
	m := c.get("/metrics")
	if !strings.Contains(m.Body, `signoff_not_ready_total{cause="read_only"}`) || !strings.Contains(m.Body, "signoff_ready 1") {
		t.Fatalf("metrics do not show the read-only spell:\n%s", grepLines(m.Body, "ready"))
	}
}

func grepLines(s, word string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}
