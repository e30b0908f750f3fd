package transparency_test

import (
	"crypto/ed25519"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signoff/signoff/internal/transparency"
)

// The parsers of the log's formats never panic, and accept only what their
// writers write: what they read writes back byte for byte.

func FuzzParseCheckpoint(f *testing.F) {
	c := transparency.Checkpoint{Origin: "signoff.example/audit-log", Size: 42, Root: tlog.RecordHash([]byte("a")), Chains: 3, Heads: tlog.RecordHash([]byte("b"))}
	f.Add(c.Text())
	f.Add("signoff.example/audit-log\n1\nAAAA\n")
	f.Add("o\n01\n" + c.Text()[len(c.Origin)+4:])
	f.Fuzz(func(t *testing.T, text string) {
		c, err := transparency.ParseCheckpoint(text)
		if err == nil && c.Text() != text {
			t.Fatalf("accepted %q, which writes back as %q", text, c.Text())
		}
	})
}

func FuzzParseEntry(f *testing.F) {
	e := transparency.Entry{Chain: 7, Seq: 3}
	e.Hash[0] = 1
	f.Add(e.Marshal())
	f.Add([]byte("system 1 " + string(make([]byte, 64)) + "\n"))
	f.Add([]byte("deployment/07 1 00 00\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := transparency.ParseEntry(b)
		if err == nil && string(e.Marshal()) != string(b) {
			t.Fatalf("accepted %q, which writes back as %q", b, e.Marshal())
		}
	})
}

func FuzzParseProof(f *testing.F) {
	p := transparency.Proof{tlog.RecordHash([]byte("a")), tlog.RecordHash([]byte("b"))}
	f.Add(p.MarshalText())
	f.Add([]byte(""))
	f.Add([]byte("AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := transparency.ParseProof(b)
		if err == nil && string(p.MarshalText()) != string(b) {
			t.Fatalf("accepted %q, which writes back as %q", b, p.MarshalText())
		}
	})
}

// FuzzOpen: a signed checkpoint opens only as signed; any other bytes are
// refused without a panic.
func FuzzOpen(f *testing.F) {
	const origin = "signoff.example/audit-log"
	k := key(3)
	signer, err := transparency.NewLogSigner(origin, k)
	if err != nil {
		f.Fatal(err)
	}
	verifier, err := transparency.NewLogVerifier(origin, k.Public().(ed25519.PublicKey))
	if err != nil {
		f.Fatal(err)
	}
	c := transparency.Checkpoint{Origin: origin, Size: 5, Root: tlog.RecordHash([]byte("r")), Chains: 2, Heads: tlog.RecordHash([]byte("h"))}
	signed, err := transparency.Sign(c, signer)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(signed[:len(signed)-2])
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _, err := transparency.Open(b, verifier)
		if err == nil && got != c {
			t.Fatalf("opened a checkpoint the log never signed: %+v", got)
		}
	})
}

func FuzzParseWitnessKey(f *testing.F) {
	w, err := transparency.NewWitnessSigner("witness.example/w", key(4))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(w.Verifier().String())
	f.Add("a+00000000+BA==")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = transparency.ParseWitnessKey(s)
	})
}
