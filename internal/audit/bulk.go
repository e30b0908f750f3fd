package audit

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/signoff/signoff/internal/signoff"
)

// BulkStore is what a bulk export reads: completed deployments page by
// page, and one deployment's record at a time, with its proof in the
// transparency log. postgres.DB is one.
type BulkStore interface {
	CompletedDeploymentIDs(ctx context.Context, f signoff.DeploymentFilter, after int64, limit int) ([]int64, error)
	SignedRecord(ctx context.Context, id int64) (*signoff.Record, error)
}

// BulkFileStore is a BulkStore that also holds evidence files; a bulk
// export then carries each deployment's files beside its record.
// postgres.DB is one.
type BulkFileStore interface {
	Files(ctx context.Context, deploymentID int64, path string) ([]signoff.EvidenceFile, error)
	File(ctx context.Context, deploymentID, fileID int64) (*signoff.EvidenceFile, error)
}

// BulkPage is how many deployment ids a bulk export asks for at a time.
const BulkPage = 50

// Manifest is manifest.json, the last file of a bulk ZIP: every other file
// with its size and SHA-256.
type Manifest struct {
	Format         string         `json:"format"` // "signoff-audit-bulk"
	Version        int            `json:"version"`
	CreatedAt      string         `json:"created_at"`
	Filter         ManifestFilter `json:"filter"`
	Deployments    int            `json:"deployments"`
	KeyFingerprint string         `json:"key_fingerprint"`
	Files          []ManifestFile `json:"files"`

	now time.Time
}

// ManifestFilter records which deployments the ZIP was asked for.
type ManifestFilter struct {
	Status      string  `json:"status"` // always "completed"
	From        *string `json:"created_from"`
	To          *string `json:"created_before"`
	Service     string  `json:"service"`
	Environment string  `json:"environment"`
	Signer      string  `json:"signer"`
}

// ManifestFile is one file of the ZIP.
type ManifestFile struct {
	Name       string `json:"name"`
	Deployment int64  `json:"deployment"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
}

// WriteBulk streams a ZIP of every completed deployment matching f to w:
// for each, its signed JSON, its PDF, its CSV and its evidence files, then
// manifest.json. It returns how many deployments it wrote.
//
// Deployments are read and rendered in parallel, one worker per core
// (GOMAXPROCS), each file hashed and deflated by the worker that made it;
// one writer puts them into the ZIP in the order of their ids, as they
// would come one by one. At most bulkWindow deployments are in flight
// (read, rendered or waiting for the writer), so memory stays flat however
// many there are: the ids are read a page at a time, and nothing of a
// deployment is kept once it is written but its manifest lines.
func WriteBulk(ctx context.Context, w io.Writer, store BulkStore, f signoff.DeploymentFilter, s *Signer, now time.Time) (int, error) {
	zw := zip.NewWriter(w)
	m := Manifest{Format: "signoff-audit-bulk", Version: 1, CreatedAt: ts(now), KeyFingerprint: s.Fingerprint(),
		Filter: ManifestFilter{Status: string(signoff.StatusCompleted), From: tsp(f.From), To: tsp(f.To),
			Service: f.Service, Environment: f.Environment, Signer: f.Signer},
		Files: []ManifestFile{}, now: now}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(1, runtime.GOMAXPROCS(0))
	// ordered holds the jobs in id order; its capacity is the window.
	ordered := make(chan *bulkJob, bulkWindow(workers))
	work := make(chan *bulkJob)
	var wg sync.WaitGroup
	wg.Add(1 + workers)
	go func() {
		defer wg.Done()
		defer close(ordered)
		defer close(work)
		var after int64
		for {
			ids, err := store.CompletedDeploymentIDs(ctx, f, after, BulkPage)
			if err != nil {
				j := &bulkJob{err: err, done: make(chan struct{})}
				close(j.done)
				select {
				case ordered <- j:
				case <-ctx.Done():
				}
				return
			}
			for _, id := range ids {
				j := &bulkJob{id: id, done: make(chan struct{})}
				select {
				case ordered <- j: // waits while the window is full
				case <-ctx.Done():
					return
				}
				select {
				case work <- j:
				case <-ctx.Done():
					j.err = ctx.Err()
					close(j.done)
					return
				}
				after = id
			}
			if len(ids) < BulkPage {
				return
			}
		}
	}()
	for range workers {
		go func() {
			defer wg.Done()
			for j := range work {
				j.files, j.err = renderBulk(ctx, store, j.id, s, now)
				close(j.done)
			}
		}()
	}
	n, err := m.writeOrdered(ctx, zw, ordered)
	cancel()
	for range ordered { // let the reader see its cancellation and stop
	}
	wg.Wait()
	if err != nil {
		return n, err
	}

	mw, err := zw.CreateHeader(&zip.FileHeader{Name: "manifest.json", Method: zip.Deflate, Modified: now})
	if err != nil {
		return m.Deployments, err
	}
	enc := json.NewEncoder(mw)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return m.Deployments, fmt.Errorf("bulk export: manifest: %w", err)
	}
	return m.Deployments, zw.Close()
}

// bulkWindow is how many deployments may be in flight at once: enough to
// keep every worker busy while the writer waits for the slowest.
func bulkWindow(workers int) int { return 2 * workers }

// bulkJob is one deployment on its way into the ZIP.
type bulkJob struct {
	id    int64
	files []bulkFile
	err   error
	done  chan struct{} // closed once files or err is set
}

// bulkFile is one file of a deployment, ready for the ZIP: its bytes as
// they go into the ZIP (deflated or stored), and what the ZIP and the
// manifest say of it.
type bulkFile struct {
	name   string
	method uint16
	data   []byte
	crc    uint32
	size   int64 // uncompressed
	sha256 string
}

// writeOrdered writes the jobs' files in the order the jobs come, waiting
// for each to be rendered, and returns how many deployments it wrote.
func (m *Manifest) writeOrdered(ctx context.Context, zw *zip.Writer, ordered <-chan *bulkJob) (int, error) {
	for j := range ordered {
		select {
		case <-j.done:
		case <-ctx.Done():
			return m.Deployments, ctx.Err()
		}
		if j.err != nil {
			return m.Deployments, j.err
		}
		for _, bf := range j.files {
			fw, err := zw.CreateRaw(&zip.FileHeader{Name: bf.name, Method: bf.method, Modified: m.now,
				CRC32: bf.crc, CompressedSize64: uint64(len(bf.data)), UncompressedSize64: uint64(bf.size)})
			if err != nil {
				return m.Deployments, fmt.Errorf("bulk export: %s: %w", bf.name, err)
			}
			if _, err := fw.Write(bf.data); err != nil {
				return m.Deployments, fmt.Errorf("bulk export: %s: %w", bf.name, err)
			}
			m.Files = append(m.Files, ManifestFile{Name: bf.name, Deployment: j.id, Size: bf.size, SHA256: bf.sha256})
		}
		j.files = nil
		m.Deployments++
	}
	return m.Deployments, ctx.Err()
}

// renderBulk reads one deployment's record and makes its three files.
func renderBulk(ctx context.Context, store BulkStore, id int64, s *Signer, now time.Time) ([]bulkFile, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec, err := store.SignedRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	base := FileBase(rec.Deployment)
	files := make([]bulkFile, 0, 3)
	x := newRecordFiles(rec, now) // the events replayed once for all three
	data, err := x.json(s)
	if err != nil {
		return nil, err
	}
	bf, err := deflated(base+".json", func(w io.Writer) error { _, err := w.Write(data); return err })
	if err != nil {
		return nil, err
	}
	files = append(files, bf)
	data = nil
	// fpdf compresses its streams: storing the PDF saves time for nothing.
	var pdf bytes.Buffer
	if err := x.pdf(&pdf, PDFOptions{Fingerprint: s.Fingerprint()}); err != nil {
		return nil, err
	}
	files = append(files, stored(base+".pdf", pdf.Bytes()))
	if bf, err = deflated(base+".csv", func(w io.Writer) error { return x.csv(w) }); err != nil {
		return nil, err
	}
	files = append(files, bf)
	if fs, ok := store.(BulkFileStore); ok {
		return evidenceFiles(ctx, fs, files, base, id)
	}
	return files, nil
}

// evidenceFiles adds a deployment's evidence files under base/files/ as
// "<id>-<name>", their SHA-256 in the manifest the same as in the event
// that added them. A file is at most signoff.MaxFileBytes, so a
// deployment in flight holds at most its own files.
func evidenceFiles(ctx context.Context, fs BulkFileStore, files []bulkFile, base string, id int64) ([]bulkFile, error) {
	list, err := fs.Files(ctx, id, "")
	if err != nil {
		return nil, err
	}
	for _, f := range list {
		full, err := fs.File(ctx, id, f.ID)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("%s/files/%d-%s", base, f.ID, strings.Trim(unsafeName.ReplaceAllString(f.Name, "-"), "-"))
		if full.Image() || full.ContentType == "application/pdf" {
			files = append(files, stored(name, full.Data)) // compressed already
			continue
		}
		bf, err := deflated(name, func(w io.Writer) error { _, err := w.Write(full.Data); return err })
		if err != nil {
			return nil, err
		}
		files = append(files, bf)
	}
	return files, nil
}

// bulkDeflaters are the workers' compressors, kept between files (a
// deflater's tables are most of what making one costs).
var bulkDeflaters = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, bulkLevel)
	return fw
}}

// bulkLevel: klauspost's level 3 is within a few percent of zlib's
// default size on these files, at a fraction of the time.
const bulkLevel = 3

// deflated makes a deflated file of what write writes.
func deflated(name string, write func(io.Writer) error) (bulkFile, error) {
	var out bytes.Buffer
	fw := bulkDeflaters.Get().(*flate.Writer)
	defer bulkDeflaters.Put(fw)
	fw.Reset(&out)
	sh, crc := sha256.New(), crc32.NewIEEE()
	cw := &countingWriter{w: io.MultiWriter(fw, sh, crc)}
	if err := write(cw); err != nil {
		return bulkFile{}, fmt.Errorf("bulk export: %s: %w", name, err)
	}
	if err := fw.Close(); err != nil {
		return bulkFile{}, fmt.Errorf("bulk export: %s: %w", name, err)
	}
	fw.Reset(io.Discard) // drop the reference to out
	return bulkFile{name: name, method: zip.Deflate, data: out.Bytes(), crc: crc.Sum32(), size: cw.n, sha256: sum(sh)}, nil
}

// stored makes a file that goes into the ZIP as it is.
func stored(name string, data []byte) bulkFile {
	h := sha256.Sum256(data)
	return bulkFile{name: name, method: zip.Store, data: data, crc: crc32.ChecksumIEEE(data), size: int64(len(data)),
		sha256: hex.EncodeToString(h[:])}
}

func sum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// FileBase is the file name (without extension) for a deployment's
// exports: "deployment-42-voxflow-api-production-v2.4.0".
func FileBase(d *signoff.Deployment) string {
	name := fmt.Sprintf("deployment-%d-%s-%s-%s", d.ID, d.Service, d.Environment, d.Version)
	name = strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-.")
	if len(name) > 120 {
		name = name[:120]
	}
	return name
}
