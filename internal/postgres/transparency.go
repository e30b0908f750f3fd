package postgres

// The transparency log (migration 0014, internal/transparency): one Merkle
// tree over every audit event. Appending an event costs its transaction
// one row in audit_log_pending (a trigger writes it), and nothing global:
// ticks on different deployments never wait for each other. The
// integrator (IntegrateLog), one instance at a time, then sequences the
// pending events into leaves, stores the tree's new hashes, and signs a
// checkpoint, as transparency logs do with an integrated size: what the
// log holds is what a signed checkpoint covers.

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"filippo.io/torchwood"
	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/internal/transparency"
)

// logLockID serialises integrators (one instance at a time integrates).
const logLockID = 0x5349474e_544c4f47 // "SIGNTLOG"

// integrateBatch bounds the events one integration transaction takes.
const integrateBatch = 5000

// ErrLogFork is wrapped by IntegrateLog's error when a pending event does
// not extend its chain as the log holds it: the audit table was changed
// behind the log's back. The log then grows no more, which witnesses and
// the metrics show.
var ErrLogFork = errors.New("an audit event does not extend its chain in the transparency log")

// logSigner signs the log's checkpoints (SetLogKey).
type logSigner struct {
	mu        sync.Mutex
	key       ed25519.PrivateKey
	origin    string
	signer    note.Signer
	witnesses []string // verifier keys whose cosignatures exports prefer
}

// logStats counts what the integrator did, for /metrics.
type logStats struct {
	integrated atomic.Int64 // leaves appended
	forks      atomic.Int64 // integrations refused with ErrLogFork
	size       atomic.Int64 // the last checkpoint's size
}

// SetLogKey gives the store the key that signs the log's checkpoints (the
// server's signing key), the origin to name the log with the first time
// (a log that has a name keeps it), and the verifier keys of the witnesses
// whose cosignatures exports prefer. It returns the log's origin.
func (db *DB) SetLogKey(ctx context.Context, key ed25519.PrivateKey, origin string, witnesses []string) (string, error) {
	if err := transparency.CheckOrigin(origin); err != nil {
		return "", err
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO audit_log_origin (origin) VALUES ($1) ON CONFLICT DO NOTHING`, origin)
	if err != nil {
		return "", fmt.Errorf("name the transparency log: %w", err)
	}
	stored, err := db.LogOrigin(ctx)
	if err != nil {
		return "", err
	}
	s, err := transparency.NewLogSigner(stored, key)
	if err != nil {
		return "", fmt.Errorf("transparency log signer: %w", err)
	}
	db.log.mu.Lock()
	db.log.key, db.log.origin, db.log.signer, db.log.witnesses = key, stored, s, witnesses
	db.log.mu.Unlock()
	return stored, nil
}

// LogOrigin is the log's name, the first line of its checkpoints.
func (db *DB) LogOrigin(ctx context.Context) (string, error) {
	var origin string
	if err := db.pool.QueryRow(ctx, `SELECT origin FROM audit_log_origin`).Scan(&origin); err != nil {
		return "", notFound(fmt.Errorf("transparency log origin: %w", err), "The transparency log has no name yet.")
	}
	return origin, nil
}

// LogStats reports the integrator's counters: leaves appended by this
// process, integrations refused as forks, and the last checkpoint's size.
func (db *DB) LogStats() (integrated, forks, size int64) {
	return db.logStats.integrated.Load(), db.logStats.forks.Load(), db.logStats.size.Load()
}

// IntegrateLog appends every pending event to the log and signs a
// checkpoint for each batch, until none is pending; it returns how many it
// appended. Another instance integrating meanwhile makes it return 0 at
// once. It needs SetLogKey.
func (db *DB) IntegrateLog(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := db.integrateBatch(ctx)
		total += n
		if err != nil || n < integrateBatch {
			return total, err
		}
	}
}

// LogWaiting counts the events waiting to enter the log, up to limit.
func (db *DB) LogWaiting(ctx context.Context, limit int) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT FROM audit_log_pending LIMIT $1) p`, limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("events waiting for the transparency log: %w", err)
	}
	return n, nil
}

type pendingEvent struct {
	id    int64
	entry transparency.Entry
}

func (db *DB) integrateBatch(ctx context.Context) (int, error) {
	db.log.mu.Lock()
	signer, origin := db.log.signer, db.log.origin
	db.log.mu.Unlock()
	if signer == nil {
		return 0, errors.New("integrate the transparency log: no signing key (SetLogKey)")
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("integrate the transparency log: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	var mine bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(logLockID)).Scan(&mine); err != nil || !mine {
		return 0, err
	}
	// The log's size is what it last signed.
	var size int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(size), 0) FROM audit_log_checkpoints`).Scan(&size); err != nil {
		return 0, fmt.Errorf("integrate the transparency log: size: %w", err)
	}
	pending, err := readPending(ctx, tx)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	if err := checkExtends(ctx, tx, pending); err != nil {
		db.logStats.forks.Add(1)
		return 0, err
	}
	hashes, err := appendLeaves(ctx, tx, size, pending)
	if err != nil {
		return 0, err
	}
	newSize := size + int64(len(pending))
	root, err := tlog.TreeHash(newSize, hashes)
	if err != nil {
		return 0, fmt.Errorf("integrate the transparency log: root: %w", err)
	}
	heads, err := db.chainHeadsAt(ctx, tx, newSize)
	if err != nil {
		return 0, err
	}
	headsRoot, err := heads.tree.Root()
	if err != nil {
		return 0, err
	}
	c := transparency.Checkpoint{Origin: origin, Size: newSize, Root: root, Chains: int64(len(heads.heads)), Heads: headsRoot}
	signed, err := transparency.Sign(c, signer)
	if err != nil {
		return 0, fmt.Errorf("sign checkpoint: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_log_checkpoints (size, note) VALUES ($1, $2)`, newSize, string(signed)); err != nil {
		return 0, fmt.Errorf("integrate the transparency log: checkpoint: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("integrate the transparency log: commit: %w", err)
	}
	db.keepHeads(heads) // only now: a rolled-back batch's heads never were
	db.logStats.integrated.Add(int64(len(pending)))
	db.logStats.size.Store(newSize)
	return len(pending), nil
}

// readPending reads the next pending events, in the order they were
// written (within a chain, their seq order).
func readPending(ctx context.Context, tx pgx.Tx) ([]pendingEvent, error) {
	// Each pending event is fetched by its id (OFFSET 0 keeps it a probe):
	// as a join, PostgreSQL may merge the queue with every event ever
	// written, reading the whole audit log from its first id to reach
	// the newest, once a second (at 100,000 deployments, seventeen million
	// events a batch).
	rows, err := tx.Query(ctx, `
		SELECT e.id, coalesce(e.deployment_id, 0), e.seq, e.prev_hash, e.hash
		FROM (SELECT event_id FROM audit_log_pending ORDER BY event_id LIMIT $1) p
		CROSS JOIN LATERAL (
		    SELECT id, deployment_id, seq, prev_hash, hash FROM audit_events
		    WHERE id = p.event_id OFFSET 0
		) e
		ORDER BY p.event_id`, integrateBatch)
	if err != nil {
		return nil, fmt.Errorf("integrate the transparency log: pending: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (pendingEvent, error) {
		var p pendingEvent
		var prev, hash []byte
		err := row.Scan(&p.id, &p.entry.Chain, &p.entry.Seq, &prev, &hash)
		if err == nil && (len(prev) != transparency.HashSize || len(hash) != transparency.HashSize) {
			err = fmt.Errorf("event %d: hashes of %d and %d bytes", p.id, len(prev), len(hash))
		}
		copy(p.entry.Prev[:], prev)
		copy(p.entry.Hash[:], hash)
		return p, err
	})
}

// checkExtends refuses a batch in which an event does not extend its chain
// as the log holds it (the next seq, linked to the last hash).
func checkExtends(ctx context.Context, tx pgx.Tx, pending []pendingEvent) error {
	chains := make([]int64, 0, len(pending))
	for _, p := range pending {
		chains = append(chains, p.entry.Chain)
	}
	heads := map[int64]transparency.Head{}
	rows, err := tx.Query(ctx, `
		SELECT h.chain, h.seq, audit_event_hash(h.chain, h.seq)
		FROM (
		    SELECT DISTINCT ON (l.chain) l.chain, l.seq
		    FROM (
		        SELECT chain, seq FROM audit_log_entries WHERE chain = ANY($1)
		        UNION ALL
		        SELECT deployment_id, events FROM audit_sealed_chains WHERE deployment_id = ANY($1)
		    ) l
		    ORDER BY l.chain, l.seq DESC
		) h`, chains)
	if err != nil {
		return fmt.Errorf("integrate the transparency log: chain heads: %w", err)
	}
	for rows.Next() {
		var h transparency.Head
		var hash []byte
		if err := rows.Scan(&h.Chain, &h.Seq, &hash); err != nil {
			return fmt.Errorf("integrate the transparency log: chain heads: %w", err)
		}
		copy(h.Hash[:], hash)
		heads[h.Chain] = h
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrate the transparency log: chain heads: %w", err)
	}
	for _, p := range pending {
		head := heads[p.entry.Chain]
		if !p.entry.Follows(head) {
			return fmt.Errorf("%w: event %d (%s seq %d) after seq %d in the log", ErrLogFork,
				p.id, transparency.ChainName(p.entry.Chain), p.entry.Seq, head.Seq)
		}
		heads[p.entry.Chain] = transparency.HeadOf(p.entry)
	}
	return nil
}

// appendLeaves stores the leaves from index size on and the tree's new
// hashes, and takes the events off the queue. It returns a reader of the
// tree's hashes that holds the new ones.
func appendLeaves(ctx context.Context, tx pgx.Tx, size int64, pending []pendingEvent) (tlog.HashReader, error) {
	edge := torchwood.RightEdge(size)
	known, err := readHashes(ctx, tx, edge)
	if err != nil {
		return nil, err
	}
	mem := make(map[int64]tlog.Hash, len(edge)+3*len(pending))
	for i, x := range edge {
		mem[x] = known[i]
	}
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			h, ok := mem[x]
			if !ok {
				return nil, fmt.Errorf("stored hash %d is not on the tree's right edge", x)
			}
			out[i] = h
		}
		return out, nil
	})
	n := len(pending)
	leafIdx, eventIDs, chains, seqs := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	// The batch's stored hashes are consecutive, from the first of its
	// first leaf's: one run (migration 0024).
	firstHash := tlog.StoredHashIndex(0, size)
	run := make([]byte, 0, 2*tlog.HashSize*n)
	for i, p := range pending {
		leaf := size + int64(i)
		stored, err := tlog.StoredHashesForRecordHash(leaf, p.entry.LeafHash(), r)
		if err != nil {
			return nil, fmt.Errorf("integrate the transparency log: leaf %d: %w", leaf, err)
		}
		first := tlog.StoredHashIndex(0, leaf)
		if first != firstHash+int64(len(run)/tlog.HashSize) {
			return nil, fmt.Errorf("integrate the transparency log: leaf %d's hashes start at %d, not after the run's", leaf, first)
		}
		for j, h := range stored {
			mem[first+int64(j)] = h
			run = append(run, h[:]...)
		}
		leafIdx[i], eventIDs[i], chains[i], seqs[i] = leaf, p.id, p.entry.Chain, p.entry.Seq
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO audit_log_entries (idx, event_id, chain, seq)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])`, leafIdx, eventIDs, chains, seqs)
	b.Queue(`INSERT INTO audit_log_hashes (first_idx, hashes) VALUES ($1, $2)`, firstHash, run)
	b.Queue(`DELETE FROM audit_log_pending WHERE event_id = ANY($1)`, eventIDs)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("integrate the transparency log: append: %w", err)
	}
	return r, nil
}

// readHashes reads stored hashes of the tree: each from the run that
// starts at or before it (migration 0024).
func readHashes(ctx context.Context, q querier, idx []int64) ([]tlog.Hash, error) {
	if len(idx) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `
		SELECT i, substring(r.hashes FROM (i - r.first_idx)::int * 32 + 1 FOR 32)
		FROM unnest($1::bigint[]) AS i
		CROSS JOIN LATERAL (
		    SELECT first_idx, hashes FROM audit_log_hashes
		    WHERE first_idx <= i ORDER BY first_idx DESC LIMIT 1
		) r
		WHERE i < r.first_idx + length(r.hashes) / 32`, idx)
	if err != nil {
		return nil, fmt.Errorf("read the log's hashes: %w", err)
	}
	found := make(map[int64]tlog.Hash, len(idx))
	for rows.Next() {
		var i int64
		var h []byte
		if err := rows.Scan(&i, &h); err != nil {
			return nil, fmt.Errorf("read the log's hashes: %w", err)
		}
		if len(h) != tlog.HashSize {
			rows.Close()
			return nil, fmt.Errorf("read the log's hashes: hash %d has %d bytes", i, len(h))
		}
		found[i] = tlog.Hash(h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the log's hashes: %w", err)
	}
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := found[x]
		if !ok {
			return nil, fmt.Errorf("the log has no stored hash %d", x)
		}
		out[i] = h
	}
	return out, nil
}

// hashReader reads the tree's stored hashes from the database.
func hashReader(ctx context.Context, q querier) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return readHashes(ctx, q, idx) })
}

// chainHeads is every chain's last entry among the first size leaves, in
// chain order: one index probe per chain whose leaves are rows, and one
// look at the leaves of each sealed chain (migration 0021), which a chain
// whose last leaf is below size answers at once.
func chainHeads(ctx context.Context, q querier, size int64) (transparency.Heads, error) {
	rows, err := q.Query(ctx, `
		SELECT h.chain, h.seq, audit_event_hash(h.chain, h.seq)
		FROM (
		    SELECT DISTINCT ON (x.chain) x.chain, x.seq
		    FROM (
		        SELECT c.chain, (SELECT l.seq FROM audit_log_entries l
		                         WHERE l.chain = c.chain AND l.idx < $1
		                         ORDER BY l.seq DESC LIMIT 1) AS seq
		        FROM audit_log_entries c
		        WHERE c.seq = 1 AND c.idx < $1
		        UNION ALL
		        SELECT s.deployment_id,
		               CASE WHEN s.leaves[s.events] < $1 THEN s.events
		                    ELSE (SELECT max(u.seq) FROM unnest(s.leaves) WITH ORDINALITY AS u (leaf, seq)
		                          WHERE u.leaf < $1) END
		        FROM audit_sealed_chains s
		        WHERE s.leaves[1] < $1
		    ) x
		    ORDER BY x.chain, x.seq DESC
		) h
		ORDER BY h.chain`, size)
	if err != nil {
		return nil, fmt.Errorf("read chain heads: %w", err)
	}
	heads, err := pgx.CollectRows(rows, scanHead)
	if err != nil {
		return nil, fmt.Errorf("read chain heads: %w", err)
	}
	return heads, nil
}

// ErrNotLogged is ProveChain's error when no checkpoint has the event as its
// chain's head (it is not integrated yet, or its chain moved on in the same
// batch).
var ErrNotLogged = errors.New("no checkpoint of the transparency log has this event as its chain's head")

// ProveChain proves that event seq of chain is the chain's head in a signed
// checkpoint: the newest such checkpoint cosigned by the most of
// witnesses (verifier keys), with their cosignatures.
func (db *DB) ProveChain(ctx context.Context, chain, seq int64, witnesses []string) (*transparency.RecordProof, error) {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("prove %s: begin: %w", transparency.ChainName(chain), err)
	}
	defer tx.Rollback(ctx)
	p := &transparency.RecordProof{}
	var size, next int64
	var idx *int64
	err = tx.QueryRow(ctx, `
		SELECT audit_log_leaf($1, $2), coalesce(audit_log_leaf($1, $2 + 1), 9223372036854775807)`,
		chain, seq).Scan(&idx, &next)
	if err == nil && idx == nil {
		return nil, ErrNotLogged
	}
	if err != nil {
		return nil, fmt.Errorf("prove %s: %w", transparency.ChainName(chain), err)
	}
	p.Index = *idx
	// The newest checkpoint in range that every witness cosigned, else the
	// newest in range: two index range scans, however many checkpoints
	// the log has signed since.
	err = tx.QueryRow(ctx, `
		SELECT coalesce(
		    (SELECT c.size FROM audit_log_cosignatures c
		     WHERE c.size > $1 AND c.size <= $2 AND c.witness = ANY($3)
		     GROUP BY c.size HAVING count(*) = cardinality($3::text[])
		     ORDER BY c.size DESC LIMIT 1),
		    (SELECT max(k.size) FROM audit_log_checkpoints k WHERE k.size > $1 AND k.size <= $2),
		    0)`,
		p.Index, next, witnessNames(witnesses)).Scan(&size)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("prove %s: checkpoint: %w", transparency.ChainName(chain), err)
	}
	if size == 0 {
		return nil, ErrNotLogged
	}
	err = tx.QueryRow(ctx, `
		SELECT k.note || coalesce((SELECT string_agg(c.line, '' ORDER BY c.witness)
		                           FROM audit_log_cosignatures c WHERE c.size = k.size), '')
		FROM audit_log_checkpoints k WHERE k.size = $1`, size).Scan(&p.Checkpoint)
	if err != nil {
		return nil, fmt.Errorf("prove %s: checkpoint: %w", transparency.ChainName(chain), err)
	}
	proof, err := tlog.ProveRecord(size, p.Index, hashReader(ctx, tx))
	if err != nil {
		return nil, fmt.Errorf("prove %s: %w", transparency.ChainName(chain), err)
	}
	p.Proof = transparency.Proof(proof)
	at, err := db.chainHeadsAt(ctx, tx, size)
	if err != nil {
		return nil, err
	}
	db.keepHeads(at) // a signed checkpoint's: committed
	heads := at.heads
	i := slices.IndexFunc(heads, func(h transparency.Head) bool { return h.Chain == chain })
	if i < 0 || heads[i].Seq != seq {
		return nil, fmt.Errorf("prove %s: the log's heads at size %d disagree with its entries", transparency.ChainName(chain), size)
	}
	p.ChainIndex = int64(i)
	if p.ChainProof, err = at.tree.Prove(i); err != nil {
		return nil, fmt.Errorf("prove %s: %w", transparency.ChainName(chain), err)
	}
	return p, tx.Commit(ctx)
}

// SignedRecord is DeploymentRecord with its proof in the transparency log
// (Record.Log), for the JSON export: it integrates the log first if the
// record's last event is not in it yet, and reads the record again if the
// deployment moved on meanwhile. It prefers checkpoints the witnesses
// given to SetLogKey cosigned.
func (db *DB) SignedRecord(ctx context.Context, id int64) (*signoff.Record, error) {
	db.log.mu.Lock()
	witnesses := db.log.witnesses
	db.log.mu.Unlock()
	for attempt := 0; ; attempt++ {
		rec, err := db.DeploymentRecord(ctx, id)
		if err != nil {
			return nil, err
		}
		last := rec.Events[len(rec.Events)-1].Seq
		rec.Log, err = db.ProveChain(ctx, id, last, witnesses)
		if errors.Is(err, ErrNotLogged) {
			if _, err := db.IntegrateLog(ctx); err != nil {
				return nil, err
			}
			rec.Log, err = db.ProveChain(ctx, id, last, witnesses)
		}
		if err == nil || !errors.Is(err, ErrNotLogged) || attempt == 2 {
			if err != nil {
				return nil, fmt.Errorf("record of deployment %d: %w", id, err)
			}
			return rec, nil
		}
	}
}

// LogCheckpoint is the newest signed checkpoint with every cosignature
// received for it; nil before the first.
func (db *DB) LogCheckpoint(ctx context.Context) ([]byte, error) {
	var signed string
	err := db.pool.QueryRow(ctx, `
		SELECT k.note || coalesce((SELECT string_agg(c.line, '' ORDER BY c.witness)
		                           FROM audit_log_cosignatures c WHERE c.size = k.size), '')
		FROM audit_log_checkpoints k ORDER BY k.size DESC LIMIT 1`).Scan(&signed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the log's checkpoint: %w", err)
	}
	return []byte(signed), nil
}

// LogCheckpointAt is the signed checkpoint of one size, without
// cosignatures (what a witness cosigns).
func (db *DB) LogCheckpointAt(ctx context.Context, size int64) ([]byte, error) {
	var signed string
	err := db.pool.QueryRow(ctx, `SELECT note FROM audit_log_checkpoints WHERE size = $1`, size).Scan(&signed)
	if err != nil {
		return nil, notFound(fmt.Errorf("checkpoint %d: %w", size, err), "No checkpoint of size %d.", size)
	}
	return []byte(signed), nil
}

// AddCosignature keeps a witness's cosignature line of the checkpoint of a
// size (the caller verified it). A witness cosigns a size once.
func (db *DB) AddCosignature(ctx context.Context, size int64, witness, line string) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO audit_log_cosignatures (size, witness, line) VALUES ($1, $2, $3)
		ON CONFLICT (size, witness) DO NOTHING`, size, witness, line)
	if err != nil {
		return fmt.Errorf("keep cosignature of checkpoint %d: %w", size, err)
	}
	return nil
}

// LogSize is the size of the newest checkpoint (0 before the first).
func (db *DB) LogSize(ctx context.Context) (int64, error) {
	var size int64
	if err := db.pool.QueryRow(ctx, `SELECT coalesce(max(size), 0) FROM audit_log_checkpoints`).Scan(&size); err != nil {
		return 0, fmt.Errorf("read the log's size: %w", err)
	}
	return size, nil
}

// ProveInclusion is the proof that leaf index is in the tree of size.
func (db *DB) ProveInclusion(ctx context.Context, index, size int64) (transparency.Proof, error) {
	if err := db.checkLogSize(ctx, size); err != nil {
		return nil, err
	}
	if index < 0 || index >= size {
		return nil, notFoundError("Leaf %d is not in a tree of size %d.", index, size)
	}
	p, err := tlog.ProveRecord(size, index, hashReader(ctx, db.pool))
	if err != nil {
		return nil, fmt.Errorf("prove leaf %d in %d: %w", index, size, err)
	}
	return transparency.Proof(p), nil
}

// ProveConsistency is the proof that the tree of size old is a prefix of
// the tree of size new.
func (db *DB) ProveConsistency(ctx context.Context, old, new int64) (transparency.Proof, error) {
	if err := db.checkLogSize(ctx, new); err != nil {
		return nil, err
	}
	if old < 1 || old > new {
		return nil, notFoundError("No consistency proof from size %d to %d.", old, new)
	}
	p, err := tlog.ProveTree(new, old, hashReader(ctx, db.pool))
	if err != nil {
		return nil, fmt.Errorf("prove %d consistent with %d: %w", new, old, err)
	}
	return transparency.Proof(p), nil
}

// checkLogSize refuses a size no checkpoint has.
func (db *DB) checkLogSize(ctx context.Context, size int64) error {
	var ok bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM audit_log_checkpoints WHERE size = $1)`, size).Scan(&ok); err != nil {
		return fmt.Errorf("read the log's checkpoints: %w", err)
	}
	if !ok {
		return notFoundError("No checkpoint of size %d.", size)
	}
	return nil
}

// LogTile is a tile of the log as c2sp.org/tlog-tiles serves it, given by
// its path under tile/ (tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>]),
// up to the size of the newest checkpoint.
func (db *DB) LogTile(ctx context.Context, path string) ([]byte, error) {
	t, err := torchwood.ParseTilePath(path)
	if err != nil {
		return nil, notFoundError("No such tile.")
	}
	size, err := db.LogSize(ctx)
	if err != nil {
		return nil, err
	}
	// The leaves the tile covers must be in the newest tree: W hashes of
	// level L·H from the (N·2^H)th (entries: level 0).
	shift := uint(t.H) * uint(max(t.L, 0))
	first := (t.N << uint(t.H)) << shift
	last := (t.N<<uint(t.H) + int64(t.W)) << shift
	if t.W < 1 || last > size || first >= last {
		return nil, notFoundError("No such tile.")
	}
	if t.L >= 0 {
		return tlog.ReadTileData(t, hashReader(ctx, db.pool))
	}
	return db.entryBundle(ctx, first, last)
}

// entryBundle is the entries of leaves [first, last), each as two bytes of
// big-endian length and the entry.
func (db *DB) entryBundle(ctx context.Context, first, last int64) ([]byte, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT l.idx, l.chain, l.seq,
		       CASE WHEN l.seq = 1 THEN '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
		            ELSE audit_event_hash(l.chain, l.seq - 1) END,
		       audit_event_hash(l.chain, l.seq)
		FROM audit_log_leaves($1, $2) l
		ORDER BY l.idx`, first, last)
	if err != nil {
		return nil, fmt.Errorf("read log entries: %w", err)
	}
	var bundle []byte
	want := first
	for rows.Next() {
		var idx int64
		var e transparency.Entry
		var prev, hash []byte
		if err := rows.Scan(&idx, &e.Chain, &e.Seq, &prev, &hash); err != nil {
			return nil, fmt.Errorf("read log entries: %w", err)
		}
		if idx != want {
			rows.Close()
			return nil, db.lostLeaf(want)
		}
		want++
		copy(e.Prev[:], prev)
		copy(e.Hash[:], hash)
		if bundle, err = torchwood.AppendTileEntry(bundle, e.Marshal()); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read log entries: %w", err)
	}
	if want != last {
		return nil, db.lostLeaf(want)
	}
	return bundle, nil
}

// lostLeaf is the answer for a leaf the log signed but can no longer
// serve: its row, or its audit event, was deleted behind the log's back.
// Whoever asks (a witness) gets not-found, and the server's log says it.
func (db *DB) lostLeaf(idx int64) error {
	db.logger.Error("transparency log: a leaf it signed is gone (its audit event or entry was deleted)", "leaf", idx)
	return notFoundError("Leaf %d of the transparency log is gone: its audit event was deleted.", idx)
}

// witnessNames are the names cosignatures are kept under
// ("<name>+<key hash>") of witness verifier keys.
func witnessNames(vkeys []string) []string {
	names := make([]string, 0, len(vkeys))
	for _, k := range vkeys {
		name, rest, _ := strings.Cut(k, "+")
		hash, _, _ := strings.Cut(rest, "+")
		names = append(names, name+"+"+hash)
	}
	return names
}

// notFoundError is a not-found answer about the log (a size, leaf or tile
// it does not have).
func notFoundError(format string, args ...any) error {
	return signoff.Errorf(signoff.ENOTFOUND, format, args...)
}
