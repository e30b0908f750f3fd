package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"golang.org/x/mod/sumdb/note"

	"github.com/signoff/signoff/internal/signoff"
)

// Result is what a successful verification established.
type Result struct {
	DeploymentID int64
	Name         string // "voxflow-api v2.4.0 → production"
	Events       int64
	Head         string // hex
	Signoffs     int
	SignedAt     string
	Fingerprint  string
	KeyGiven     bool // checked against a key the auditor gave, not the one in the file
	// LogOrigin and LogSize name the transparency log checkpoint the
	// record is proven in (version 2); Witnesses lists the witnesses whose
	// cosignatures of it were required and checked.
	LogOrigin string
	LogSize   int64
	Witnesses []string
}

// Summary is the one line `signoff verify` prints.
func (r *Result) Summary() string {
	key := "the given key " + r.Fingerprint
	if !r.KeyGiven {
		key = "key " + r.Fingerprint + " (self-asserted: the key inside the file; compare this fingerprint with the one your server publishes at /.well-known/signoff-signing-key, or pass --key)"
	}
	line := fmt.Sprintf("OK deployment %d (%s): %d events, chain intact, head %s, record agrees with them, %d sign-offs match the checklist state they attest to, checkpoint of %s signed by %s",
		r.DeploymentID, r.Name, r.Events, r.Head, r.Signoffs, r.SignedAt, key)
	switch {
	case r.LogOrigin == "":
		line += "; a version 1 record, from before the transparency log"
	case len(r.Witnesses) == 0:
		line += fmt.Sprintf("; its last event is its chain's head in checkpoint %d of log %s (no witness required: pass --witness KEY)", r.LogSize, r.LogOrigin)
	default:
		line += fmt.Sprintf("; its last event is its chain's head in checkpoint %d of log %s, cosigned by %s", r.LogSize, r.LogOrigin, strings.Join(r.Witnesses, ", "))
	}
	return line
}

// Error is a failed verification, naming the first bad event when the
// problem lies in one.
type Error struct {
	Seq  int64 // the first bad event's seq (its place in the chain); 0 when not one event's
	Line int   // the line of the file, when known
	Msg  string
}

func (e *Error) Error() string {
	var b bytes.Buffer
	if e.Seq > 0 {
		fmt.Fprintf(&b, "event %d: ", e.Seq)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Msg)
	return b.String()
}

func fail(seq int64, format string, args ...any) error {
	return &Error{Seq: seq, Msg: fmt.Sprintf(format, args...)}
}

// Verify checks a JSON export offline: that it is byte for byte what
// Signoff wrote, that its hash chain is intact from the first event to the
// signed head, that every sign-off's checklist hash matches the state the
// events before it describe, that every field of the record the events can
// back is what they make it (checkRecord), and that the checkpoint
// signature (over the head, the count and the SHA-256 of the whole record)
// is good. For a version 2 record it also checks the record's proof in the
// transparency log (verifyLog): its last event is its chain's head in a
// checkpoint signed by the same key and cosigned by every one of
// witnesses. With key nil it trusts the public key inside the file, which
// only proves the file is unchanged since whoever holds that key signed
// it.
func Verify(file []byte, key ed25519.PublicKey, witnesses ...note.Verifier) (*Result, error) {
	doc, err := parseCanonical(file)
	if err != nil {
		return nil, err
	}
	switch {
	case doc.Format != Format || (doc.Version != 1 && doc.Version != Version):
		return nil, fail(0, "not a Signoff audit record of version 1 or %d (format %q, version %d)", Version, doc.Format, doc.Version)
	case doc.Checkpoint == nil:
		return nil, fail(0, "the record has no checkpoint")
	case doc.Version == 1 && doc.Log != nil:
		return nil, fail(0, "a version 1 record has no log member")
	case doc.Version == 1 && len(witnesses) > 0:
		return nil, fail(0, "this record (version 1, exported before the transparency log) carries no checkpoint of the log, so no witness cosigned it")
	}
	payloads, err := verifyChain(doc)
	if err != nil {
		return nil, err
	}
	if err := verifyState(doc, payloads); err != nil {
		return nil, err
	}
	res, err := verifyCheckpoint(file, doc, key)
	if err != nil || doc.Version == 1 {
		return res, err
	}
	return res, verifyLog(doc, res, witnesses)
}

// parseCanonical parses the file strictly (go-json-experiment/json: every
// member known, once, named exactly, of its type, valid UTF-8) and
// requires it to be exactly what Encode writes for what was parsed.
func parseCanonical(file []byte) (*Document, error) {
	var doc Document
	if err := jsonv2.Unmarshal(file, &doc, jsonv2.RejectUnknownMembers(true)); err != nil {
		var se *jsontext.SyntacticError
		var me *jsonv2.SemanticError
		off := int64(0)
		switch {
		case errors.As(err, &se):
			off = se.ByteOffset
		case errors.As(err, &me):
			off = me.ByteOffset
		}
		return nil, located(file, off, "not a valid audit record: "+err.Error())
	}
	again, err := Encode(&doc)
	if err != nil {
		return nil, &Error{Msg: err.Error()}
	}
	if !bytes.Equal(again, file) {
		i := 0
		for i < len(again) && i < len(file) && again[i] == file[i] {
			i++
		}
		return nil, located(file, int64(i), fmt.Sprintf("byte %d is not as Signoff writes this record (the file was edited: exports are canonical, so any change of content, whitespace or key order shows)", i))
	}
	return &doc, nil
}

// located names the line, and the event when inside one, of a file offset.
func located(file []byte, off int64, msg string) error {
	off = max(0, min(off, int64(len(file))))
	if !bytes.HasPrefix(file, []byte("{\n")) {
		// One line (version 2): the byte, and the event from the JSON
		// pointer of the value there.
		return &Error{Seq: eventAt(file, off), Msg: msg}
	}
	e := &Error{Line: bytes.Count(file[:off], []byte("\n")) + 1, Msg: msg}
	head := file[:off]
	start := bytes.Index(file, []byte("\n  \"events\": ["))
	if start < 0 || int64(start) > off || bytes.Contains(head[start:], []byte(checkpointMarker)) {
		return e
	}
	const open = "\n    {\n      \"seq\": "
	if i := bytes.LastIndex(head, []byte(open)); i > start {
		rest := file[i+len(open):]
		if j := bytes.IndexAny(rest, ",\n"); j > 0 {
			if seq, err := strconv.ParseInt(string(rest[:j]), 10, 64); err == nil && seq > 0 {
				e.Seq = seq
			}
		}
	}
	return e
}

// eventAt is the seq of the event (its place in "events") that the byte
// at off of a version 2 file lies in, or 0.
func eventAt(file []byte, off int64) int64 {
	dec := jsontext.NewDecoder(bytes.NewReader(file), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	for {
		if _, err := dec.ReadToken(); err != nil || dec.InputOffset() > off {
			break
		}
	}
	rest, ok := strings.CutPrefix(string(dec.StackPointer()), "/events/")
	if !ok {
		return 0
	}
	i, _, _ := strings.Cut(rest, "/")
	n, err := strconv.ParseInt(i, 10, 64)
	if err != nil {
		return 0
	}
	return n + 1
}

// verifyChain checks that events run 1, 2, 3… with each one's prev_sha256
// its predecessor's sha256 (32 zero bytes for the first) and its sha256 the
// SHA-256 of prev ‖ payload, and that the readable fields repeat the
// payload. It returns the payloads, read strictly (signoff.DecodeEvent):
// a payload that is not exactly as Signoff writes it fails here, even
// when its hash is right.
func verifyChain(doc *Document) ([]*signoff.DecodedEvent, error) {
	if len(doc.Events) == 0 {
		return nil, fail(0, "the record has no events")
	}
	chain := "deployment/" + strconv.FormatInt(doc.Deployment.ID, 10)
	prev := make([]byte, sha256.Size)
	out := make([]*signoff.DecodedEvent, 0, len(doc.Events))
	var last time.Time
	for i := range doc.Events {
		e := &doc.Events[i]
		want := int64(i + 1)
		if e.Seq != want {
			return nil, fail(want, "the %s event in the file has seq %d: events were removed, inserted or reordered", ordinal(i+1), e.Seq)
		}
		p, err := decodeHash(e.PrevSHA256)
		if err != nil {
			return nil, fail(want, "prev_sha256: %v", err)
		}
		if !bytes.Equal(p, prev) {
			return nil, fail(want, "prev_sha256 is not the previous event's sha256: the chain is broken here (an event before it was removed or replaced)")
		}
		h, err := decodeHash(e.SHA256)
		if err != nil {
			return nil, fail(want, "sha256: %v", err)
		}
		if !bytes.Equal(h, signoff.ChainHash(prev, []byte(e.Payload))) {
			return nil, fail(want, "sha256 is not SHA-256(prev_sha256 ‖ payload): the event was changed")
		}
		pl, err := signoff.DecodeEvent([]byte(e.Payload))
		if err != nil {
			return nil, fail(want, "%v", err)
		}
		if last, err = checkEnvelope(e, pl, chain, want, last); err != nil {
			return nil, err
		}
		out = append(out, pl)
		prev = h
	}
	return out, nil
}

// checkEnvelope checks what a payload says of its event: the version, the
// chain and place, that the file's readable fields repeat it, the actor's
// door, and a time in the format after the previous event's (last). It
// returns the event's time.
func checkEnvelope(e *Event, pl *signoff.DecodedEvent, chain string, want int64, last time.Time) (time.Time, error) {
	switch {
	case pl.V != 1:
		return last, fail(want, "payload version %d, want 1", pl.V)
	case pl.Chain != chain:
		return last, fail(want, "payload belongs to chain %q, not %q", pl.Chain, chain)
	case pl.Seq != want:
		return last, fail(want, "payload says seq %d", pl.Seq)
	case pl.At != e.At || pl.Action != e.Action || pl.Target.String() != e.Target ||
		pl.Actor.ID != e.Actor.ID || pl.Actor.Name != e.Actor.Name || pl.Actor.Via != e.Actor.Via:
		return last, fail(want, "at, actor, action or target differ from the payload")
	case !validVia[pl.Actor.Via]:
		return last, fail(want, "actor.via is %q, not web, api, cli or system", pl.Actor.Via)
	case pl.Actor.ID < 0 || pl.Actor.Name == "":
		return last, fail(want, "the actor has id %d and name %q: want a person's id (0 for the system) and a name", pl.Actor.ID, pl.Actor.Name)
	}
	at, err := time.Parse(signoff.TimeFormat, pl.At)
	if err != nil || at.Format(signoff.TimeFormat) != pl.At {
		return last, fail(want, "at %q is not a UTC time with microseconds (%s)", pl.At, signoff.TimeFormat)
	}
	if !at.After(last) {
		return last, fail(want, "at %s is not after the previous event's %s: event times rise with the chain", pl.At, last.Format(signoff.TimeFormat))
	}
	return at, nil
}

// validVia are the doors a change comes through.
var validVia = map[string]bool{"web": true, "api": true, "cli": true, "system": true}

// verifyState replays the events: every sign-off's checklist hash must be
// the hash of the state the events before its signoff.sign event give, and
// every field of the record that the events can back must be what they
// make it (see checkRecord).
func verifyState(doc *Document, payloads []*signoff.DecodedEvent) error {
	r, err := newReplay(doc.Deployment.ID, payloads[0])
	if err != nil {
		return fail(1, "%v", err)
	}
	for _, p := range payloads[1:] {
		if err := r.apply(p); err != nil {
			return fail(p.Seq, "%v", err)
		}
	}
	r.finish()
	return checkRecord(doc, r)
}

// verifyCheckpoint checks the signed head against the chain and the file,
// and the signature against the key.
func verifyCheckpoint(file []byte, doc *Document, key ed25519.PublicKey) (*Result, error) {
	c := doc.Checkpoint
	last := doc.Events[len(doc.Events)-1]
	switch {
	case c.DeploymentID != doc.Deployment.ID:
		return nil, fail(0, "the checkpoint is for deployment %d, the record for %d", c.DeploymentID, doc.Deployment.ID)
	case c.EventCount != int64(len(doc.Events)):
		return nil, fail(0, "the checkpoint signed %d events; the file has %d: events were removed or added at the end", c.EventCount, len(doc.Events))
	case c.HeadSHA256 != last.SHA256:
		return nil, fail(last.Seq, "the checkpoint's head_sha256 is not the last event's sha256")
	case c.Algorithm != "ed25519":
		return nil, fail(0, "unknown signature algorithm %q", c.Algorithm)
	case doc.ExportedAt != c.SignedAt:
		return nil, fail(0, "exported_at is %s, but the checkpoint was signed at %s: Signoff signs a file when it makes it", doc.ExportedAt, c.SignedAt)
	}
	got, err := signedDigest(file, doc)
	if err != nil {
		return nil, fail(0, "%v", err)
	}
	if got != c.RecordSHA256 {
		return nil, fail(0, "the record (every byte before the checkpoint) hashes to %s, but the checkpoint signed %s: the file was changed after it was signed", got, c.RecordSHA256)
	}
	pub, err := base64.StdEncoding.Strict().DecodeString(c.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize || base64.StdEncoding.EncodeToString(pub) != c.PublicKey {
		return nil, fail(0, "the checkpoint's public_key is not the base64 of a 32-byte Ed25519 key")
	}
	if Fingerprint(pub) != c.KeyFingerprint {
		return nil, fail(0, "the checkpoint's key_fingerprint is not its public key's")
	}
	if key != nil && !bytes.Equal(key, pub) {
		return nil, fail(0, "signed by key %s, not by the given key %s", c.KeyFingerprint, Fingerprint(key))
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(c.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize || base64.StdEncoding.EncodeToString(sig) != c.Signature {
		return nil, fail(0, "the checkpoint's signature is not the base64 of an Ed25519 signature")
	}
	if !ed25519.Verify(pub, checkpointMessage(c, doc.Version), sig) {
		return nil, fail(0, "the checkpoint signature does not verify with key %s", c.KeyFingerprint)
	}
	d := doc.Deployment
	return &Result{
		DeploymentID: d.ID, Name: d.Service + " " + d.Version + " → " + d.Environment,
		Events: c.EventCount, Head: c.HeadSHA256, Signoffs: len(doc.Signoffs), SignedAt: c.SignedAt,
		Fingerprint: c.KeyFingerprint, KeyGiven: key != nil,
	}, nil
}

// signedDigest is the record digest a checkpoint signs: of every byte
// before the checkpoint member (version 1), or of the canonical form of the
// document without it (version 2).
func signedDigest(file []byte, doc *Document) (string, error) {
	if doc.Version != 1 {
		return recordDigest(doc)
	}
	record, err := recordPart(file)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(record)
	return hex.EncodeToString(sum[:]), nil
}

// decodeHash reads a SHA-256 written as 64 lowercase hex digits.
func decodeHash(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != s {
		return nil, errors.New("not 64 lowercase hex digits")
	}
	return b, nil
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}
