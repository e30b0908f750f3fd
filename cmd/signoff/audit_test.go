package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
)

// TestSignoffProcess is not a test: the exit-code tests run the test binary
// again with SIGNOFF_TEST_PROCESS=1, and this runs main() in it with the
// arguments after "--", so the child exits as signoff would.
func TestSignoffProcess(t *testing.T) {
	if os.Getenv("SIGNOFF_TEST_PROCESS") != "1" {
		t.Skip("helper for the exit-code tests; runs only in a child process")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Args = append([]string{"signoff"}, args...)
	main()
	os.Exit(0)
}

// signoffRun is one run of the signoff binary.
type signoffRun struct {
	code           int
	stdout, stderr string
}

// signoffExec runs signoff in a child process with env added to a clean
// environment, and returns its exit status and output.
func signoffExec(t *testing.T, env []string, args ...string) signoffRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestSignoffProcess$", "--"}, args...)...)
	cmd.Env = append([]string{"SIGNOFF_TEST_PROCESS=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"LOG_LEVEL=error"}, env...)
	var out, errOut bytes.Buffer
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

// oneLine fails unless s is exactly one line.
func oneLine(t *testing.T, what, s string) string {
	t.Helper()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Fatalf("%s: want one line, got %q", what, s)
	}
	return strings.TrimSuffix(s, "\n")
}

// testKey is the signing key the CLI tests configure.
var testKey = func() string {
	seed := sha256.Sum256([]byte("cli test signing key"))
	return base64.StdEncoding.EncodeToString(seed[:])
}()

func TestCLIExportAndVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	db, err := postgres.Open(ctx, url, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	team, err := audittest.NewTeam(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	d, err := audittest.Completed(ctx, db, team, audittest.Options{Notes: map[int]string{3: "Index build → 6 min 🚀"}})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(d.ID, 10)
	env := []string{"DATABASE_URL=" + url, "SIGNING_KEY=" + testKey}
	dir := t.TempDir()

	// signoff keys prints the public key; keep it as an auditor would.
	keys := signoffExec(t, env, "keys")
	pub, err := audit.ParsePublicKey(keys.stdout)
	if keys.code != 0 || err != nil || !strings.Contains(keys.stdout, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("keys: exit %d, %v\n%s%s", keys.code, err, keys.stdout, keys.stderr)
	}
	keyFile := filepath.Join(dir, "signoff.pub")
	os.WriteFile(keyFile, []byte(keys.stdout), 0o644)
	pubB64 := base64.StdEncoding.EncodeToString(pub)

	// Every format, to a file, with a one-line report.
	for format, magic := range map[string]string{"json": "{\"checkpoint\":{\"algorithm\":\"ed25519\"", "csv": "deployment_id,seq,at,",
		"pdf": "%PDF-", "md": "# VoxFlow Production Deployment Checklist\n"} {
		file := filepath.Join(dir, "d."+format)
		r := signoffExec(t, env, "export", id, "--format", format, "-o", file)
		line := oneLine(t, "export "+format, r.stdout)
		if r.code != 0 || !strings.HasPrefix(line, "wrote "+file+": "+format+" export of deployment "+id+" (voxflow-api v2.4.0 → production)") {
			t.Fatalf("export %s: exit %d %q %s", format, r.code, line, r.stderr)
		}
		b, _ := os.ReadFile(file)
		if !bytes.HasPrefix(b, []byte(magic)) {
			t.Fatalf("export %s starts %q", format, b[:min(len(b), 40)])
		}
	}
	// To standard output, the file and nothing else.
	r := signoffExec(t, env, "export", "--format", "json", id)
	file := filepath.Join(dir, "d.json")
	if r.code != 0 || !strings.HasPrefix(r.stdout, `{"checkpoint":`) || r.stderr != "" {
		t.Fatalf("export to stdout: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := audit.Verify([]byte(r.stdout), pub); err != nil {
		t.Fatalf("stdout export: %v", err)
	}

	// verify needs no database and no configuration: a broken one is
	// ignored.
	offline := []string{"LOG_LEVEL=shouting", "DATABASE_URL=postgres://nowhere.invalid/x"}
	for _, key := range []string{pubB64, keyFile} {
		r = signoffExec(t, offline, "verify", file, "--key", key)
		line := oneLine(t, "verify", r.stdout)
		if r.code != 0 || !strings.HasPrefix(line, "OK deployment "+id+" (voxflow-api v2.4.0 → production): ") ||
			!strings.Contains(line, "8 sign-offs match") || strings.Contains(line, "self-asserted") || r.stderr != "" {
			t.Fatalf("verify --key %s: exit %d %q %q", key, r.code, line, r.stderr)
		}
	}
	r = signoffExec(t, offline, "verify", file)
	if line := oneLine(t, "verify (no key)", r.stdout); r.code != 0 || !strings.Contains(line, "self-asserted") || !strings.Contains(line, audit.Fingerprint(pub)) {
		t.Fatalf("verify without a key: exit %d %q", r.code, line)
	}

	// Failures: exit 1, one line on stderr naming what is wrong.
	data, _ := os.ReadFile(file)
	tampered := filepath.Join(dir, "tampered.json")
	os.WriteFile(tampered, bytes.Replace(data, []byte(`\"state\":\"done\"`), []byte(`\"state\":\"open\"`), 1), 0o644)
	// Edited and signed again with the server's own key: the events give
	// it away.
	var doc audit.Document
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc.Deployment.Environment = "staging"
	seed, _ := base64.StdEncoding.DecodeString(testKey)
	serverKey, err := audit.SignerFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	resigned, err := audit.Seal(&doc, serverKey, doc.Checkpoint.SignedAt)
	if err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(dir, "edited.json")
	os.WriteFile(edited, resigned, 0o644)
	otherSeed := sha256.Sum256([]byte("someone else"))
	other, _ := audit.SignerFromSeed(otherSeed[:])
	otherB64 := base64.StdEncoding.EncodeToString(other.Public())
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"verify", tampered, "--key", pubB64}, 1, "signoff: verify " + tampered + ": FAILED: event 2: sha256 is not SHA-256(prev_sha256 ‖ payload): the event was changed"},
		{[]string{"verify", file, "--key", otherB64}, 1, "FAILED: signed by key " + audit.Fingerprint(pub) + ", not by the given key " + other.Fingerprint()},
		{[]string{"verify", edited, "--key", pubB64}, 1, "signoff: verify " + edited + `: FAILED: deployment.environment is "staging" in the record, but replaying the events gives "production"`},
		{[]string{"verify", filepath.Join(dir, "missing.json")}, 1, "signoff: verify " + filepath.Join(dir, "missing.json") + ": no such file"},
		{[]string{"verify", file, "--key", "not-a-key"}, 2, "--key: \"not-a-key\" is neither a readable file nor a public key"},
		{[]string{"verify"}, 2, "usage: signoff verify FILE.json"},
	} {
		r := signoffExec(t, offline, c.args...)
		line := oneLine(t, strings.Join(c.args, " "), r.stderr)
		if r.code != c.code || !strings.Contains(line, c.want) || r.stdout != "" {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, r.code, c.code, line, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export", "999999"}, 1, "Deployment 999999 not found."},
		{[]string{"export", id, "--format", "docx"}, 2, `unknown format "docx"`},
		{[]string{"export", "abc"}, 2, `"abc" is not a deployment id`},
		{[]string{"export", id, "-o", filepath.Join(dir, "no", "such", "dir.json")}, 1, "write "},
	} {
		r := signoffExec(t, env, c.args...)
		line := oneLine(t, strings.Join(c.args, " "), r.stderr)
		if r.code != c.code || !strings.Contains(line, c.want) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, r.code, c.code, line, c.want)
		}
	}
}

func TestSigningKeySources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Embedded default: generated once in DATA_DIR, mode 0600, then reused.
	dir := filepath.Join(t.TempDir(), "data")
	first, err := dataDirKey(dir, nil)
	if err != nil {
		t.Fatalf("embedded default: %v", err)
	}
	info, err := os.Stat(filepath.Join(dir, "signing.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("signing.key: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	again, err := dataDirKey(dir, first.Public())
	if err != nil || !again.Public().Equal(first.Public()) {
		t.Fatalf("second start got another key (%v)", err)
	}
	// A missing key file is not made again once exports were signed.
	other := filepath.Join(t.TempDir(), "data")
	if _, err := dataDirKey(other, first.Public()); err == nil || !strings.Contains(err.Error(), first.Fingerprint()) {
		t.Fatalf("a missing key file with a published key: %v; want a refusal naming the published key", err)
	}
	if _, err := os.Stat(filepath.Join(other, "signing.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a second key file was made: %v", err)
	}

	// DATABASE_URL and no key: one generated in DATA_DIR, never in the
	// database, shared by the server and the commands beside it; each
	// server publishes the key it signs with.
	url := pgtest.URL(t)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	dataDir := filepath.Join(t.TempDir(), "data")
	keyOf := func(server bool, env map[string]string) (*audit.Signer, error) {
		t.Helper()
		env["DATABASE_URL"] = url
		if env["DATA_DIR"] == "" {
			env["DATA_DIR"] = dataDir
		}
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		app := NewApp(cfg, logger)
		defer app.Close()
		if err := app.OpenDB(ctx, false); err != nil {
			t.Fatal(err)
		}
		if server {
			return app.serverSigner(ctx)
		}
		return app.Signer(ctx)
	}
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := func() postgres.SigningKeys {
		t.Helper()
		k, err := db.SigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	a, err := keyOf(true, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := keyOf(false, map[string]string{})
	if err != nil || !a.Public().Equal(b.Public()) || !a.Public().Equal(ed25519.PublicKey(stored().Published)) {
		t.Fatalf("a server and a command on one database and DATA_DIR do not share the key (%v)", err)
	}
	if k, err := dataDirKey(dataDir, a.Public()); err != nil || !k.Public().Equal(a.Public()) {
		t.Fatalf("the key is not DATA_DIR/signing.key: %v", err)
	}
	if stored().Seed != nil {
		t.Fatal("a key was kept in the database")
	}

	// A command with another key is refused: the server would not vouch
	// for what it signs.
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(testKey+"\n"), 0o600)
	if _, err := keyOf(false, map[string]string{"SIGNING_KEY_FILE": keyFile}); err == nil ||
		!strings.Contains(err.Error(), "SIGNING_KEY_FILE holds signing key") || !strings.Contains(err.Error(), a.Fingerprint()) {
		t.Fatalf("a command with another key: %v; want a refusal naming the server's key", err)
	}
	// A record signed before the rotation, for the check after it.
	team, err := audittest.NewTeam(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	d, err := audittest.Completed(ctx, db, team, audittest.Options{Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	oldRecord := filepath.Join(t.TempDir(), "before-rotation.json")
	if r := signoffExec(t, []string{"DATABASE_URL=" + url, "DATA_DIR=" + dataDir}, "export", strconv.FormatInt(d.ID, 10), "-o", oldRecord); r.code != 0 {
		t.Fatalf("export before the rotation: exit %d %s", r.code, r.stderr)
	}

	// A server given a key by its operator changes keys, and says so.
	rotated, err := keyOf(true, map[string]string{"SIGNING_KEY_FILE": keyFile})
	if err != nil || !rotated.Public().Equal(ed25519.PublicKey(stored().Published)) || !strings.Contains(logs.String(), "the audit signing key changed") {
		t.Fatalf("rotation to SIGNING_KEY_FILE: %v; published %x", err, stored().Published)
	}
	// A command or a server without the published key (a machine with
	// another DATA_DIR) is refused, and no other key is made or kept.
	for _, server := range []bool{false, true} {
		env := map[string]string{"DATA_DIR": filepath.Join(t.TempDir(), "elsewhere")}
		if _, err := keyOf(server, env); err == nil || !strings.Contains(err.Error(), rotated.Fingerprint()) || !strings.Contains(err.Error(), "SIGNING_KEY_FILE") {
			t.Fatalf("server %v without the published key: %v; want a refusal naming it and SIGNING_KEY_FILE", server, err)
		}
	}
	if s, err := keyOf(false, map[string]string{"SIGNING_KEY": testKey}); err != nil || !s.Public().Equal(rotated.Public()) {
		t.Fatalf("a command with the server's key: %v", err)
	}
	if !rotated.Public().Equal(ed25519.PublicKey(stored().Published)) {
		t.Fatal("a refused process changed the published key")
	}
	// Every key that signed stays listed, oldest first.
	history, err := db.SigningKeyHistory(ctx)
	if err != nil || len(history) != 2 || !history[0].PublicKey.Equal(a.Public()) || !history[1].PublicKey.Equal(rotated.Public()) {
		t.Fatalf("key history %v (%v); want the first key, then the rotated one", history, err)
	}
	// signoff keys lists the earlier key, and the record it signed still
	// verifies against it (and only against it).
	keys := signoffExec(t, []string{"DATABASE_URL=" + url, "SIGNING_KEY_FILE=" + keyFile}, "keys")
	if keys.code != 0 || !strings.Contains(keys.stdout, a.Fingerprint()) || !strings.Contains(keys.stdout, base64.StdEncoding.EncodeToString(a.Public())) {
		t.Fatalf("signoff keys after the rotation: exit %d; want the earlier key %s listed:\n%s%s", keys.code, a.Fingerprint(), keys.stdout, keys.stderr)
	}
	r := signoffExec(t, nil, "verify", oldRecord, "--key", base64.StdEncoding.EncodeToString(a.Public()))
	if line := oneLine(t, "verify the old record", r.stdout); r.code != 0 || !strings.HasPrefix(line, "OK deployment ") {
		t.Fatalf("a record signed before the rotation, with its key: exit %d %q %s", r.code, line, r.stderr)
	}
	r = signoffExec(t, nil, "verify", oldRecord, "--key", base64.StdEncoding.EncodeToString(rotated.Public()))
	if r.code != 1 || !strings.Contains(r.stderr, "not by the given key "+rotated.Fingerprint()) {
		t.Fatalf("the old record against the new key: exit %d %q", r.code, r.stderr)
	}
}

// A database that kept its signing key in app_secrets (before issue 14):
// commands may still sign with it, and the first server to start retires
// it, signing from then on with a key in DATA_DIR; the old key stays
// listed, and its seed is gone from the database.
func TestLegacySigningKeyRetired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seed, err := db.SigningSeed(ctx) // what an older server made
	if err != nil {
		t.Fatal(err)
	}
	legacy := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if err := db.PublishSigningKey(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	env := map[string]string{"DATABASE_URL": url, "DATA_DIR": filepath.Join(t.TempDir(), "data")}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	signer := func(server bool) *audit.Signer {
		t.Helper()
		app := NewApp(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		defer app.Close()
		if err := app.OpenDB(ctx, false); err != nil {
			t.Fatal(err)
		}
		get := app.Signer
		if server {
			get = app.serverSigner
		}
		s, err := get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := signer(false); !s.Public().Equal(legacy) || !strings.Contains(logs.String(), "kept in the database") {
		t.Fatalf("a command before the server retired the legacy key signs with %s; want %s and a warning", s.Fingerprint(), audit.Fingerprint(legacy))
	}
	fresh := signer(true)
	if fresh.Public().Equal(legacy) || !strings.Contains(logs.String(), "retiring the audit signing key") {
		t.Fatalf("the server kept the legacy key:\n%s", logs.String())
	}
	k, err := db.SigningKeys(ctx)
	if err != nil || k.Seed != nil || !fresh.Public().Equal(ed25519.PublicKey(k.Published)) {
		t.Fatalf("after retiring: seed %x, published %x (%v)", k.Seed, k.Published, err)
	}
	if s := signer(false); !s.Public().Equal(fresh.Public()) {
		t.Fatal("a command after the retirement does not sign with the new key")
	}
	history, err := db.SigningKeyHistory(ctx)
	if err != nil || len(history) != 2 || !history[0].PublicKey.Equal(legacy) {
		t.Fatalf("key history %v (%v); want the legacy key first", history, err)
	}
}

// A database no server has published a key for yet (a fresh one, or one
// from before keys were published) gets one key, not one per process.
func TestSigningKeyOfFreshDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	env := map[string]string{"DATABASE_URL": url, "DATA_DIR": filepath.Join(t.TempDir(), "data")}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var keys []*audit.Signer
	for range 2 {
		app := NewApp(cfg, slog.New(slog.DiscardHandler))
		if err := app.OpenDB(ctx, false); err != nil {
			t.Fatal(err)
		}
		k, err := app.Signer(ctx)
		app.Close()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if !keys[0].Public().Equal(keys[1].Public()) {
		t.Fatal("two commands on a fresh database made two keys")
	}
}
