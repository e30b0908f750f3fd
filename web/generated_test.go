package web_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTemplGeneratedFilesAreCurrent fails when a .templ file was edited
// without running `go tool templ generate`: the committed *_templ.go files
// are what the binary is built from. It regenerates a copy of every .templ
// file in a scratch tree (so the working tree is never touched) and
// compares.
func TestTemplGeneratedFilesAreCurrent(t *testing.T) {
	root := ".."
	out, err := exec.Command("go", "tool", "-n", "templ").Output()
	if err != nil {
		t.Fatalf("find templ: %v (is it a tool in go.mod?)", err)
	}
	templ := strings.TrimSpace(string(out))
	scratch := t.TempDir()
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".templ") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, rel)
		b, _ := os.ReadFile(p)
		os.MkdirAll(filepath.Join(scratch, filepath.Dir(rel)), 0o755)
		return os.WriteFile(filepath.Join(scratch, rel), b, 0o644)
	})
	if len(files) == 0 {
		t.Fatal("no .templ files found")
	}
	cmd := exec.Command(templ, "generate", "-path", ".")
	cmd.Dir = scratch
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("templ generate: %v\n%s", err, msg)
	}
	for _, rel := range files {
		gen := strings.TrimSuffix(rel, ".templ") + "_templ.go"
		want, err := os.ReadFile(filepath.Join(scratch, gen))
		if err != nil {
			t.Fatalf("templ produced no %s: %v", gen, err)
		}
		got, err := os.ReadFile(filepath.Join(root, gen))
		if err != nil {
			t.Errorf("%s has no generated file: run `go tool templ generate`", rel)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s changed since generation: run `go tool templ generate` and commit the result", rel)
		}
	}
}
