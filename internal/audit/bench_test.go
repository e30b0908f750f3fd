package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// BenchmarkExport exports a seed deployment with 2,000 audit events (every
// item resolved, notes written, eight signatures, and 905 untick/tick
// pairs on one item) in each format. MB/s is output bytes per second.
//
//	go test ./internal/audit/ -run '^$' -bench BenchmarkExport -benchtime 20x
func BenchmarkExport(b *testing.B) {
	start := time.Now()
	_, rec := signedDeployment(b, audittest.Options{Toggles: 905})
	b.Logf("setup: %d events, %s (including the test cluster's start)", len(rec.Events), time.Since(start).Round(time.Millisecond))
	if len(rec.Events) != 2000 {
		b.Fatalf("%d events; want 2000", len(rec.Events))
	}
	now := exportTime
	formats := []struct {
		name  string
		write func(w io.Writer) error
	}{
		{"json", func(w io.Writer) error {
			out, err := audit.JSON(rec, testSigner, now)
			w.Write(out)
			return err
		}},
		{"csv", func(w io.Writer) error { return audit.CSV(w, rec) }},
		{"pdf", func(w io.Writer) error {
			return audit.PDF(w, rec, now, audit.PDFOptions{Fingerprint: testSigner.Fingerprint()})
		}},
		{"md", func(w io.Writer) error { return audit.Markdown(w, rec, now) }},
	}
	for _, f := range formats {
		b.Run(f.name, func(b *testing.B) {
			var buf bytes.Buffer
			if err := f.write(&buf); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(buf.Len()))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				buf.Reset()
				if err := f.write(&buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("verify", func(b *testing.B) {
		file := exportJSON(b, rec)
		b.SetBytes(int64(len(file)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := audit.Verify(file, testSigner.Public()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBulkZip streams a ZIP of 2,000 completed deployments (JSON, PDF
// and CSV each, and the manifest) to a counting writer, and reports the
// process's peak heap in use while it runs (sampled every 10 ms) and its
// peak resident memory (VmHWM, which includes the setup). The setup makes
// the deployments through the store (SIGNOFF_BENCH_DEPLOYMENTS sets how
// many) and reports how long that took. The 200 sub-benchmark reads only
// the first 200, to show memory does not grow with the range.
//
//	go test ./internal/audit/ -run '^$' -bench BenchmarkBulkZip -benchtime 1x -timeout 60m
func BenchmarkBulkZip(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("SIGNOFF_BENCH_DEPLOYMENTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	start := time.Now()
	db, _ := signedDeployment(b, audittest.Options{Fast: true})
	team := teamOf(b, db)
	var made atomic.Int64
	made.Store(1)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for made.Add(1) <= int64(n) {
				if _, err := audittest.Completed(ctx, db, team, audittest.Options{Fast: true,
					Service: "svc-" + strconv.Itoa(w), Environment: "production", Version: "v1.0." + strconv.Itoa(int(made.Load()))}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.Logf("setup: %d completed deployments through the store in %s", n, time.Since(start).Round(time.Second))

	limits := []int{n}
	if n > 200 {
		limits = []int{200, n}
	}
	for _, limit := range limits {
		b.Run(strconv.Itoa(limit), func(b *testing.B) {
			store := &limitedStore{DB: db, limit: limit}
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			peak, stop := sampleHeap()
			var written int64
			b.ResetTimer()
			for b.Loop() {
				store.seen = 0
				cw := &countWriter{}
				got, err := audit.WriteBulk(ctx, cw, store, signoff.DeploymentFilter{}, testSigner, exportTime)
				if err != nil || got != limit {
					b.Fatalf("WriteBulk = %d, %v; want %d", got, err, limit)
				}
				written = cw.n
			}
			b.StopTimer()
			stop()
			b.SetBytes(written)
			b.ReportMetric(float64(written)/(1<<20), "zip-MB")
			b.ReportMetric(float64(base.HeapInuse)/(1<<20), "heap-before-MB")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
			b.ReportMetric(vmHWM()/1024, "VmHWM-MB")
		})
	}
}

// limitedStore hands out only the first limit completed deployments.
type limitedStore struct {
	*postgres.DB
	limit, seen int
}

func (s *limitedStore) CompletedDeploymentIDs(ctx context.Context, f signoff.DeploymentFilter, after int64, limit int) ([]int64, error) {
	ids, err := s.DB.CompletedDeploymentIDs(ctx, f, after, min(limit, s.limit-s.seen))
	if s.seen >= s.limit {
		ids = nil
	}
	s.seen += len(ids)
	return ids, err
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// sampleHeap records the largest HeapInuse seen until stop is called.
func sampleHeap() (peak *atomic.Uint64, stop func()) {
	peak = new(atomic.Uint64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return peak, func() { close(done); wg.Wait() }
}

// vmHWM is the process's peak resident set size in KiB (Linux), or 0.
func vmHWM() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb
		}
	}
	return 0
}

// teamOf finds the audittest team on a database.
func teamOf(t testing.TB, db *postgres.DB) audittest.Team {
	t.Helper()
	users, err := db.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	team := audittest.Team{}
	for _, u := range users {
		for _, r := range u.Roles {
			team[r.Name] = u
		}
	}
	return team
}
