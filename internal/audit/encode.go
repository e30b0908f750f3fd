package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// checkpointMarker separates the record from its checkpoint in a canonical
// file. A JSON string cannot hold a raw newline and nested members are
// indented deeper, so it occurs exactly once.
const checkpointMarker = ",\n  \"checkpoint\": {"

// Encode writes doc in its one canonical form: for version 2, RFC 8785
// (JCS) and a newline (EncodeCanonical); for version 1, encoding/json with
// fields in struct order, two-space indentation, no HTML escaping, and a
// final newline.
func Encode(doc *Document) ([]byte, error) {
	if doc.Version != 1 {
		b, err := EncodeCanonical(doc)
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	}
	var buf bytes.Buffer
	buf.Grow(1024 + 700*len(doc.Events) + 400*len(doc.Items))
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode audit record: %w", err)
	}
	return buf.Bytes(), nil
}

// EncodeCanonical is v's RFC 8785 canonical form: object members sorted by
// name, strings in their shortest form (only ", \\ and control characters
// escaped, as \\b \\t \\n \\f \\r or \\u00xx), numbers as ECMAScript
// writes doubles (every integer here is below 2^53 and is written as
// one), no whitespace.
//
// Documents and checkpoints are written directly (canonical.go); anything
// else, and a value with an integer beyond ±2^53, goes through
// encoding/json and jsontext.
func EncodeCanonical(v any) ([]byte, error) {
	var e jcs
	switch v := v.(type) {
	case *Document:
		e.b = make([]byte, 0, canonicalSize(v))
		e.document(v)
	case *Checkpoint:
		e.b = make([]byte, 0, 512)
		e.checkpoint(v)
	default:
		return encodeCanonicalReflect(v)
	}
	if e.big {
		return encodeCanonicalReflect(v)
	}
	return e.b, nil
}

// encodeCanonicalReflect is the general path: encoding/json, then jsontext
// sorting members and rewriting strings and numbers as RFC 8785 wants.
func encodeCanonicalReflect(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode audit record: %w", err)
	}
	val := jsontext.Value(b)
	if err := val.Canonicalize(); err != nil {
		return nil, fmt.Errorf("encode audit record: %w", err)
	}
	return val, nil
}

// recordDigest is what a version 2 checkpoint signs of the record: the
// SHA-256 of the canonical form of the document without its checkpoint.
func recordDigest(doc *Document) (string, error) {
	c := doc.Checkpoint
	doc.Checkpoint = nil
	b, err := EncodeCanonical(doc)
	doc.Checkpoint = c
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// recordPart returns the bytes the record digest covers: everything before
// the checkpoint member.
func recordPart(file []byte) ([]byte, error) {
	i := bytes.Index(file, []byte(checkpointMarker))
	if i < 0 || bytes.Count(file, []byte(checkpointMarker)) != 1 {
		return nil, errors.New(`the file has no single top-level "checkpoint" member`)
	}
	return file[:i], nil
}

// CheckpointMessage is the text the checkpoint signature covers, one
// "name value" line each, newline-terminated; version 2 records' first
// line is "signoff-checkpoint/v2", so no signature moves between versions.
func CheckpointMessage(c *Checkpoint) []byte {
	return checkpointMessage(c, 1)
}

func checkpointMessage(c *Checkpoint, version int) []byte {
	return []byte("signoff-checkpoint/v" + strconv.Itoa(version) + "\n" +
		"deployment " + strconv.FormatInt(c.DeploymentID, 10) + "\n" +
		"events " + strconv.FormatInt(c.EventCount, 10) + "\n" +
		"head " + c.HeadSHA256 + "\n" +
		"record " + c.RecordSHA256 + "\n" +
		"at " + c.SignedAt + "\n")
}

// Seal fills doc's checkpoint (head, count, record digest, signature) and
// returns the canonical file.
func Seal(doc *Document, s *Signer, signedAt string) ([]byte, error) {
	if doc.Version != 1 {
		return sealCanonical(doc, s, signedAt)
	}
	doc.Checkpoint = &Checkpoint{}
	draft, err := Encode(doc)
	if err != nil {
		return nil, err
	}
	record, err := recordPart(draft)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(record)
	c := doc.Checkpoint
	c.DeploymentID = doc.Deployment.ID
	c.EventCount = int64(len(doc.Events))
	if n := len(doc.Events); n > 0 {
		c.HeadSHA256 = doc.Events[n-1].SHA256
	}
	c.RecordSHA256 = hex.EncodeToString(sum[:])
	c.SignedAt = signedAt
	c.Algorithm = "ed25519"
	c.PublicKey = base64.StdEncoding.EncodeToString(s.Public())
	c.KeyFingerprint = s.Fingerprint()
	c.Signature = base64.StdEncoding.EncodeToString(s.sign(CheckpointMessage(c)))

	// The record part is unchanged by the checkpoint's content, so only the
	// checkpoint needs encoding again.
	var buf bytes.Buffer
	buf.Grow(len(record) + 1024)
	buf.Write(record)
	buf.WriteString(`,` + "\n" + `  "checkpoint": `)
	enc := json.NewEncoder(&buf)
	enc.SetIndent("  ", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode checkpoint: %w", err)
	}
	buf.WriteString("}\n")
	return buf.Bytes(), nil
}

// sealCanonical seals a version 2 document: the checkpoint signs the
// digest of the canonical form of everything else.
func sealCanonical(doc *Document, s *Signer, signedAt string) ([]byte, error) {
	doc.Checkpoint = nil
	// The record's canonical form is made once: it is what the digest is
	// of, and, with the checkpoint member put in front, the file. In
	// canonical order "checkpoint" is the document's first member (no
	// other member's name sorts before it), and "comments" always follows.
	record, err := EncodeCanonical(doc)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(record)
	digest := hex.EncodeToString(sum[:])
	c := &Checkpoint{DeploymentID: doc.Deployment.ID, EventCount: int64(len(doc.Events)),
		RecordSHA256: digest, SignedAt: signedAt, Algorithm: "ed25519",
		PublicKey: base64.StdEncoding.EncodeToString(s.Public()), KeyFingerprint: s.Fingerprint()}
	if n := len(doc.Events); n > 0 {
		c.HeadSHA256 = doc.Events[n-1].SHA256
	}
	c.Signature = base64.StdEncoding.EncodeToString(s.sign(checkpointMessage(c, doc.Version)))
	doc.Checkpoint = c
	cp, err := EncodeCanonical(c)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(record, []byte(`{"comments":`)) {
		return nil, errors.New("encode audit record: the canonical form does not start with comments")
	}
	out := make([]byte, 0, len(`{"checkpoint":,`)+len(cp)+len(record)+1)
	out = append(out, `{"checkpoint":`...)
	out = append(out, cp...)
	out = append(out, ',')
	out = append(out, record[1:]...)
	return append(out, '\n'), nil
}
