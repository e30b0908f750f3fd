package postgres

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/transparency"
)

// headsCache keeps the chain heads of the newest checkpoint this process
// knows. Every checkpoint commits to every chain's head, so reading them
// afresh costs one index probe per chain: at 100,000 deployments, a
// second or more for each integration and each signed export. The heads
// at a size never change (the log is append-only), so the heads at a
// later size are these with the leaves since applied: a short range of
// the log's primary key.
type headsCache struct {
	mu    sync.Mutex
	size  int64
	heads transparency.Heads      // in chain order; never changed once kept
	tree  *transparency.HeadsTree // their tree, once an export needed it
}

// chainHeadsAt is chainHeads read as the cache's heads plus the leaves
// after them, or whole when the cache is behind nothing it can use.
func (db *DB) chainHeadsAt(ctx context.Context, q querier, size int64) (transparency.Heads, error) {
	db.heads.mu.Lock()
	from, base := db.heads.size, db.heads.heads
	db.heads.mu.Unlock()
	if from == 0 || from > size {
		return chainHeads(ctx, q, size)
	}
	if from == size {
		return base, nil
	}
	rows, err := q.Query(ctx, `
		SELECT DISTINCT ON (l.chain) l.chain, l.seq, e.hash
		FROM audit_log_entries l
		JOIN audit_events e ON e.id = l.event_id
		WHERE l.idx >= $1 AND l.idx < $2
		ORDER BY l.chain, l.seq DESC`, from, size)
	if err != nil {
		return nil, fmt.Errorf("read chain heads: %w", err)
	}
	moved, err := pgx.CollectRows(rows, scanHead)
	if err != nil {
		return nil, fmt.Errorf("read chain heads: %w", err)
	}
	return mergeHeads(base, moved), nil
}

// keepHeads remembers the heads at a committed checkpoint's size.
func (db *DB) keepHeads(size int64, heads transparency.Heads) {
	db.heads.mu.Lock()
	defer db.heads.mu.Unlock()
	if size > db.heads.size {
		db.heads.size, db.heads.heads, db.heads.tree = size, heads, nil
	}
}

// headsTree is the tree of the heads at size (which chainHeadsAt read),
// built once per checkpoint for every export that proves its chain in it.
func (db *DB) headsTree(size int64, heads transparency.Heads) (*transparency.HeadsTree, error) {
	db.heads.mu.Lock()
	if db.heads.size == size && db.heads.tree != nil {
		t := db.heads.tree
		db.heads.mu.Unlock()
		return t, nil
	}
	db.heads.mu.Unlock()
	t, err := heads.Tree()
	if err != nil {
		return nil, err
	}
	db.heads.mu.Lock()
	if db.heads.size == size {
		db.heads.tree = t
	}
	db.heads.mu.Unlock()
	return t, nil
}

// mergeHeads is base with moved's heads in place of (or beside) its own,
// both in chain order; base is not changed.
func mergeHeads(base, moved transparency.Heads) transparency.Heads {
	out := make(transparency.Heads, 0, len(base)+len(moved))
	i, j := 0, 0
	for i < len(base) || j < len(moved) {
		switch {
		case j == len(moved) || i < len(base) && base[i].Chain < moved[j].Chain:
			out = append(out, base[i])
			i++
		case i == len(base) || moved[j].Chain < base[i].Chain:
			out = append(out, moved[j])
			j++
		default: // the same chain: it moved on
			out = append(out, moved[j])
			i, j = i+1, j+1
		}
	}
	return out
}

func scanHead(row pgx.CollectableRow) (transparency.Head, error) {
	var h transparency.Head
	var hash []byte
	err := row.Scan(&h.Chain, &h.Seq, &hash)
	copy(h.Hash[:], hash)
	return h, err
}
