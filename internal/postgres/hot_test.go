package postgres_test

import (
	"context"
	"regexp"
	"testing"
)

// A tick changes an item's state, na_reason, state_by and state_at, and
// nothing indexes them: PostgreSQL then updates the row in place (a HOT
// update) instead of writing a new entry into every index of
// deployment_items. A column in an index's predicate or expression counts
// as indexed, so "WHERE state = 'open'" on any index would end that.
func TestTickColumnsAreNotIndexed(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	rows, err := db.Pool().Query(context.Background(), `
		SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid)
		FROM pg_index WHERE indrelid = 'deployment_items'::regclass`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	written := regexp.MustCompile(`\b(state|na_reason|state_by|state_at)\b`)
	n := 0
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		n++
		if written.MatchString(def) {
			t.Errorf("index %s reads a column every tick writes, so no tick updates in place: %s", name, def)
		}
	}
	if err := rows.Err(); err != nil || n == 0 {
		t.Fatalf("read deployment_items' indexes: %d, %v", n, err)
	}
}
