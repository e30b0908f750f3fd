package postgres

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/transparency"
)

// headsCache keeps the chain heads of the newest checkpoint this process
// knows, and their tree. Every checkpoint commits to every chain's head,
// so reading them afresh costs one index probe per chain, and hashing
// their tree two hashes per chain: at 100,000 deployments, a second or
// more for each integration and each signed export. The heads at a size
// never change (the log is append-only), so the heads at a later size
// are these with the leaves since applied (a short range of the log's
// primary key), and their tree is this one with a path hashed again per
// chain that moved.
type headsCache struct {
	mu sync.Mutex
	at *headsAt // never changed once kept
}

// headsAt is every chain's head at a size of the log, and their tree.
type headsAt struct {
	size  int64
	heads transparency.Heads // in chain order
	tree  *transparency.HeadsTree
}

// chainHeadsAt is chainHeads at size with its tree, made from the kept
// ones and the leaves after them, or afresh when none are kept that it
// can use.
func (db *DB) chainHeadsAt(ctx context.Context, q querier, size int64) (*headsAt, error) {
	db.heads.mu.Lock()
	kept := db.heads.at
	db.heads.mu.Unlock()
	if kept == nil || kept.size > size {
		heads, err := chainHeads(ctx, q, size)
		if err != nil {
			return nil, err
		}
		tree, err := heads.Tree()
		if err != nil {
			return nil, fmt.Errorf("chain heads tree: %w", err)
		}
		return &headsAt{size: size, heads: heads, tree: tree}, nil
	}
	if kept.size == size {
		return kept, nil
	}
	rows, err := q.Query(ctx, `
		SELECT h.chain, h.seq, audit_event_hash(h.chain, h.seq)
		FROM (
		    SELECT DISTINCT ON (l.chain) l.chain, l.seq
		    FROM audit_log_leaves($1, $2) l
		    ORDER BY l.chain, l.seq DESC
		) h
		ORDER BY h.chain`, kept.size, size)
	if err != nil {
		return nil, fmt.Errorf("read chain heads: %w", err)
	}
	moved, err := pgx.CollectRows(rows, scanHead)
	if err != nil {
		return nil, fmt.Errorf("read chain heads: %w", err)
	}
	heads, changed, appended := mergeHeads(kept.heads, moved)
	var tree *transparency.HeadsTree
	if appended {
		tree, err = kept.tree.With(heads, changed)
	} else { // a new chain among the old ones moves those after it: afresh
		tree, err = heads.Tree()
	}
	if err != nil {
		return nil, fmt.Errorf("chain heads tree: %w", err)
	}
	return &headsAt{size: size, heads: heads, tree: tree}, nil
}

// keepHeads remembers the heads at a committed checkpoint's size.
func (db *DB) keepHeads(h *headsAt) {
	db.heads.mu.Lock()
	defer db.heads.mu.Unlock()
	if db.heads.at == nil || h.size > db.heads.at.size {
		db.heads.at = h
	}
}

// mergeHeads is base with moved's heads in place of (or beside) its own,
// both in chain order, and the positions whose head moved; appended says
// whether every new chain comes after base's last (so base's chains keep
// their positions). base is not changed.
func mergeHeads(base, moved transparency.Heads) (out transparency.Heads, changed []int, appended bool) {
	out = make(transparency.Heads, 0, len(base)+len(moved))
	appended = true
	i, j := 0, 0
	for i < len(base) || j < len(moved) {
		switch {
		case j == len(moved) || i < len(base) && base[i].Chain < moved[j].Chain:
			out = append(out, base[i])
			i++
		case i == len(base) || moved[j].Chain < base[i].Chain:
			appended = appended && i == len(base)
			out = append(out, moved[j])
			j++
		default: // the same chain: it moved on
			changed = append(changed, len(out))
			out = append(out, moved[j])
			i, j = i+1, j+1
		}
	}
	return out, changed, appended
}

func scanHead(row pgx.CollectableRow) (transparency.Head, error) {
	var h transparency.Head
	var hash []byte
	err := row.Scan(&h.Chain, &h.Seq, &hash)
	copy(h.Hash[:], hash)
	return h, err
}
