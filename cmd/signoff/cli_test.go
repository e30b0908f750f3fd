package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/pgtest"
)

// cli runs the signoff command in-process against a database, as a shell
// user would, and returns its output and error.
func cli(t *testing.T, dbURL, stdin string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("DATABASE_URL", dbURL)
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), err
}

func TestCLITemplateImportExport(t *testing.T) {
	db := pgtest.URL(t)
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.md")
	os.WriteFile(seed, checklist.Seed, 0o644)

	out, err := cli(t, db, "", "template", "import", seed)
	if err != nil || !strings.Contains(out, "6 phases, 19 sections, 222 items, 8 sign-off slots, 6 note fields") {
		t.Fatalf("import seed: %q, %v", out, err)
	}
	out, err = cli(t, db, "", "template", "import", seed)
	if err != nil || !strings.HasPrefix(out, "unchanged") {
		t.Fatalf("re-import: %q, %v", out, err)
	}
	changed := filepath.Join(dir, "changed.md")
	os.WriteFile(changed, bytes.Replace(checklist.Seed, []byte("- [ ] Status page updated"), []byte("- [ ] Status page updated\n  - [ ] Incident channel opened"), 1), 0o644)
	out, err = cli(t, db, "", "template", "import", changed)
	if err != nil || !strings.Contains(out, "version 2") {
		t.Fatalf("changed import: %q, %v", out, err)
	}
	out, err = cli(t, db, "", "template", "export", "voxflow-production-deployment-checklist")
	if err != nil || !strings.Contains(out, "Incident channel opened") {
		t.Fatalf("export by slug: %v", err)
	}
	out, err = cli(t, db, "", "template", "export", "VoxFlow Production Deployment Checklist")
	if err != nil || !strings.Contains(out, "## Deployment Sign-off") {
		t.Fatalf("export by title: %v", err)
	}

	bad := filepath.Join(dir, "bad.md")
	os.WriteFile(bad, []byte("# Bad\n\n## Phase\n- [ ] one\n      - [ ] too deep\n"), 0o644)
	_, err = cli(t, db, "", "template", "import", bad)
	if err == nil || !strings.Contains(err.Error(), "line 5") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("bad import: %v; want one line naming line 5", err)
	}
	if _, err := cli(t, db, "", "template", "export", "no-such-template"); err == nil || !strings.Contains(err.Error(), "No template") {
		t.Fatalf("export unknown: %v", err)
	}
	if _, err := cli(t, db, "", "template", "import", filepath.Join(dir, "missing.md")); err == nil {
		t.Fatal("import of a missing file succeeded")
	}
}

func TestCLIUserAddAndMigrate(t *testing.T) {
	db := pgtest.URL(t)
	out, err := cli(t, db, "correct horse battery\n", "user", "add", "--email", "dana@example.com", "--name", "Dana Whitfield", "--role", "Database Administrator")
	if err != nil || !strings.Contains(out, "created user") {
		t.Fatalf("user add: %q, %v", out, err)
	}
	if _, err := cli(t, db, "correct horse battery\n", "user", "add", "--email", "DANA@example.com", "--name", "Dana Again"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate user: %v", err)
	}
	if _, err := cli(t, db, "short\n", "user", "add", "--email", "x@example.com", "--name", "X"); err == nil || !strings.Contains(err.Error(), "at least") {
		t.Fatalf("short password: %v", err)
	}
	if _, err := cli(t, db, "correct horse battery\n", "user", "add", "--email", "y@example.com", "--name", "Y", "--role", "Astronaut"); err == nil || !strings.Contains(err.Error(), "no role named") {
		t.Fatalf("unknown role: %v", err)
	}
	out, err = cli(t, db, "", "migrate", "status")
	if err != nil || !strings.Contains(out, "(clean)") {
		t.Fatalf("migrate status: %q, %v", out, err)
	}
	if _, err := cli(t, db, "", "nonsense"); err == nil {
		t.Fatal("unknown command succeeded")
	} else if _, ok := err.(usageError); !ok {
		t.Fatalf("unknown command: %T %v; want a usage error (exit 2)", err, err)
	}
}

func TestCLIDemo(t *testing.T) {
	db := pgtest.URL(t)
	out, err := cli(t, db, "", "demo")
	if err != nil || !strings.Contains(out, "5 deployments") || !strings.Contains(out, "auditor@example.com") {
		t.Fatalf("demo: %q, %v", out, err)
	}
	if _, err := cli(t, db, "", "demo"); err == nil || !strings.Contains(err.Error(), "already has deployments") {
		t.Fatalf("second demo: %v", err)
	}
}
