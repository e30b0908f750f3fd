package ui

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"golang.org/x/mod/sumdb/note"

	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/internal/transparency"
)

// The transparency log, served to anyone (docs/audit.md, "The
// transparency log"): what it serves is signed or checks against what is
// signed, so it needs no session. The layout is c2sp.org/tlog-tiles'
// (checkpoint, tile/…), so tlog clients read it as they read any log.

// logCheckpoint serves the newest signed checkpoint with its cosignatures.
func (s *Server) logCheckpoint(w http.ResponseWriter, r *http.Request) {
	signed, err := s.db.LogCheckpoint(r.Context())
	if err != nil {
		s.logFail(w, r, err)
		return
	}
	if signed == nil {
		s.logFail(w, r, signoff.Errorf(signoff.ENOTFOUND, "The transparency log has no checkpoint yet."))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	s.write(w, r, signed)
}

// logTile serves a tile: hashes (tile/<L>/<N>[.p/<W>]) or entries
// (tile/entries/<N>[.p/<W>], each entry two bytes of length and the entry).
func (s *Server) logTile(w http.ResponseWriter, r *http.Request) {
	data, err := s.db.LogTile(r.Context(), "tile/"+chi.URLParam(r, "*"))
	if err != nil {
		s.logFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if strings.Contains(r.URL.Path, ".p/") {
		w.Header().Set("Cache-Control", "no-store") // a partial tile grows
	} else {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	s.write(w, r, data)
}

// logInclusionProof serves the proof that leaf index is in the tree of
// size: base64 hashes, one a line (?index=I&size=N).
func (s *Server) logInclusionProof(w http.ResponseWriter, r *http.Request) {
	index, err1 := logNumber(r, "index")
	size, err2 := logNumber(r, "size")
	if err := errors.Join(err1, err2); err != nil {
		s.logFail(w, r, err)
		return
	}
	p, err := s.db.ProveInclusion(r.Context(), index, size)
	s.writeProof(w, r, p, err)
}

// logConsistencyProof serves the proof that the tree of size old is a
// prefix of the tree of size new (?old=A&new=B).
func (s *Server) logConsistencyProof(w http.ResponseWriter, r *http.Request) {
	old, err1 := logNumber(r, "old")
	size, err2 := logNumber(r, "new")
	if err := errors.Join(err1, err2); err != nil {
		s.logFail(w, r, err)
		return
	}
	p, err := s.db.ProveConsistency(r.Context(), old, size)
	s.writeProof(w, r, p, err)
}

func (s *Server) writeProof(w http.ResponseWriter, r *http.Request, p transparency.Proof, err error) {
	if err != nil {
		s.logFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	s.write(w, r, p.MarshalText())
}

func logNumber(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != v {
		return 0, signoff.Errorf(signoff.EINVALID, "%s must be a whole number, not %q.", name, v)
	}
	return n, nil
}

// maxCosignedNote bounds a posted cosigned checkpoint.
const maxCosignedNote = 16 << 10

// logCosignature takes a checkpoint a witness cosigned: the signed note as
// the log served it plus the witness's line. It keeps every cosignature
// of a witness named in WITNESS_KEYS; a note with none, or whose text is
// not a checkpoint this log signed, is refused.
func (s *Server) logCosignature(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCosignedNote+1))
	if err != nil || len(body) > maxCosignedNote {
		s.logFail(w, r, signoff.Errorf(signoff.EINVALID, "Send a cosigned checkpoint of at most %d bytes.", maxCosignedNote))
		return
	}
	witnesses, err := s.witnessVerifiers()
	if err != nil {
		s.logFail(w, r, err)
		return
	}
	ctx := r.Context()
	origin, err := s.db.LogOrigin(ctx)
	if err != nil {
		s.logFail(w, r, err)
		return
	}
	logKey, err := transparency.NewLogVerifier(origin, s.signer.Public())
	if err != nil {
		s.logFail(w, r, err)
		return
	}
	c, n, err := transparency.Open(body, logKey)
	if err != nil {
		s.logFail(w, r, signoff.Errorf(signoff.EINVALID, "Not a checkpoint of this log: %v.", err))
		return
	}
	stored, err := s.db.LogCheckpointAt(ctx, c.Size)
	if err != nil || !bytes.HasPrefix(stored, []byte(n.Text+"\n")) {
		s.logFail(w, r, signoff.Errorf(signoff.EINVALID, "This log signed no such checkpoint of size %d.", c.Size))
		return
	}
	kept := 0
	for _, wv := range witnesses {
		_, wn, err := transparency.Open(body, logKey, wv)
		if err != nil {
			continue
		}
		line, ok := signatureLine(wn, wv)
		if !ok {
			continue
		}
		if err := s.db.AddCosignature(ctx, c.Size, witnessKeyName(wv), line); err != nil {
			s.logFail(w, r, err)
			return
		}
		kept++
	}
	if kept == 0 {
		s.logFail(w, r, signoff.Errorf(signoff.EINVALID, "No cosignature of a witness this server knows (WITNESS_KEYS)."))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// witnessVerifiers are the witnesses of WITNESS_KEYS (checked at start).
func (s *Server) witnessVerifiers() ([]note.Verifier, error) {
	out := make([]note.Verifier, 0, len(s.cfg.WitnessKeys))
	for _, k := range s.cfg.WitnessKeys {
		v, err := transparency.ParseWitnessKey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// witnessKeyName names a witness's key as stored: its name and key hash.
func witnessKeyName(v note.Verifier) string { return fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash()) }

// signatureLine is the note's signature line by v.
func signatureLine(n *note.Note, v note.Verifier) (string, bool) {
	for _, sig := range n.Sigs {
		if sig.Name == v.Name() && sig.Hash == v.KeyHash() {
			return "— " + sig.Name + " " + sig.Base64 + "\n", true
		}
	}
	return "", false
}

// logFail answers a failed log request in plain text: its clients are
// witnesses and scripts, not people reading pages.
func (s *Server) logFail(w http.ResponseWriter, r *http.Request, err error) {
	p := s.problems.Explain(r, requestID(r.Context()), err)
	if p.ClientGone() {
		return
	}
	p.SetHeaders(w.Header())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(p.Status)
	s.write(w, r, []byte(p.Message+"\n"))
}
