package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/demo"
	"github.com/signoff/signoff/internal/embeddedpg"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/migrations"
)

// cli runs the signoff command in-process against a database, as a shell
// user would, and returns its output and error.
func cli(t *testing.T, dbURL, stdin string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("DATABASE_URL", dbURL)
	if os.Getenv("DATA_DIR") == "" {
		// A command that makes a signing key keeps it under DATA_DIR: never
		// in the package folder.
		t.Setenv("DATA_DIR", t.TempDir())
	}
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
	// Another file under the same title is not silently its next version.
	_, err = cli(t, db, "", "template", "import", changed)
	if err == nil || !strings.Contains(err.Error(), "already exists (version 1)") || !strings.Contains(err.Error(), "--new-version") {
		t.Fatalf("changed import without --new-version: %v", err)
	}
	out, err = cli(t, db, "", "template", "import", changed, "--new-version")
	if err != nil || !strings.HasPrefix(out, "imported VoxFlow Production Deployment Checklist (voxflow-production-deployment-checklist) version 2: 6 phases, 19 sections, 223 items") {
		t.Fatalf("changed import: %q, %v", out, err)
	}
	out, err = cli(t, db, "", "template", "export", "voxflow-production-deployment-checklist")
	if want, _ := os.ReadFile(changed); err != nil || out != string(want) {
		t.Fatalf("export by slug is not the file byte for byte: %v", err)
	}
	// A file without a title is named after the file.
	pr := filepath.Join(dir, "pull_request_template.md")
	os.WriteFile(pr, []byte("## Checklist\r\n\r\n- [ ] Tests\r\n    - [ ] Unit\r\n- [x] Docs\r\n\r\n## Sign-off\r\n\r\n- **Release Captain**: ___ Date: ___"), 0o644)
	out, err = cli(t, db, "", "template", "import", pr)
	if err != nil || !strings.HasPrefix(out, "imported Pull request template (pull-request-template) version 1: 1 phases, 1 sections, 3 items, 1 sign-off slots") {
		t.Fatalf("import without a title: %q, %v", out, err)
	}
	out, err = cli(t, db, "", "template", "export", "VoxFlow Production Deployment Checklist")
	if err != nil || !strings.Contains(out, "## Deployment Sign-off") {
		t.Fatalf("export by title: %v", err)
	}

	bad := filepath.Join(dir, "bad.md")
	os.WriteFile(bad, []byte("# Bad\n\n## Phase\n- [ ] one\n  - [ ] two\n    - [ ] three\n      - [ ] too deep\n"), 0o644)
	_, err = cli(t, db, "", "template", "import", bad)
	if err == nil || !strings.Contains(err.Error(), "line 7") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("bad import: %v; want one line naming line 7", err)
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

func TestCLIMigrateDownAndUp(t *testing.T) {
	db := pgtest.URL(t)
	newest := postgres.SchemaVersion()
	previous := previousVersion(t, newest)
	last := postgres.Pending(previous)
	if len(last) != 1 {
		t.Fatalf("migrations above %d: %v; want one", previous, last)
	}
	status := func(v uint, pending ...string) string {
		s := fmt.Sprintf("schema version %d (clean); this binary knows %d\n", v, newest)
		for _, p := range pending {
			s += "pending: " + p + "\n"
		}
		return s
	}
	// The shape the newest migration gives the log's hashes tells whether it is applied.
	newestTable := func() bool {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var exists bool
		if err := conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'audit_log_hashes' AND column_name = 'first_idx')`).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		return exists
	}
	if !strings.HasSuffix(last[0], "_log_hash_runs") {
		t.Fatalf("the newest migration is %s; update this test's check of what it creates", last[0])
	}

	out, err := cli(t, db, "", "migrate", "status")
	if err != nil || out != status(newest) {
		t.Fatalf("migrate status: %q, %v", out, err)
	}
	out, err = cli(t, db, "", "migrate", "down")
	if err != nil || out != status(previous, last[0]) {
		t.Fatalf("migrate down: %q, %v; want %q", out, err, status(previous, last[0]))
	}
	if newestTable() {
		t.Fatal("migrate down left the newest migration's index")
	}
	out, err = cli(t, db, "", "migrate", "status")
	if err != nil || out != status(previous, last[0]) {
		t.Fatalf("migrate status after down: %q, %v", out, err)
	}
	out, err = cli(t, db, "", "migrate", "up")
	if err != nil || out != status(newest) {
		t.Fatalf("migrate up: %q, %v", out, err)
	}
	if !newestTable() {
		t.Fatal("migrate up did not re-create the newest migration's index")
	}
	out, err = cli(t, db, "", "migrate", "up")
	if err != nil || out != status(newest) {
		t.Fatalf("migrate up when current: %q, %v", out, err)
	}
	for _, args := range [][]string{{"migrate"}, {"migrate", "sideways"}, {"migrate", "up", "down"}} {
		if _, err := cli(t, db, "", args...); err == nil {
			t.Fatalf("%v succeeded", args)
		} else if _, ok := err.(usageError); !ok {
			t.Fatalf("%v: %T %v; want a usage error (exit 2)", args, err, err)
		}
	}
}

// With no DATABASE_URL and no PostgreSQL server binaries the binary exits
// non-zero with one line saying how to install PostgreSQL or set
// DATABASE_URL, and leaves no data folder behind.
func TestCLINoPostgreSQLBinaries(t *testing.T) {
	dir := t.TempDir()
	emptyPath := filepath.Join(dir, "path")  // PATH: no PostgreSQL on it
	emptyBin := filepath.Join(dir, "pg-bin") // POSTGRES_BIN_DIR: none there either
	for _, d := range []string{emptyPath, emptyBin} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := filepath.Join(dir, "data")
	for _, args := range [][]string{nil, {"migrate", "status"}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, binary(t), args...)
		// A clean environment: nothing inherited names a database.
		cmd.Env = []string{"PATH=" + emptyPath, "HOME=" + dir, "DATA_DIR=" + dataDir,
			embeddedpg.BinDirEnv + "=" + emptyBin, "ADDR=127.0.0.1:0"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("signoff %v without PostgreSQL: %v; want exit status 1\nstdout: %s\nstderr: %s", args, err, &stdout, &stderr)
		}
		msg := stderr.String()
		if stdout.Len() != 0 || strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
			t.Fatalf("signoff %v without PostgreSQL: want one line on stderr and nothing on stdout, got stdout %q stderr %q", args, &stdout, msg)
		}
		for _, want := range []string{"signoff: ", "install PostgreSQL", "apt-get install postgresql", "DATABASE_URL", embeddedpg.BinDirEnv + "=" + emptyBin} {
			if !strings.Contains(msg, want) {
				t.Errorf("signoff %v without PostgreSQL: %q does not say %q", args, msg, want)
			}
		}
		if _, err := os.Stat(dataDir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("signoff %v without PostgreSQL left %s behind (%v)", args, dataDir, err)
		}
	}
}

func TestCLIDemo(t *testing.T) {
	dbURL := pgtest.URL(t)
	out, err := cli(t, dbURL, "", "demo")
	if err != nil || !strings.Contains(out, "deployments (completed, live, in progress, draft, aborted)") || !strings.Contains(out, "auditor@example.com") {
		t.Fatalf("demo: %q, %v", out, err)
	}
	if _, err := cli(t, dbURL, "", "demo"); err == nil || !strings.Contains(err.Error(), "already has deployments") {
		t.Fatalf("second demo: %v", err)
	}

	// What the summary promises is in the database.
	ctx := context.Background()
	db, err := postgres.Open(ctx, dbURL, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// The people, with their roles and permissions, and the printed password.
	people, err := db.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != len(demo.People) {
		t.Fatalf("%d people; the demo lists %d", len(people), len(demo.People))
	}
	holder := map[string]*signoff.User{}
	for _, p := range demo.People {
		if !strings.Contains(out, p.Email) {
			t.Errorf("the summary does not list %s", p.Email)
		}
		u, err := db.Authenticate(ctx, p.Email, demo.Password, "192.0.2.1")
		if err != nil {
			t.Fatalf("%s cannot sign in with the printed password: %v", p.Email, err)
		}
		var roles []string
		for _, r := range u.Roles {
			roles = append(roles, r.Name)
		}
		want := []string{}
		if p.Role != "" {
			want = []string{p.Role}
			holder[p.Role] = u
		}
		if u.Name != p.Name || u.IsAdmin != p.Admin || u.IsAuditor != p.Auditor || !u.Active || strings.Join(roles, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %+v; want %+v", p.Email, u, p)
		}
	}

	// One deployment in each promised state.
	deps, err := db.Deployments(ctx, signoff.DeploymentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	// Several in each state; the newest of each is the one the summary's
	// walk-through describes.
	byStatus, count := map[signoff.Status]*signoff.Deployment{}, map[signoff.Status]int{}
	for _, d := range deps {
		if byStatus[d.Status] == nil {
			byStatus[d.Status] = d
		}
		count[d.Status]++
	}
	for st, n := range count {
		if n < 2 {
			t.Errorf("%d demo deployments are %s; want several", n, st)
		}
	}
	for _, st := range []signoff.Status{signoff.StatusCompleted, signoff.StatusLive, signoff.StatusInProgress, signoff.StatusDraft, signoff.StatusAborted} {
		if byStatus[st] == nil {
			t.Fatalf("no demo deployment is %s (have %d deployments)", st, len(deps))
		}
	}
	if len(deps) != 13 || !strings.Contains(out, "13 deployments") {
		t.Fatalf("%d demo deployments; the summary says %q", len(deps), out[:60])
	}
	live, wip, draft, aborted := byStatus[signoff.StatusLive], byStatus[signoff.StatusInProgress], byStatus[signoff.StatusDraft], byStatus[signoff.StatusAborted]
	if live.WentLiveAt == nil || live.Locked() || live.Progress.Complete() || live.Progress.Resolved() <= wip.Progress.Resolved() || live.Signed != 0 {
		t.Errorf("live demo deployment: went live %v, locked %v, progress %+v (in progress has %+v), %d signed",
			live.WentLiveAt, live.Locked(), live.Progress, wip.Progress, live.Signed)
	}
	if wip.Progress.Resolved() == 0 || wip.Progress.NA == 0 || wip.Progress.Complete() {
		t.Errorf("in-progress demo deployment: progress %+v", wip.Progress)
	}
	if draft.Progress.Resolved() != 0 || draft.Signed != 0 {
		t.Errorf("draft demo deployment: progress %+v, %d signed", draft.Progress, draft.Signed)
	}
	if aborted.AbortedAt == nil {
		t.Errorf("aborted demo deployment has no abort time")
	}

	// The completed one: every item resolved, every slot signed by its
	// role holder with a signature still standing and fresh, locked, and
	// its export verifies offline.
	done, err := db.Deployment(ctx, byStatus[signoff.StatusCompleted].ID)
	if err != nil {
		t.Fatal(err)
	}
	if listed := byStatus[signoff.StatusCompleted]; !done.Locked() || done.CompletedAt == nil || !listed.Progress.Complete() || listed.Signed != 8 {
		t.Fatalf("completed demo deployment: locked %v, completed %v, progress %+v, %d signed", done.Locked(), done.CompletedAt, listed.Progress, listed.Signed)
	}
	slots, err := db.Slots(ctx, done.ID)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := db.Checklist(ctx, done)
	if err != nil {
		t.Fatal(err)
	}
	state := cl.StateHash(done.ID)
	if len(slots) != 8 {
		t.Fatalf("completed demo deployment has %d slots; want 8", len(slots))
	}
	for _, s := range slots {
		sig := s.Signature
		if sig == nil || s.State(done.ChecklistRev) != signoff.SlotSigned {
			t.Fatalf("slot %d (%s): %s", s.Position, s.Role, s.State(done.ChecklistRev))
		}
		if h := holder[s.Role]; h == nil || sig.Signer.ID != h.ID || sig.Signer.Name != h.Name || sig.Meaning != signoff.Meaning(s.Role) {
			t.Errorf("slot %d (%s) signed by %+v meaning %q", s.Position, s.Role, sig.Signer, sig.Meaning)
		}
		if !bytes.Equal(sig.ChecklistHash, state[:]) {
			t.Errorf("slot %d (%s) attests to %x; the checklist is %x", s.Position, s.Role, sig.ChecklistHash, state)
		}
	}
	sigs, err := db.Signatures(ctx, done.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sigs {
		if s.EndedAt != nil {
			t.Errorf("signature %d on slot %d ended: %s", s.ID, s.Slot, s.EndReason)
		}
	}
	if len(sigs) != 8 {
		t.Errorf("%d signatures ever given on the completed deployment; want 8", len(sigs))
	}
	_, err = db.SetItemState(ctx, done.ID, signoff.ItemChange{Path: cl.Items[len(cl.Items)-1].Path, State: signoff.ItemOpen},
		signoff.EventActor{ID: holder["Deployment Engineer"].ID, Name: "Alice Chen", Via: "web"})
	if signoff.ErrorCode(err) != signoff.ELOCKED {
		t.Errorf("a tick on the completed demo deployment: %v; want it refused as locked", err)
	}
	file := filepath.Join(t.TempDir(), "completed.json")
	if _, err := cli(t, dbURL, "", "export", fmt.Sprint(done.ID), "-o", file); err != nil {
		t.Fatalf("export the completed demo deployment: %v", err)
	}
	out, err = cli(t, dbURL, "", "verify", file)
	if err != nil || !strings.HasPrefix(out, "OK ") || !strings.Contains(out, "8 sign-offs match the checklist state they attest to") {
		t.Fatalf("verify the completed demo deployment: %q, %v", out, err)
	}
}

// The CLI warns, as the web preview does, about boxes ticked in the file
// and sign-off roles nobody holds; the summary line stays on stdout.
func TestCLITemplateImportWarns(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	file := filepath.Join(t.TempDir(), "release.md")
	os.WriteFile(file, []byte("# Release\n\n- [x] Tag\n\n## Sign-off\n\n| Role | Signature | Date |\n|---|---|---|\n| Release Captain | | |\n"), 0o644)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"template", "import", file}, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "imported Release (release) version 1: 1 phases, 1 sections, 1 items, 1 sign-off slots, 0 note fields\n") {
		t.Errorf("stdout %q", out.String())
	}
	for _, want := range []string{"line 3: 1 item is ticked in the file", `no role is named "Release Captain"`} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
}

// previousVersion is the migration before newest: one down from newest
// lands there (the numbers need not be consecutive).
func previousVersion(t *testing.T, newest uint) uint {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	var previous uint
	for _, name := range names {
		n, _, _ := strings.Cut(name, "_")
		if v, err := strconv.ParseUint(n, 10, 32); err == nil && uint(v) < newest && uint(v) > previous {
			previous = uint(v)
		}
	}
	return previous
}
