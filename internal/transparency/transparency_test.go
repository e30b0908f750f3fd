package transparency_test

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signoff/signoff/internal/transparency"
)

func key(b byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = b
	return ed25519.NewKeyFromSeed(seed)
}

// A checkpoint signed by the log and cosigned by a witness opens with both
// keys, and with the witness's key alone required it fails without the
// cosignature.
func TestSignAndCosign(t *testing.T) {
	const origin = "signoff.example/audit-log"
	logKey := key(1)
	signer, err := transparency.NewLogSigner(origin, logKey)
	if err != nil {
		t.Fatal(err)
	}
	c := transparency.Checkpoint{Origin: origin, Size: 3, Root: tlog.RecordHash([]byte("x")), Chains: 1, Heads: tlog.RecordHash([]byte("y"))}
	signed, err := transparency.Sign(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := transparency.NewLogVerifier(origin, logKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := transparency.Open(signed, verifier)
	if err != nil || got != c {
		t.Fatalf("Open: %+v, %v", got, err)
	}
	w, err := transparency.NewWitnessSigner("witness.example/w", key(2))
	if err != nil {
		t.Fatal(err)
	}
	wv, err := transparency.ParseWitnessKey(w.Verifier().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := transparency.Open(signed, verifier, wv); err == nil || !strings.Contains(err.Error(), "no cosignature") {
		t.Fatalf("without the cosignature: %v", err)
	}
	cosigned, err := note.Sign(n, w)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := transparency.Open(cosigned, verifier, wv); err != nil {
		t.Fatalf("cosigned: %v\n%s", err, cosigned)
	}
}
