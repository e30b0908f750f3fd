package transparency_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signoff/signoff/internal/transparency"
)

// vectors computes the test vectors docs/audit.md gives re-implementers,
// one line each, from fixed keys and data.
func vectors(t *testing.T) []string {
	t.Helper()
	sum := func(s string) (h [32]byte) { return sha256.Sum256([]byte(s)) }
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }

	// Three log entries, the last deployment 42's event 7.
	entries := []transparency.Entry{
		{Chain: 0, Seq: 1, Hash: sum("system event 1")},
		{Chain: 42, Seq: 6, Prev: sum("event 5"), Hash: sum("event 6")},
		{Chain: 42, Seq: 7, Prev: sum("event 6"), Hash: sum("event 7")},
	}
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, e := range entries {
		add("entry %d: %q", i, e.Marshal())
		add("leaf hash %d: %s", i, hex.EncodeToString(tlogHash(e.LeafHash())))
		h, err := tlog.StoredHashes(int64(i), e.Marshal(), r)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, h...)
	}
	root, err := tlog.TreeHash(3, r)
	if err != nil {
		t.Fatal(err)
	}
	add("log root (size 3): %s", base64.StdEncoding.EncodeToString(root[:]))
	proof, err := tlog.ProveRecord(3, 2, r)
	if err != nil {
		t.Fatal(err)
	}
	add("inclusion proof of leaf 2 in size 3: %s", strings.Join(transparency.Proof(proof).Strings(), " "))
	consistency, err := tlog.ProveTree(3, 2, r)
	if err != nil {
		t.Fatal(err)
	}
	add("consistency proof from size 2 to 3: %s", strings.Join(transparency.Proof(consistency).Strings(), " "))

	heads := transparency.Heads{transparency.HeadOf(entries[0]), transparency.HeadOf(entries[2])}
	for i, h := range heads {
		add("chain head %d: %q", i, h.Marshal())
	}
	headsRoot, err := heads.Root()
	if err != nil {
		t.Fatal(err)
	}
	add("chain heads root (2 chains): %s", base64.StdEncoding.EncodeToString(headsRoot[:]))
	headProof, err := heads.Prove(1)
	if err != nil {
		t.Fatal(err)
	}
	add("chain proof of head 1: %s", strings.Join(headProof.Strings(), " "))

	// The checkpoint, signed by the log's key (seed: 32 bytes of 0x01).
	const origin = "signoff.example.com/signoff-audit-log"
	logKey := ed25519.NewKeyFromSeed(bytesOf(1))
	c := transparency.Checkpoint{Origin: origin, Size: 3, Root: root, Chains: 2, Heads: headsRoot}
	signer, err := transparency.NewLogSigner(origin, logKey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := transparency.Sign(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	vkey, _ := transparency.LogVerifierKey(origin, logKey.Public().(ed25519.PublicKey))
	add("log key: %s", vkey)
	for _, l := range strings.Split(strings.TrimSuffix(string(signed), "\n"), "\n") {
		add("signed checkpoint | %s", l)
	}

	// A witness's cosignature at time 1767225600 (seed: 32 bytes of 0x02).
	const witness = "witness.example.com/w1"
	wkey := ed25519.NewKeyFromSeed(bytesOf(2))
	wpub := wkey.Public().(ed25519.PublicKey)
	id := sha256.Sum256(append([]byte(witness+"\n\x04"), wpub...))
	const when = 1767225600
	msg := fmt.Sprintf("cosignature/v1\ntime %d\n%s", when, c.Text())
	sig := binary.BigEndian.AppendUint64(append([]byte{}, id[:4]...), when)
	sig = append(sig, ed25519.Sign(wkey, []byte(msg))...)
	line := "— " + witness + " " + base64.StdEncoding.EncodeToString(sig)
	add("witness key: %s+%s+%s", witness, hex.EncodeToString(id[:4]), base64.StdEncoding.EncodeToString(append([]byte{4}, wpub...)))
	add("cosignature line: %s", line)
	wv, err := transparency.ParseWitnessKey(fmt.Sprintf("%s+%s+%s", witness, hex.EncodeToString(id[:4]), base64.StdEncoding.EncodeToString(append([]byte{4}, wpub...))))
	if err != nil {
		t.Fatal(err)
	}
	logV, _ := transparency.NewLogVerifier(origin, logKey.Public().(ed25519.PublicKey))
	if _, _, err := transparency.Open(append(signed, line+"\n"...), logV, wv); err != nil {
		t.Fatalf("the documented cosignature does not verify: %v", err)
	}
	return lines
}

func tlogHash(h tlog.Hash) []byte { return h[:] }

func bytesOf(b byte) []byte {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = b
	}
	return s
}

// docs/audit.md's test vectors are what the code computes.
func TestDocumentedVectors(t *testing.T) {
	doc, err := os.ReadFile("../../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vectors(t) {
		if !strings.Contains(string(doc), v) {
			t.Errorf("docs/audit.md lacks the vector line:\n%s", v)
		}
	}
}
