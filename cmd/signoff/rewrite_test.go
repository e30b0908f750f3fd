package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/internal/transparency"
)

// roleURL is the embedded cluster's URL for one of its roles.
func roleURL(t *testing.T, dataDir, role string) string {
	t.Helper()
	pw, err := os.ReadFile(filepath.Join(dataDir, "postgres", role+".password"))
	if err != nil {
		t.Fatal(err)
	}
	port, err := os.ReadFile(filepath.Join(dataDir, "postgres", "postgres.port"))
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(role, strings.TrimSpace(string(pw))),
		Host: "127.0.0.1:" + strings.TrimSpace(string(port)), Path: "/signoff", RawQuery: "sslmode=disable"}
	return u.String()
}

// Issue 14, shown end to end. A server on the default embedded setup and a
// witness run; a deployment is completed and exported. With the app's own
// credentials, no rewrite of the audit trail gets past PostgreSQL
// (permission denied). As the database's owner, the final signature's
// event is deleted with the trigger disabled (and its leaf, and the
// deployment unlocked): the witness refuses the next checkpoint (exit 3, a
// log line, its metric), the record exported again fails verify
// --witness, and the old export still verifies.
func TestHistoryRewriteIsCaught(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir := dataDirFor(t)
	wdir := filepath.Join(t.TempDir(), "witness")
	wkey := strings.TrimSpace(ok(t, nil, "witness", "key", "--state", wdir, "--name", "witness.test/w1").stdout)
	if _, err := transparency.ParseWitnessKey(wkey); err != nil {
		t.Fatalf("signoff witness key printed %q: %v", wkey, err)
	}
	srv := startServe(t, dataDir, "WITNESS_KEYS="+wkey)
	env := []string{"DATA_DIR=" + dataDir, "WITNESS_KEYS=" + wkey}

	// The app's runtime role, as the server connects.
	appURL := roleURL(t, dataDir, postgres.RuntimeRole)
	db, err := postgres.Open(ctx, appURL, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if risk, err := db.RewriteRisk(ctx); err != nil || risk.AtRisk() {
		t.Fatalf("the embedded runtime role could rewrite history: %+v (%v)", risk, err)
	}
	if body := string(get(t, srv.base+"/readyz")); body != "ready\n" {
		t.Fatalf("/readyz on the default setup: %q; want no warning", body)
	}
	team, err := audittest.NewTeam(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	d, err := audittest.Completed(ctx, db, team, audittest.Options{Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := db.DeploymentRecord(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	final := rec.Events[len(rec.Events)-1]
	if final.Action != signoff.ActSignoffSign || !d.Locked() {
		t.Fatalf("the deployment ends with %s, locked %v", final.Action, d.Locked())
	}

	// The app role cannot rewrite anything in the audit trail.
	for _, q := range []string{
		`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update`,
		`DELETE FROM audit_events WHERE deployment_id = $1`,
		`UPDATE audit_events SET payload = payload || ' ' WHERE deployment_id = $1`,
		`TRUNCATE audit_events CASCADE`,
		`DELETE FROM audit_log_entries WHERE chain = $1`,
		`UPDATE audit_log_hashes SET hashes = hashes`,
		`DELETE FROM audit_log_checkpoints`,
		`DELETE FROM audit_log_cosignatures`,
		`DELETE FROM audit_signing_keys`,
		`UPDATE audit_sealed_chains SET payloads = payloads`,
		`DELETE FROM audit_sealed_chains`,
		`DROP TABLE audit_events CASCADE`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = []any{d.ID}
		}
		_, err := db.Pool().Exec(ctx, q, args...)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || (pe.Code != "42501" && !strings.HasPrefix(pe.Message, "must be owner")) {
			t.Fatalf("as the app role, %s: %v; want permission denied", q, err)
		}
	}

	// The witness cosigns the log once it holds the final signature.
	pub, err := audit.ParsePublicKey(string(get(t, srv.base+"/.well-known/signoff-signing-key")))
	if err != nil {
		t.Fatal(err)
	}
	logKey := waitForLog(t, db, srv.base, pub, final)
	witness := func() signoffRun {
		return signoffExec(t, nil, "witness", "--once", "--log", srv.base, "--log-key", logKey, "--state", wdir)
	}
	if r := witness(); r.code != 0 {
		t.Fatalf("witness on an honest log: exit %d\n%s", r.code, r.stderr)
	}
	if keys := ok(t, env, "keys").stdout; !strings.Contains(keys, logKey) {
		t.Fatalf("signoff keys does not print the log's key %s:\n%s", logKey, keys)
	}
	dir := t.TempDir()
	oldFile := filepath.Join(dir, "old.json")
	ok(t, env, "export", itoa(d.ID), "-o", oldFile)
	if out := ok(t, nil, "verify", oldFile, "--witness", wkey).stdout; !strings.Contains(out, "cosigned by witness.test/w1") {
		t.Fatalf("verify --witness of the export: %q", out)
	}

	// A while after, the server has sealed the ended chain (one row of
	// audit_sealed_chains). As the owner of the tables, with the
	// append-only trigger disabled, the final signature's event is cut
	// from the seal (with its log entry), and the deployment is unlocked.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var sealed bool
		if err := db.Pool().QueryRow(ctx, `SELECT sealed_at IS NOT NULL FROM deployments WHERE id = $1`, d.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if sealed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not seal the completed deployment's chain")
		}
	}
	owner, err := pgx.Connect(ctx, roleURL(t, dataDir, postgres.OwnerRole))
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	tx, err := owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		q    string
		args []any
	}{
		{`ALTER TABLE audit_sealed_chains DISABLE TRIGGER audit_sealed_chains_append_only`, nil},
		{`DELETE FROM signoffs WHERE deployment_id = $1 AND audit_seq = $2`, []any{d.ID, final.Seq}},
		{`UPDATE audit_sealed_chains
		  SET events = events - 1, ids = ids[1:events - 1], leaves = leaves[1:events - 1],
		      head = audit_sealed_hash(deployment_id, events - 1),
		      payloads = array_to_string((string_to_array(payloads, E'\n'))[1:events - 1], E'\n')
		  WHERE deployment_id = $1 AND events = $2`, []any{d.ID, final.Seq}},
		{`UPDATE deployments SET audit_seq = $2 - 1, audit_head = audit_event_hash($1, $2 - 1),
		         status = 'live', completed_at = NULL, locked_at = NULL WHERE id = $1`, []any{d.ID, final.Seq}},
		{`ALTER TABLE audit_sealed_chains ENABLE TRIGGER audit_sealed_chains_append_only`, nil},
	} {
		if tag, err := tx.Exec(ctx, st.q, st.args...); err != nil || (strings.HasPrefix(st.q, "UPDATE") && tag.RowsAffected() != 1) {
			t.Fatalf("as the owner, %s: %v (%s)", st.q, err, tag)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Work goes on elsewhere: the server signs a new checkpoint, whose
	// chain heads say the deployment ends one event earlier.
	before := logSize(t, srv.base, pub)
	team2, err := db.CreateUser(ctx, signoff.NewUser{Email: "late@example.com", Name: "Late Comer", Password: audittest.Password}, signoff.EventActor{Name: "test", Via: "cli"})
	if err != nil || team2 == nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); logSize(t, srv.base, pub) == before; {
		if time.Now().After(deadline) {
			t.Fatal("no new checkpoint")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The witness refuses it, loudly.
	r := witness()
	if r.code != forkExit || !strings.Contains(r.stderr, "REFUSED") {
		t.Fatalf("witness after the rewrite: exit %d\n%s", r.code, r.stderr)
	}
	if prom, err := os.ReadFile(filepath.Join(wdir, "witness.prom")); err != nil || !strings.Contains(string(prom), "signoff_witness_refused_total 1") {
		t.Fatalf("witness.prom: %s (%v)", prom, err)
	}
	if r := witness(); r.code != forkExit {
		t.Fatalf("a witness that saw a fork ran again: exit %d", r.code)
	}

	// The record exported again no longer verifies; the old one does.
	newFile := filepath.Join(dir, "new.json")
	ok(t, env, "export", itoa(d.ID), "-o", newFile)
	for _, args := range [][]string{{"verify", newFile, "--witness", wkey}, {"verify", newFile}} {
		if r := signoffExec(t, nil, args...); r.code != 1 || !strings.Contains(r.stderr, "FAILED") {
			t.Fatalf("signoff %s after the rewrite: exit %d, %q", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if out := ok(t, nil, "verify", oldFile, "--witness", wkey, "--key", base64Key(pub)).stdout; !strings.HasPrefix(out, "OK deployment") {
		t.Fatalf("the old export: %q", out)
	}
	// The independent verifier agrees.
	py := audittest.PythonVerdicts(t, []string{oldFile, newFile}, "--key", base64Key(pub), "--witness", wkey)
	if !strings.HasPrefix(py[oldFile], "OK") || !strings.Contains(py[oldFile], "cosigned by witness.test/w1") || !strings.HasPrefix(py[newFile], "FAILED") {
		t.Fatalf("the Python verifier: old %q, new %q", py[oldFile], py[newFile])
	}
}

// waitForLog waits until a checkpoint of the server's log holds event ev,
// and returns the log's verifier key.
func waitForLog(t *testing.T, db *postgres.DB, base string, pub ed25519.PublicKey, ev signoff.Event) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var idx *int64
		err := db.Pool().QueryRow(context.Background(), `SELECT audit_log_leaf($1, $2)`, ev.DeploymentID, ev.Seq).Scan(&idx)
		if err == nil && idx != nil && logSize(t, base, pub) > *idx {
			body := get(t, base+"/.well-known/signoff-log/checkpoint")
			origin, _, _ := strings.Cut(string(body), "\n")
			key, _ := transparency.LogVerifierKey(origin, pub)
			return key
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log did not take event %d of deployment %d: %v", ev.Seq, ev.DeploymentID, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func logSize(t *testing.T, base string, pub ed25519.PublicKey) int64 {
	t.Helper()
	body := get(t, base+"/.well-known/signoff-log/checkpoint")
	origin, _, _ := strings.Cut(string(body), "\n")
	v, _ := transparency.NewLogVerifier(origin, pub)
	c, _, err := transparency.Open(body, v)
	if err != nil {
		t.Fatal(err)
	}
	return c.Size
}

func base64Key(pub ed25519.PublicKey) string { return audit.PublicKeyInfo(pub).PublicKey }

// A server given a DATABASE_URL whose role could rewrite history (here a
// superuser, as many first setups are) serves, and says so: in its log at
// start and on /readyz, which stays ready.
func TestServeAsARoleThatCouldRewriteHistoryWarns(t *testing.T) {
	t.Parallel()
	srv := startServe(t, t.TempDir(), "DATABASE_URL="+pgtest.URL(t), "LOG_LEVEL=info")
	body := string(get(t, srv.base+"/readyz"))
	if !strings.HasPrefix(body, "ready\n") || !strings.Contains(body, "warning: the app connects to PostgreSQL as postgres (a superuser)") {
		t.Fatalf("/readyz as a superuser: %q; want ready and the warning", body)
	}
	if !strings.Contains(srv.logs.String(), "can disable the audit log's protections and rewrite history") {
		t.Fatalf("no warning in the start-up log:\n%s", srv.logs.String())
	}
}
