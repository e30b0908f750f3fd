package password

import (
	"strings"
	"testing"
)

func TestHashAndCheck(t *testing.T) {
	cheap := Params{Memory: 64, Time: 1, Threads: 1}
	h, err := HashWith("correct horse battery", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("unexpected encoding %q", h)
	}
	if ok, err := Check(h, "correct horse battery"); err != nil || !ok {
		t.Fatalf("Check(right) = %v, %v; want true", ok, err)
	}
	if ok, err := Check(h, "correct horse batterz"); err != nil || ok {
		t.Fatalf("Check(wrong) = %v, %v; want false", ok, err)
	}
	h2, _ := HashWith("correct horse battery", cheap)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestCheckMalformed(t *testing.T) {
	for _, enc := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$",
	} {
		if ok, err := Check(enc, "x"); err == nil || ok {
			t.Errorf("Check(%q) = %v, %v; want ErrMalformed", enc, ok, err)
		}
	}
}

func FuzzCheck(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "pw")
	f.Fuzz(func(t *testing.T, enc, pw string) {
		Check(enc, pw) // must not panic or allocate without bound
	})
}
