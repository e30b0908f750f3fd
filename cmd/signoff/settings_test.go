package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/config/configtest"
)

// Issue 10: every setting is checked before anything is created or
// started. A bad value of any variable stops `signoff serve` (and the
// commands) with exit 1 and one line naming the variable, and an empty
// DATA_DIR stays uncreated: no cluster, no migration, no setup link.
func TestServeRefusesBadSettings(t *testing.T) {
	t.Parallel()
	dataDir := dataDirFor(t)
	check := func(what string, env []string, name string, args ...string) {
		t.Helper()
		r := binaryExec(t, append([]string{"DATA_DIR=" + dataDir}, env...), args...)
		if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "signoff: ") || !strings.Contains(r.stderr, name) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and one line naming %s", what, r.code, r.stdout, r.stderr, name)
		}
		if _, err := os.Stat(dataDir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s created DATA_DIR %s (%v)", what, dataDir, err)
		}
	}

	check("ADDR=notanaddress signoff serve", []string{"ADDR=notanaddress"}, "ADDR", "serve")
	check("ADDR=notanaddress signoff", []string{"ADDR=notanaddress"}, "ADDR")
	for _, cmd := range [][]string{{"migrate", "status"}, {"token", "list"}, {"export", "1"}, {"keys"}, {"demo"}} {
		check("ADDR=notanaddress signoff "+strings.Join(cmd, " "), []string{"ADDR=notanaddress"}, "ADDR", cmd...)
	}
	for _, c := range configtest.BadSettings(t) {
		env := []string{c.Name + "=" + c.Value}
		for k, v := range c.Extra {
			env = append(env, k+"="+v)
		}
		check(strings.Join(env, " ")+" signoff serve", env, c.Name, "serve")
	}
}

// binaryExec runs the signoff binary itself (not the test binary, whose
// test set-up reads some of the same variables) with env added to a clean
// environment.
func binaryExec(t *testing.T, env []string, args ...string) signoffRun {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LOG_LEVEL=error"}, env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return signoffRun{code: code, stdout: out.String(), stderr: errOut.String()}
}
