package transparency_test

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signoff/signoff/internal/transparency"
)

// storedHashes is the heads tree as tlog stores a log (the way the tree
// was first computed): the reference HeadsTree is held to.
func storedHashes(t *testing.T, hs transparency.Heads) tlog.HashReader {
	t.Helper()
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, h := range hs {
		add, err := tlog.StoredHashes(int64(i), h.Marshal(), r)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, add...)
	}
	return r
}

// The heads tree gives the roots and proofs tlog's stored hashes give,
// at every size from one chain to seventy (every shape of an unbalanced
// tree up to 128 leaves), for every head; and a head's bytes are as
// docs/audit.md writes them.
func TestHeadsTreeIsTlogs(t *testing.T) {
	var hs transparency.Heads
	for n := 1; n <= 70; n++ {
		h := transparency.Head{Chain: int64(n * 3), Seq: int64(n*7 + 1)}
		h.Hash[0], h.Hash[31] = byte(n), byte(255-n)
		hs = append(hs, h)
		ref := storedHashes(t, hs)
		want, err := tlog.TreeHash(int64(n), ref)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := hs.Tree()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := tree.Root(); err != nil || got != want {
			t.Fatalf("%d heads: root %v, %v; want %v", n, got, err, want)
		}
		for i := range n {
			wantProof, err := tlog.ProveRecord(int64(n), int64(i), ref)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tree.Prove(i)
			if err != nil || len(got) != len(wantProof) {
				t.Fatalf("%d heads, head %d: proof %v, %v; want %v", n, i, got, err, wantProof)
			}
			for k := range got {
				if got[k] != wantProof[k] {
					t.Fatalf("%d heads, head %d: proof differs at %d", n, i, k)
				}
			}
		}
	}
	h := hs[4]
	want := "deployment/15 36 " + hex.EncodeToString(h.Hash[:]) + "\n"
	if got := h.Marshal(); !bytes.Equal(got, []byte(want)) {
		t.Errorf("head bytes %q, want %q", got, want)
	}
	if got := (transparency.Head{Chain: 0, Seq: 12}).Marshal(); !bytes.HasPrefix(got, []byte("system "+strconv.Itoa(12)+" ")) {
		t.Errorf("the system chain's head: %q", got)
	}
	if _, err := (transparency.Heads{hs[1], hs[0]}).Tree(); err == nil {
		t.Error("heads out of order made a tree")
	}
}

func BenchmarkHeadsTree(b *testing.B) {
	hs := make(transparency.Heads, 100000)
	for i := range hs {
		hs[i] = transparency.Head{Chain: int64(i + 1), Seq: 190}
	}
	for b.Loop() {
		if _, err := hs.Root(); err != nil {
			b.Fatal(err)
		}
	}
}

// A tree made from the one before, with some heads moved on and new
// chains after the last, is the tree made afresh: its root, and a proof
// of every head.
func TestHeadsTreeWithIsTheTreeAfresh(t *testing.T) {
	head := func(chain, seq int64) transparency.Head {
		h := transparency.Head{Chain: chain, Seq: seq}
		h.Hash[0], h.Hash[1], h.Hash[2] = byte(chain), byte(seq), byte(chain>>8)
		return h
	}
	var hs transparency.Heads
	tree, err := hs.Tree()
	if err != nil {
		t.Fatal(err)
	}
	rnd := uint64(7)
	next := func(n uint64) uint64 { rnd = rnd*6364136223846793005 + 1442695040888963407; return (rnd >> 33) % n }
	for step := range 60 {
		hs = append(transparency.Heads(nil), hs...)
		var changed []int
		if len(hs) > 0 {
			for range next(5) {
				i := int(next(uint64(len(hs))))
				hs[i] = head(hs[i].Chain, hs[i].Seq+1)
				changed = append(changed, i)
			}
		}
		for range next(4) {
			hs = append(hs, head(int64(len(hs))*2+1, 1))
		}
		if tree, err = tree.With(hs, changed); err != nil {
			t.Fatal(err)
		}
		fresh, err := hs.Tree()
		if err != nil {
			t.Fatal(err)
		}
		got, err1 := tree.Root()
		want, err2 := fresh.Root()
		if err1 != nil || err2 != nil || got != want {
			t.Fatalf("step %d (%d heads, changed %v): root %v, afresh %v (%v, %v)", step, len(hs), changed, got, want, err1, err2)
		}
		for i := range hs {
			p, err1 := tree.Prove(i)
			q, err2 := fresh.Prove(i)
			if err1 != nil || err2 != nil || len(p) != len(q) {
				t.Fatalf("step %d head %d: proofs %v, %v (%v, %v)", step, i, p, q, err1, err2)
			}
			for k := range p {
				if p[k] != q[k] {
					t.Fatalf("step %d head %d: proofs differ", step, i)
				}
			}
		}
	}
	if _, err := tree.With(hs[:1], nil); err == nil {
		t.Error("a tree was made of fewer heads than it had")
	}
}
