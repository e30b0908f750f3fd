package audit_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/postgres"
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

// BenchmarkBulkZip streams a ZIP of completed deployments (JSON, PDF and
// CSV each, and the manifest) to a counting writer, reading the first 200
// and then all of them, so flat memory shows. The deployments are
// realistic: every leaf ticked but two marked N/A, notes written, all eight
// slots signed (about 190 audit events each); one is made through the
// store and the rest cloned from it with their chains made anew (see
// cloneDeployments; SIGNOFF_BENCH_DEPLOYMENTS sets how many, 2,000 by
// default). The export runs in a child process (TestBulkZipProcess), so
// what it reports is the export's own: its time, the ZIP's size, the
// child's resident memory before the export and at its peak (VmHWM), the
// Go heap in use at its highest, and the live heap after a collection at
// its highest (the collector runs as it would in the server). The setup's
// time is logged. With SIGNOFF_BENCH_BASELINE, an older build's export is
// timed beside it (see below).
//
//	go test ./internal/audit/ -run '^$' -bench BenchmarkBulkZip -benchtime 1x -timeout 60m -v
func BenchmarkBulkZip(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("SIGNOFF_BENCH_DEPLOYMENTS")); err == nil && v > 0 {
		n = v
	}
	start := time.Now()
	db := bulkDeployments(b, n)
	var events int
	if err := db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_events_all WHERE deployment_id IS NOT NULL`).Scan(&events); err != nil {
		b.Fatal(err)
	}
	b.Logf("setup: %d completed deployments (%d audit events) in %s, one through the store and the rest cloned",
		n, events, time.Since(start).Round(time.Second))
	url := db.Pool().Config().ConnString()

	// SIGNOFF_BENCH_BASELINE names another build of this package's test
	// binary (go test -c at an older commit): its export runs first, on
	// the same database, before each of this one's, for a comparison made
	// in one run. It must read this schema: a build of migration 0024 or
	// later (an older release runs its own BenchmarkBulkZip instead, back
	// to back: README, Performance).
	baseline := os.Getenv("SIGNOFF_BENCH_BASELINE")
	limits := []int{n}
	if n > 200 {
		limits = []int{200, n}
	}
	for _, limit := range limits {
		b.Run(strconv.Itoa(limit), func(b *testing.B) {
			var r, base bulkResult
			for b.Loop() {
				if baseline != "" {
					base = runBulkChild(b, baseline, url, limit)
				}
				r = runBulkChild(b, os.Args[0], url, limit)
			}
			if baseline != "" {
				b.ReportMetric(base.Seconds, "baseline-export-s")
				b.ReportMetric(base.VmHWMKB/1024, "baseline-VmHWM-MB")
				b.ReportMetric(r.Seconds/base.Seconds, "time-ratio")
				b.ReportMetric(base.CPUSeconds, "baseline-cpu-s")
				b.ReportMetric(r.CPUSeconds/base.CPUSeconds, "cpu-ratio")
			}
			reportBulk(b, r, limit)
		})
	}

	// The same deployments sealed, as the server seals ended deployments
	// once the log holds them (internal/postgres/sealed.go), and exported
	// again from their sealed rows. A baseline from before sealing cannot
	// read them, so it runs only above.
	ctx := context.Background()
	if _, err := db.IntegrateLog(ctx); err != nil {
		b.Fatal(err)
	}
	for {
		sealed, err := db.SealDeployments(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if sealed == 0 {
			break
		}
	}
	if left := bulkCount(b, db, `SELECT count(*) FROM deployments WHERE sealed_at IS NULL`); left != 0 {
		b.Fatalf("%d deployments left unsealed", left)
	}
	b.Run("sealed-"+strconv.Itoa(n), func(b *testing.B) {
		var r bulkResult
		for b.Loop() {
			r = runBulkChild(b, os.Args[0], url, n)
		}
		reportBulk(b, r, n)
	})
}

// reportBulk reports one export's figures.
func reportBulk(b *testing.B, r bulkResult, want int) {
	if r.Deployments != want {
		b.Fatalf("the export wrote %d deployments; want %d", r.Deployments, want)
	}
	const MiB = 1 << 20
	b.ReportMetric(r.Seconds, "export-s")
	b.ReportMetric(r.CPUSeconds, "cpu-s")
	b.ReportMetric(float64(r.ZipBytes)/MiB, "zip-MB")
	b.ReportMetric(r.RSSBeforeKB/1024, "rss-before-MB")
	b.ReportMetric(r.VmHWMKB/1024, "VmHWM-MB")
	b.ReportMetric(float64(r.PeakHeap)/MiB, "peak-heap-MB")
	b.ReportMetric(float64(r.MaxLive)/MiB, "max-live-MB")
}

func bulkCount(b *testing.B, db *postgres.DB, q string) int64 {
	var n int64
	if err := db.Pool().QueryRow(context.Background(), q).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
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

// BenchmarkBulkDeployment renders one realistic completed deployment's
// files as the bulk ZIP does (about 190 events, 222 items: see
// BenchmarkBulkZip), without the database or the ZIP: the CPU a deployment
// costs a worker, format by format and in all.
//
//	go test ./internal/audit/ -run '^$' -bench BenchmarkBulkDeployment -count 6
func BenchmarkBulkDeployment(b *testing.B) {
	_, rec := signedDeployment(b, realistic)
	now := exportTime
	opt := audit.PDFOptions{Fingerprint: testSigner.Fingerprint()}
	formats := []struct {
		name  string
		write func(w *bytes.Buffer) error
	}{
		{"json", func(w *bytes.Buffer) error {
			out, err := audit.JSON(rec, testSigner, now)
			w.Write(out)
			return err
		}},
		{"pdf", func(w *bytes.Buffer) error { return audit.PDF(w, rec, now, opt) }},
		{"csv", func(w *bytes.Buffer) error { return audit.CSV(w, rec) }},
		// One after the other, each replaying or reading the events.
		{"three", func(w *bytes.Buffer) error {
			j, err := audit.JSON(rec, testSigner, now)
			w.Write(j)
			if err == nil {
				err = audit.PDF(w, rec, now, opt)
			}
			if err == nil {
				err = audit.CSV(w, rec)
			}
			return err
		}},
		// As renderBulk makes them: the events replayed once for all three.
		{"all", func(w *bytes.Buffer) error {
			j, p, c, err := audit.RecordFiles(rec, testSigner, now, opt)
			w.Write(j)
			w.Write(p)
			w.Write(c)
			return err
		}},
	}
	for _, f := range formats {
		b.Run(f.name, func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				buf.Reset()
				if err := f.write(&buf); err != nil {
					b.Fatal(err)
				}
			}
			// The process's CPU time (the collector's included) says more
			// than the wall time on a machine other work shares.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
			b.ReportMetric(float64(buf.Len()), "out-bytes")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
