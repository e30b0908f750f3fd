package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/pgtest"
)

// TestAuditEventReadsUseTheChainIndexes: every read of one chain's events
// can be served by an index. The audit log is the largest table and only
// grows; a read that could not use an index would scan every event of every
// deployment, as the notifier's did when the chain key was an expression
// its predicate did not match. With sequential scans disabled, a plan
// still shows one only when no index can serve the query; and a plan that
// filters by deployment after an index scan on seq alone reads every
// chain's events too.
func TestAuditEventReadsUseTheChainIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.URL(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	// The transparency log reads an event's hash through audit_event_hash
	// (migration 0021), once per chain for the heads: its body, as
	// installed, with its arguments as parameters.
	var hashBody string
	if err := conn.QueryRow(ctx, `SELECT prosrc FROM pg_proc WHERE proname = 'audit_event_hash'`).Scan(&hashBody); err != nil {
		t.Fatal(err)
	}
	hashBody = strings.NewReplacer("audit_event_hash.chain", "$1::bigint", "audit_event_hash.seq", "$2::bigint").Replace(hashBody)
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"audit_event_hash (a deployment)": {hashBody, []any{int64(7), int64(3)}},
		"audit_event_hash (system chain)": {hashBody, []any{int64(0), int64(3)}},
		"Events (a deployment)":           {deploymentEventsSQL, []any{int64(7), int64(0), 100}},
		"Events (system chain)":           {systemEventsSQL, []any{int64(0), 100}},
		// The notifier's and the export's reads are the same query, unlimited.
		"notification cursor": {deploymentEventsSQL, []any{int64(7), int64(3), 1 << 30}},
		"export record":       {deploymentEventsSQL, []any{int64(7), int64(0), 1 << 30}},
	} {
		rows, err := conn.Query(ctx, "EXPLAIN "+q.sql, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		text := strings.Join(plan, "\n")
		// The chain must be picked out by the index, not filtered from
		// what a range of sequence numbers (every chain's) turned up.
		if strings.Contains(text, "Seq Scan on audit_events") || strings.Contains(text, "Filter: (deployment_id") ||
			!strings.Contains(text, "chain_key") {
			t.Errorf("%s is not served by a chain index:\n%s", name, text)
		}
	}
}
