package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/signoff/signoff/internal/transparency"
)

// verifyLog checks a version 2 record's proof in the transparency log: the
// checkpoint is signed by the key that signed the record (the server's)
// and cosigned by each of witnesses, the last event's entry is leaf
// leaf_index of the log of its size, and the chain heads tree has that
// event as the deployment chain's head. So the events are in a log that
// witnesses saw grow only by appending, and none was cut from the end. It
// adds the log's origin, size and cosigners to res.
func verifyLog(doc *Document, res *Result, witnesses []note.Verifier) error {
	l := doc.Log
	if l == nil {
		return fail(0, "the record has no log member: its proof in the transparency log")
	}
	pub, err := base64.StdEncoding.DecodeString(doc.Checkpoint.PublicKey) // checked by verifyCheckpoint
	if err != nil {
		return fail(0, "log: %v", err)
	}
	text, _, _ := strings.Cut(l.Checkpoint, "\n")
	logKey, err := transparency.NewLogVerifier(text, ed25519.PublicKey(pub))
	if err != nil {
		return fail(0, "log: the checkpoint's origin %q is not a log name", text)
	}
	proof, err := transparency.ParseProofList(l.InclusionProof)
	if err != nil {
		return fail(0, "log.inclusion_proof: %v", err)
	}
	chainProof, err := transparency.ParseProofList(l.ChainProof)
	if err != nil {
		return fail(0, "log.chain_proof: %v", err)
	}
	last := doc.Events[len(doc.Events)-1]
	entry := transparency.Entry{Chain: doc.Deployment.ID, Seq: last.Seq}
	prev, _ := decodeHash(last.PrevSHA256) // checked by verifyChain
	hash, _ := decodeHash(last.SHA256)
	copy(entry.Prev[:], prev)
	copy(entry.Hash[:], hash)
	rp := transparency.RecordProof{Checkpoint: l.Checkpoint, Index: l.LeafIndex, Proof: proof, ChainIndex: l.ChainIndex, ChainProof: chainProof}
	c, err := rp.Check(entry, logKey, witnesses...)
	if err != nil {
		return fail(0, "log: %v", err)
	}
	res.LogOrigin, res.LogSize = c.Origin, c.Size
	for _, w := range witnesses {
		res.Witnesses = append(res.Witnesses, fmt.Sprintf("%s+%08x", w.Name(), w.KeyHash()))
	}
	return nil
}
