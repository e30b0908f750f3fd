package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/pgtest"
)

// signoff fill adds deployments whose exports verify offline, and
// bench-scale times every operation against them; a bad count is a usage
// error that adds nothing.
func TestCLIFillAndBenchScale(t *testing.T) {
	db := pgtest.URL(t)
	t.Setenv("DATA_DIR", t.TempDir()) // the signing key it makes
	if _, err := cli(t, db, "", "fill", "-n", "0"); err == nil {
		t.Fatal("fill -n 0 was accepted")
	}
	out, err := cli(t, db, "", "fill", "-n", "12")
	if err != nil || !strings.HasPrefix(out, "added 12 deployments (") {
		t.Fatalf("fill: %q, %v", out, err)
	}
	file := filepath.Join(t.TempDir(), "1.json")
	if _, err := cli(t, db, "", "export", "1", "-o", file); err != nil {
		t.Fatalf("export: %v", err)
	}
	key, err := cli(t, db, "", "keys")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(keyFile, []byte(key), 0o600)
	if out, err := cli(t, db, "", "verify", file, "--key", keyFile); err != nil {
		t.Fatalf("verify a filled deployment: %q, %v", out, err)
	}
	out, err = cli(t, db, "", "bench-scale", "--runs", "1")
	if err != nil {
		t.Fatalf("bench-scale: %v", err)
	}
	for _, want := range []string{"12 deployments", "| list: newest 200 |", "| my sign-offs |", "| export: JSON, signed, with its log proof |"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench-scale's table lacks %q:\n%s", want, out)
		}
	}
}
