package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/signoff/signoff/internal/audit"
)

// exportTypes are the single-deployment exports and their media types.
var exportTypes = map[string]string{
	"json": "application/json",
	"csv":  "text/csv; charset=utf-8",
	"pdf":  "application/pdf",
	"md":   "text/markdown; charset=utf-8",
}

// deploymentExport downloads one deployment in a format: the signed JSON
// record, the CSV of its events, the PDF or the ticked Markdown. Every
// signed-in person may; the export is built whole before it is sent, so a
// failure is an error page rather than half a file.
func (s *Server) deploymentExport(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := idParam(r, "id")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		read := s.db.DeploymentRecord
		if format == "json" {
			read = s.db.SignedRecord // with its proof in the transparency log
		}
		rec, err := read(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		now := s.now()
		var buf bytes.Buffer
		switch format {
		case "json":
			var b []byte
			if b, err = audit.JSON(rec, s.signer, now); err == nil {
				buf.Write(b)
			}
		case "csv":
			err = audit.CSV(&buf, rec)
		case "pdf":
			err = audit.PDF(&buf, rec, now, audit.PDFOptions{Fingerprint: s.signer.Fingerprint()})
		case "md":
			err = audit.Markdown(&buf, rec, now)
		}
		if err != nil {
			s.fail(w, r, fmt.Errorf("export deployment %d as %s: %w", id, format, err))
			return
		}
		h := w.Header()
		h.Set("Content-Type", exportTypes[format])
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, audit.FileBase(rec.Deployment), format))
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		h.Set("Cache-Control", "private, no-store")
		s.write(w, r, buf.Bytes())
	}
}

// signingKey publishes the public key that signs audit exports, so
// auditors can check exports against a key they got from the server
// rather than the one inside a file. Text (base64 and PEM) by default;
// JSON with ?format=json or Accept: application/json.
func (s *Server) signingKey(w http.ResponseWriter, r *http.Request) {
	pub := s.signer.Public()
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Vary", "Accept")
	if r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
		b, err := json.MarshalIndent(audit.PublicKeyInfo(pub), "", "  ")
		if err != nil {
			s.fail(w, r, fmt.Errorf("signing key as JSON: %w", err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		s.write(w, r, append(b, '\n'))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	s.write(w, r, []byte(audit.PublicKeyText(pub)))
}
