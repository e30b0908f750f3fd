package audit_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// realistic is how the bulk tests' deployments are made: every leaf
// ticked but two marked N/A, notes written, all eight slots signed.
var realistic = audittest.Options{NAItems: 2, NAReason: "No CDN in front of this service",
	Notes: map[int]string{1: "2026-11-20", 2: "14:00-15:00 UTC", 3: unicodeNote}}

// cloneDeployments copies a completed deployment n times, as the store
// would have recorded the same work, by the same people at the same
// moments, on n other deployments (versions v1.0.1, v1.0.2, …): the items,
// notes, slots and signatures are copied, and each clone's chain is made
// anew, its payloads naming its own chain and version and each signature
// attesting to its own deployment's checklist hash (which includes the
// deployment's id), then hashed link by link. Building 2,000 deployments
// through the store (about 230 transactions and eight password checks
// each) would take the better part of an hour on two cores; this takes a
// minute or two. It returns the clones' ids; the caller should verify a
// few exports.
func cloneDeployments(tb testing.TB, db *postgres.DB, src *signoff.Record, n int) []int64 {
	tb.Helper()
	ctx := context.Background()
	if len(src.Comments) > 0 {
		tb.Fatal("cloneDeployments copies no comments")
	}
	// The checklist state each signature attests to, replayed once.
	items := make([]signoff.Item, len(src.Checklist.Items))
	index := map[string]int{}
	for i, it := range src.Checklist.Items {
		items[i] = signoff.Item{Path: it.Path, ParentPath: it.ParentPath, HasChildren: it.HasChildren, State: signoff.ItemOpen}
		index[it.Path] = i
	}
	notes := make([]signoff.Note, len(src.Checklist.Notes))
	for i, n := range src.Checklist.Notes {
		notes[i] = signoff.Note{Position: n.Position, Name: n.Name}
	}
	payloads := make([]signoff.EventPayload, len(src.Events))
	atSign := map[int64]*signoff.Checklist{}
	for i, e := range src.Events {
		p := &payloads[i]
		if err := json.Unmarshal([]byte(e.Payload), p); err != nil {
			tb.Fatal(err)
		}
		// Re-encoding must give the stored bytes back, or the clones'
		// payloads would not be what the store writes.
		if again, err := json.Marshal(p); err != nil || string(again) != e.Payload {
			tb.Fatalf("event %d does not re-encode to its own bytes (%v)", e.Seq, err)
		}
		switch p.Action {
		case signoff.ActItemState:
			var a struct {
				State    signoff.ItemState `json:"state"`
				NAReason string            `json:"na_reason"`
				Items    []string          `json:"items"`
			}
			json.Unmarshal(p.After, &a)
			paths := a.Items
			if len(paths) == 0 {
				paths = []string{strings.TrimPrefix(p.Target, "item/")}
			}
			for _, path := range paths {
				items[index[path]].State, items[index[path]].NAReason = a.State, a.NAReason
			}
		case signoff.ActNoteEdit:
			var a struct{ Value string }
			json.Unmarshal(p.After, &a)
			pos, _ := strconv.Atoi(strings.TrimPrefix(p.Target, "note/"))
			notes[pos-1].Value = a.Value
		case signoff.ActSignoffSign:
			atSign[e.Seq] = signoff.NewChecklist(nil, append([]signoff.Item(nil), items...), append([]signoff.Note(nil), notes...))
		}
	}
	// with returns raw (a JSON object) with one member replaced.
	with := func(raw json.RawMessage, key string, v any) json.RawMessage {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			tb.Fatal(err)
		}
		b, _ := json.Marshal(v)
		m[key] = b
		out, _ := json.Marshal(m)
		return out
	}

	const batch = 100
	var ids []int64
	for done := 0; done < n; done += batch {
		k := min(batch, n-done)
		tx, err := db.Pool().Begin(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		rows, err := tx.Query(ctx, `
			INSERT INTO deployments (template_version_id, service, environment, version, planned_at, status,
			    went_live_at, completed_at, aborted_at, locked_at, created_by, created_at, updated_at,
			    checklist_rev, audit_seq, audit_head, audit_at)
			SELECT template_version_id, service, environment, 'v1.0.' || g, planned_at, status,
			    went_live_at, completed_at, aborted_at, locked_at, created_by, created_at, updated_at,
			    checklist_rev, audit_seq, audit_head, audit_at
			FROM deployments, generate_series($2::int, $3::int) g
			WHERE id = $1
			RETURNING id, version`, src.Deployment.ID, done+1, done+k)
		if err != nil {
			tb.Fatal(err)
		}
		type clone struct {
			id      int64
			version string
		}
		var clones []clone
		for rows.Next() {
			var c clone
			if err := rows.Scan(&c.id, &c.version); err != nil {
				tb.Fatal(err)
			}
			clones = append(clones, c)
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		var batchIDs []int64
		for _, c := range clones {
			batchIDs = append(batchIDs, c.id)
		}
		for _, q := range []string{`
			INSERT INTO deployment_items (deployment_id, path, parent_path, position, phase, section, level, text,
			    conditional, has_children, due_after, state, na_reason, state_by, state_at, evidence)
			SELECT c.id, path, parent_path, position, phase, section, level, text,
			    conditional, has_children, due_after, state, na_reason, state_by, state_at, evidence
			FROM deployment_items CROSS JOIN unnest($2::bigint[]) c(id) WHERE deployment_id = $1`, `
			INSERT INTO deployment_notes (deployment_id, position, name, long, value, updated_by, updated_at)
			SELECT c.id, position, name, long, value, updated_by, updated_at
			FROM deployment_notes CROSS JOIN unnest($2::bigint[]) c(id) WHERE deployment_id = $1`, `
			INSERT INTO deployment_slots (deployment_id, position, group_name, role_name, final)
			SELECT c.id, position, group_name, role_name, final
			FROM deployment_slots CROSS JOIN unnest($2::bigint[]) c(id) WHERE deployment_id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, src.Deployment.ID, batchIDs); err != nil {
				tb.Fatal(err)
			}
		}

		var events, sigs [][]any
		heads := make([][]byte, len(clones))
		for ci, c := range clones {
			chain := "deployment/" + strconv.FormatInt(c.id, 10)
			hashes := map[int64][]byte{}
			for seq, h := range atSign {
				sum := h.StateHash(c.id)
				hashes[seq] = sum[:]
			}
			prev := make([]byte, 32)
			for i, e := range src.Events {
				p := payloads[i]
				p.Chain = chain
				switch p.Action {
				case signoff.ActDeploymentCreate:
					p.After = with(p.After, "version", c.version)
				case signoff.ActSignoffSign:
					p.After = with(p.After, "checklist_sha256", hex.EncodeToString(hashes[e.Seq]))
				}
				payload, err := json.Marshal(p)
				if err != nil {
					tb.Fatal(err)
				}
				hash := signoff.ChainHash(prev, payload)
				var actor *int64
				if e.Actor.ID != 0 {
					actor = &e.Actor.ID
				}
				events = append(events, []any{c.id, e.Seq, e.At, actor, e.Actor.Name, e.Action, e.Target, string(payload), prev, hash})
				prev = hash
			}
			heads[ci] = prev
			for _, s := range src.Signatures {
				sigs = append(sigs, []any{c.id, s.Slot, s.Role, s.Signer.ID, s.Signer.Name, s.Meaning, s.SignedAt,
					hashes[s.AuditSeq], s.ChecklistRev, s.AuditSeq, s.EndedAt, nil, nil})
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_events"},
			[]string{"deployment_id", "seq", "at", "actor_id", "actor_name", "action", "target", "payload", "prev_hash", "hash"},
			pgx.CopyFromRows(events)); err != nil {
			tb.Fatal(err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"signoffs"},
			[]string{"deployment_id", "slot", "role_name", "signer_id", "signer_name", "meaning", "signed_at",
				"checklist_hash", "checklist_rev", "audit_seq", "ended_at", "ended_by", "end_reason"},
			pgx.CopyFromRows(sigs)); err != nil {
			tb.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `UPDATE deployments d SET audit_head = h.head
			FROM unnest($1::bigint[], $2::bytea[]) h(id, head) WHERE d.id = h.id`, batchIDs, heads); err != nil {
			tb.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, batchIDs...)
	}
	return ids
}

// bulkDeployments makes n realistic completed deployments: one through the
// store, the rest cloned from it, and checks that the first, a middle and
// the last clone export records that verify.
func bulkDeployments(tb testing.TB, n int) *postgres.DB {
	tb.Helper()
	db, src := signedDeployment(tb, realistic)
	if src.Deployment.Status != signoff.StatusCompleted || len(src.Signatures) != 8 {
		tb.Fatalf("the source deployment is %s with %d signatures", src.Deployment.Status, len(src.Signatures))
	}
	ids := cloneDeployments(tb, db, src, n-1)
	for _, id := range []int64{ids[0], ids[len(ids)/2], ids[len(ids)-1]} {
		rec, err := db.SignedRecord(context.Background(), id)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := audit.Verify(exportJSON(tb, rec), testSigner.Public()); err != nil {
			tb.Fatalf("clone %d does not verify: %v", id, err)
		}
	}
	return db
}

// heapStats reads the Go heap: live bytes as of the last collection, and
// bytes in heap objects now (live and not yet collected).
func heapStats() (live, objects uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// heapWatch is a bulk export's store and output, instrumented: before each
// deployment is read it notes the live heap (what the export holds on to
// between deployments; with gc set, it collects garbage first, so the
// figure is exact), and at every write it notes the heap in use (the
// transient peak).
type heapWatch struct {
	audit.BulkStore
	mu            sync.Mutex // the export's workers read records in parallel
	gc            bool
	limit, seen   int
	live          []uint64 // live heap before each deployment, and after the last
	peak, written uint64
}

func (h *heapWatch) CompletedDeploymentIDs(ctx context.Context, f signoff.DeploymentFilter, after int64, limit int) ([]int64, error) {
	if h.limit > 0 {
		limit = min(limit, h.limit-h.seen)
		if limit <= 0 {
			return nil, nil
		}
	}
	ids, err := h.BulkStore.CompletedDeploymentIDs(ctx, f, after, limit)
	h.seen += len(ids)
	return ids, err
}

func (h *heapWatch) SignedRecord(ctx context.Context, id int64) (*signoff.Record, error) {
	h.collect()
	return h.BulkStore.SignedRecord(ctx, id)
}

func (h *heapWatch) collect() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gc {
		runtime.GC()
	}
	live, _ := heapStats()
	h.live = append(h.live, live)
}

func (h *heapWatch) Write(p []byte) (int, error) {
	if _, objects := heapStats(); objects > h.peak {
		h.peak = objects
	}
	h.written += uint64(len(p))
	return len(p), nil
}

// A bulk ZIP holds on to nothing from one deployment to the next: the live
// heap between deployments stays where it was after the first few, and the
// heap in use never climbs far above where it started, however many
// deployments (the export's window bounds what is in flight). (Not parallel: the
// heap is the process's, and other tests would move it.)
func TestBulkZipMemoryIsFlat(t *testing.T) {
	const n = 60
	db := bulkDeployments(t, n)
	// A first export fills what is kept on purpose, bounded: fpdf's cut
	// fonts (one per set of runes, at most 64) and the pooled compressors.
	if _, err := audit.WriteBulk(context.Background(), io.Discard, db, signoff.DeploymentFilter{}, testSigner, exportTime); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	base, _ := heapStats()
	h := &heapWatch{BulkStore: db, gc: true}
	got, err := audit.WriteBulk(context.Background(), h, h, signoff.DeploymentFilter{}, testSigner, exportTime)
	if err != nil || got != n {
		t.Fatalf("WriteBulk = %d, %v; want %d", got, err, n)
	}
	h.collect()
	const MiB = 1 << 20
	var maxLive uint64
	for _, l := range h.live {
		maxLive = max(maxLive, l)
	}
	t.Logf("%d deployments, %.1f MiB of ZIP: live heap %.1f MiB before, at most %.1f MiB between deployments (%.1f MiB after the 10th, %.1f MiB at the end), heap in use at most %.1f MiB",
		n, float64(h.written)/MiB, float64(base)/MiB, float64(maxLive)/MiB, float64(h.live[10])/MiB, float64(h.live[n])/MiB, float64(h.peak)/MiB)
	if h.written < n*100_000 {
		t.Fatalf("the ZIP has %d bytes for %d deployments", h.written, n)
	}
	// Held from one deployment to the next: the manifest's and the ZIP
	// directory's entries (a few hundred bytes a file), nothing more. A
	// record, a JSON file or a PDF kept per deployment would be 100 KB to
	// 1 MB each.
	// Against the heap before the export (after a first one filled the
	// bounded caches). The pools (deflaters, fpdf's zlib writers) hold
	// up to about 2.5 MiB or nothing, as GCs empty them, so 4 MiB is the
	// noise; 60 deployments each holding on to even a tenth of a record
	// would be more.
	if grow := int64(h.live[n]) - int64(base); grow > 4*MiB {
		t.Errorf("the live heap grew by %.1f MiB over %d deployments", float64(grow)/MiB, n)
	}
	// The export renders one deployment per core, and keeps at most two
	// per core in flight: what is live when a worker starts the next is
	// the others' records, renderings and files, bounded by that window.
	workers := uint64(runtime.GOMAXPROCS(0))
	if grow := maxLive - min(base, maxLive); grow > 16*MiB*workers {
		t.Errorf("the live heap between deployments rose %.1f MiB above where it started", float64(grow)/MiB)
	}
	// The transient peak: a few deployments' records and files at a time.
	if grow := h.peak - min(base, h.peak); grow > 96*MiB*workers {
		t.Errorf("the heap in use rose %.1f MiB above where it started", float64(grow)/MiB)
	}
}

// bulkResult is what a child process running a bulk export reports.
type bulkResult struct {
	Deployments int     `json:"deployments"`
	ZipBytes    uint64  `json:"zip_bytes"`
	Seconds     float64 `json:"seconds"`
	CPUSeconds  float64 `json:"-"`             // the child's user and system time, start to end (not PostgreSQL's)
	RSSBeforeKB float64 `json:"rss_before_kb"` // the child's resident memory before the export
	VmHWMKB     float64 `json:"vmhwm_kb"`      // its peak resident memory, export included
	PeakHeap    uint64  `json:"peak_heap"`     // the Go heap in use at its highest during the export
	MaxLive     uint64  `json:"max_live"`      // the live heap after a collection, at its highest
}

// bulkChildEnv names the variables that make TestBulkZipProcess run.
const (
	bulkChildURL   = "SIGNOFF_BULK_CHILD_URL"
	bulkChildLimit = "SIGNOFF_BULK_CHILD_LIMIT"
)

// TestBulkZipProcess is not a test: BenchmarkBulkZip runs the test binary
// again with SIGNOFF_BULK_CHILD_URL set, and this streams a bulk ZIP of the
// first SIGNOFF_BULK_CHILD_LIMIT completed deployments there in that fresh
// process, so its peak memory is the export's alone, and prints what it
// measured.
func TestBulkZipProcess(t *testing.T) {
	url := os.Getenv(bulkChildURL)
	if url == "" {
		t.Skip("helper for BenchmarkBulkZip; runs only in a child process")
	}
	limit, _ := strconv.Atoi(os.Getenv(bulkChildLimit))
	ctx := context.Background()
	db, err := postgres.Open(ctx, url, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runtime.GC()
	res := bulkResult{RSSBeforeKB: procStatus("VmRSS:")}
	h := &heapWatch{BulkStore: db, limit: limit}
	start := time.Now()
	n, err := audit.WriteBulk(ctx, h, h, signoff.DeploymentFilter{}, testSigner, exportTime)
	if err != nil {
		t.Fatal(err)
	}
	res.Seconds = time.Since(start).Seconds()
	res.VmHWMKB = procStatus("VmHWM:")
	res.Deployments, res.ZipBytes, res.PeakHeap = n, h.written, h.peak
	// The collector runs as it would in the server (no forced
	// collections); the live heap is as of the last one.
	for _, l := range h.live {
		res.MaxLive = max(res.MaxLive, l)
	}
	out, _ := json.Marshal(res)
	fmt.Printf("BULKRESULT %s\n", out)
}

// runBulkChild runs the export of the first limit deployments at url in a
// child process of the test binary bin and returns what it measured.
func runBulkChild(tb testing.TB, bin, url string, limit int) bulkResult {
	tb.Helper()
	cmd := exec.Command(bin, "-test.run=^TestBulkZipProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), bulkChildURL+"="+url, bulkChildLimit+"="+strconv.Itoa(limit))
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("bulk export child: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "BULKRESULT "); ok {
			var r bulkResult
			if err := json.Unmarshal([]byte(v), &r); err != nil {
				tb.Fatal(err)
			}
			r.CPUSeconds = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
			return r
		}
	}
	tb.Fatalf("bulk export child printed no result:\n%s", out)
	return bulkResult{}
}

// procStatus reads a size from /proc/self/status in KiB (Linux), or 0.
func procStatus(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb
		}
	}
	return 0
}

// failingStore fails reading the record of one deployment.
type failingStore struct {
	audit.BulkStore
	failOn int64
}

func (f failingStore) SignedRecord(ctx context.Context, id int64) (*signoff.Record, error) {
	if id == f.failOn {
		return nil, fmt.Errorf("record %d: disk on fire", id)
	}
	return f.BulkStore.SignedRecord(ctx, id)
}

// TestBulkZipInOrderAndStopsOnError: rendered in parallel, the files still
// come in the order of the deployments' ids, each whole and as the
// manifest says; a deployment that cannot be read stops the export with
// its error, after the deployments before it and none after.
func TestBulkZipInOrderAndStopsOnError(t *testing.T) {
	t.Parallel()
	const n = 12
	db := bulkDeployments(t, n)
	ctx := context.Background()
	ids, err := db.CompletedDeploymentIDs(ctx, signoff.DeploymentFilter{}, 0, 100)
	if err != nil || len(ids) != n {
		t.Fatalf("%d ids, %v", len(ids), err)
	}
	var buf bytes.Buffer
	if got, err := audit.WriteBulk(ctx, &buf, db, signoff.DeploymentFilter{}, testSigner, exportTime); err != nil || got != n {
		t.Fatalf("WriteBulk = %d, %v", got, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 3*n+1 {
		t.Fatalf("%d files", len(zr.File))
	}
	for i, f := range zr.File[:3*n] {
		prefix := fmt.Sprintf("deployment-%d-", ids[i/3])
		ext := []string{".json", ".pdf", ".csv"}[i%3]
		if !strings.HasPrefix(f.Name, prefix) || !strings.HasSuffix(f.Name, ext) {
			t.Fatalf("file %d is %s; want %s…%s", i, f.Name, prefix, ext)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc) // checks the CRC
		rc.Close()
		if err != nil || int64(len(b)) != int64(f.UncompressedSize64) {
			t.Fatalf("%s: %d bytes, %v", f.Name, len(b), err)
		}
		if ext == ".json" {
			if _, err := audit.Verify(b, testSigner.Public()); err != nil {
				t.Fatalf("%s does not verify: %v", f.Name, err)
			}
		}
	}

	failAt := 7
	got, err := audit.WriteBulk(ctx, io.Discard, failingStore{BulkStore: db, failOn: ids[failAt]}, signoff.DeploymentFilter{}, testSigner, exportTime)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || got != failAt {
		t.Fatalf("WriteBulk with a failing record = %d, %v; want %d and the error", got, err, failAt)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := audit.WriteBulk(cctx, io.Discard, db, signoff.DeploymentFilter{}, testSigner, exportTime); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteBulk after cancel: %v", err)
	}
}
