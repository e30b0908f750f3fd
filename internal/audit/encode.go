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
)

// checkpointMarker separates the record from its checkpoint in a canonical
// file. A JSON string cannot hold a raw newline and nested members are
// indented deeper, so it occurs exactly once.
const checkpointMarker = ",\n  \"checkpoint\": {"

// Encode writes doc in its one canonical form: encoding/json with fields in
// struct order, two-space indentation, no HTML escaping, and a final
// newline.
func Encode(doc *Document) ([]byte, error) {
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
// "name value" line each, newline-terminated.
func CheckpointMessage(c *Checkpoint) []byte {
	return []byte("signoff-checkpoint/v1\n" +
		"deployment " + strconv.FormatInt(c.DeploymentID, 10) + "\n" +
		"events " + strconv.FormatInt(c.EventCount, 10) + "\n" +
		"head " + c.HeadSHA256 + "\n" +
		"record " + c.RecordSHA256 + "\n" +
		"at " + c.SignedAt + "\n")
}

// Seal fills doc's checkpoint (head, count, record digest, signature) and
// returns the canonical file.
func Seal(doc *Document, s *Signer, signedAt string) ([]byte, error) {
	doc.Checkpoint = Checkpoint{}
	draft, err := Encode(doc)
	if err != nil {
		return nil, err
	}
	record, err := recordPart(draft)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(record)
	c := &doc.Checkpoint
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
