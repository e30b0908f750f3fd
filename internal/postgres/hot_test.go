package postgres_test

import (
	"context"
	"regexp"
	"testing"
)

// A tick changes an item's state, na_reason, state_by and state_at, and
// its deployment's audit head, revision and time, and nothing indexes
// them: PostgreSQL then updates both rows in place (a HOT update) instead
// of writing a new entry into every index of their tables. A column in an
// index's predicate or expression counts as indexed, so "WHERE state =
// 'open'" on any index of deployment_items would end that.
func TestTickColumnsAreNotIndexed(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	for table, written := range map[string]*regexp.Regexp{
		"deployment_items": regexp.MustCompile(`\b(state|na_reason|state_by|state_at)\b`),
		"deployments":      regexp.MustCompile(`\b(audit_seq|audit_head|audit_at|checklist_rev|updated_at)\b`),
	} {
		rows, err := db.Pool().Query(context.Background(), `
			SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid)
			FROM pg_index WHERE indrelid = $1::regclass`, table)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var name, def string
			if err := rows.Scan(&name, &def); err != nil {
				t.Fatal(err)
			}
			n++
			if written.MatchString(def) {
				t.Errorf("index %s reads a column every tick writes, so no tick updates %s in place: %s", name, table, def)
			}
		}
		if err := rows.Err(); err != nil || n == 0 {
			t.Fatalf("read %s' indexes: %d, %v", table, n, err)
		}
	}
}
