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
	"io"
	"regexp"
	"strings"
	"time"

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
// for each, its signed JSON, its PDF and its CSV, then manifest.json. It
// reads the deployments a page at a time and holds one record at a time,
// so memory stays flat however many there are. It returns how many
// deployments it wrote.
func WriteBulk(ctx context.Context, w io.Writer, store BulkStore, f signoff.DeploymentFilter, s *Signer, now time.Time) (int, error) {
	zw := zip.NewWriter(w)
	m := Manifest{Format: "signoff-audit-bulk", Version: 1, CreatedAt: ts(now), KeyFingerprint: s.Fingerprint(),
		Filter: ManifestFilter{Status: string(signoff.StatusCompleted), From: tsp(f.From), To: tsp(f.To),
			Service: f.Service, Environment: f.Environment, Signer: f.Signer},
		Files: []ManifestFile{}, now: now}
	var buf bytes.Buffer
	var after int64
	for {
		ids, err := store.CompletedDeploymentIDs(ctx, f, after, BulkPage)
		if err != nil {
			return m.Deployments, err
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return m.Deployments, err
			}
			rec, err := store.SignedRecord(ctx, id)
			if err != nil {
				return m.Deployments, err
			}
			base := FileBase(rec.Deployment)
			data, err := JSON(rec, s, now)
			if err != nil {
				return m.Deployments, err
			}
			if err := m.add(zw, base+".json", id, zip.Deflate, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
				return m.Deployments, err
			}
			data = nil
			// fpdf compresses its streams: storing the PDF saves time for nothing.
			buf.Reset()
			if err := PDF(&buf, rec, now, PDFOptions{Fingerprint: s.Fingerprint()}); err != nil {
				return m.Deployments, err
			}
			if err := m.add(zw, base+".pdf", id, zip.Store, func(w io.Writer) error { _, err := buf.WriteTo(w); return err }); err != nil {
				return m.Deployments, err
			}
			if err := m.add(zw, base+".csv", id, zip.Deflate, func(w io.Writer) error { return CSV(w, rec) }); err != nil {
				return m.Deployments, err
			}
			if fs, ok := store.(BulkFileStore); ok {
				if err := m.addFiles(ctx, zw, fs, base, id); err != nil {
					return m.Deployments, err
				}
			}
			m.Deployments++
			after = id
		}
		if len(ids) < BulkPage {
			break
		}
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

// addFiles writes a deployment's evidence files under base/files/, one
// at a time (a file is at most signoff.MaxFileBytes): "<id>-<name>", its
// SHA-256 in the manifest the same as in the event that added it.
func (m *Manifest) addFiles(ctx context.Context, zw *zip.Writer, fs BulkFileStore, base string, id int64) error {
	files, err := fs.Files(ctx, id, "")
	if err != nil {
		return err
	}
	for _, f := range files {
		full, err := fs.File(ctx, id, f.ID)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%s/files/%d-%s", base, f.ID, strings.Trim(unsafeName.ReplaceAllString(f.Name, "-"), "-"))
		method := zip.Deflate
		if full.Image() || full.ContentType == "application/pdf" {
			method = zip.Store // compressed already
		}
		if err := m.add(zw, name, id, method, func(w io.Writer) error { _, err := w.Write(full.Data); return err }); err != nil {
			return err
		}
	}
	return nil
}

// add writes one file to the ZIP, hashing it on the way, and lists it.
func (m *Manifest) add(zw *zip.Writer, name string, id int64, method uint16, write func(io.Writer) error) error {
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: m.now})
	if err != nil {
		return fmt.Errorf("bulk export: %s: %w", name, err)
	}
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(fw, h)}
	if err := write(cw); err != nil {
		return fmt.Errorf("bulk export: %s: %w", name, err)
	}
	m.Files = append(m.Files, ManifestFile{Name: name, Deployment: id, Size: cw.n, SHA256: sum(h)})
	return nil
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
