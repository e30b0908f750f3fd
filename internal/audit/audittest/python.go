package audittest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// PythonVerifier is the path of verifier/python/signoff_verify.py.
func PythonVerifier() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "verifier", "python", "signoff_verify.py")
}

// Python finds a python3 that has PyNaCl, or fails the test naming what
// to install: the independent verifier's tests never skip.
func Python(t testing.TB) string {
	t.Helper()
	var tried []string
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		if err := exec.Command(path, "-c", "import nacl.signing").Run(); err == nil {
			return path
		}
		tried = append(tried, path)
	}
	t.Fatalf("the independent verifier needs python3 with PyNaCl (apt-get install python3 python3-nacl); tried %v", tried)
	return ""
}

// PythonVerdicts runs the independent verifier over files (with extra
// arguments such as --key or --witness) and returns, per file, its line:
// "OK …" or "FAILED: …".
func PythonVerdicts(t testing.TB, files []string, args ...string) map[string]string {
	t.Helper()
	python := Python(t)
	cmd := exec.Command(python, append(append([]string{PythonVerifier(), "--batch"}, args...), files...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); err != nil && code != 1 {
		t.Fatalf("python verifier: %v\n%s", err, errOut.String())
	}
	verdicts := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSuffix(out.String(), "\n"), "\n") {
		name, verdict, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("python verifier printed %q", line)
		}
		verdicts[name] = verdict
	}
	if len(verdicts) != len(files) {
		t.Fatalf("python verifier judged %d files of %d\n%s", len(verdicts), len(files), errOut.String())
	}
	return verdicts
}

// WriteFiles writes each named content into dir and returns their paths,
// in order.
func WriteFiles(t testing.TB, dir string, files map[string][]byte) []string {
	t.Helper()
	var paths []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}
