package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

func TestAuditLogIsAppendOnlyInTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	tick(t, db, d, "1.2.1", signoff.ItemDone, alice)

	snapshot := func() string {
		t.Helper()
		var s string
		err := db.Pool().QueryRow(ctx, `
			SELECT string_agg(concat_ws('|', id, deployment_id, seq, at, actor_id, actor_name, action, target,
			                            payload, encode(prev_hash, 'hex'), encode(hash, 'hex')), E'\n' ORDER BY id)
			FROM audit_events`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := snapshot()
	if strings.Count(before, "\n") < 3 {
		t.Fatalf("too few events to test with:\n%s", before)
	}
	for _, q := range []string{
		`UPDATE audit_events SET actor_name = 'Mallory'`,
		`UPDATE audit_events SET payload = replace(payload, 'done', 'open') WHERE action = 'item.state'`,
		`DELETE FROM audit_events`,
		`DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events WHERE deployment_id IS NOT NULL)`,
		`TRUNCATE audit_events`,
		`TRUNCATE deployments CASCADE`,
	} {
		_, err := db.Pool().Exec(ctx, q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: error %v; want the database to refuse", q, err)
		}
		// TRUNCATE is refused before the trigger is asked: the
		// transparency log's tables refer to the events.
		truncatedLog := strings.HasPrefix(q, "TRUNCATE") && pe.Code == "0A000" && strings.Contains(pe.Message, "foreign key")
		if (pe.Code != "42501" || !strings.Contains(pe.Message, "append-only")) && !truncatedLog {
			t.Fatalf("%s: refused with %s %q; want 42501 append-only", q, pe.Code, pe.Message)
		}
	}
	if after := snapshot(); after != before {
		t.Fatalf("audit rows changed:\nbefore\n%s\nafter\n%s", before, after)
	}
	// Appending still works.
	tick(t, db, d, "1.2.2", signoff.ItemDone, alice)
	checkChain(t, db, d.ID)
	checkChain(t, db, 0)
}

func TestAuditFailedAppendRollsBackTheChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	// The audit event is refused (as a full disk or a broken constraint
	// would): it takes the change down with it, a leaf's and a parent's N/A.
	allow := refuseAuditEvents(t, db, signoff.ActItemState)
	_, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.2.1", State: signoff.ItemDone}, as(alice))
	if err == nil || signoff.ErrorCode(err) != signoff.EINTERNAL {
		t.Fatalf("tick with its audit event refused: %v", err)
	}
	if _, err := db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: "1.1.1", State: signoff.ItemNA, NAReason: "x"}, as(alice)); err == nil {
		t.Fatal("a parent's N/A with its audit event refused succeeded")
	}
	allow()
	got := reload(t, db, d)
	if got.AuditSeq != 1 || got.ChecklistRev != 0 || got.Status != signoff.StatusDraft {
		t.Fatalf("failed change left: seq %d rev %d status %s", got.AuditSeq, got.ChecklistRev, got.Status)
	}
	if it := item(t, db, d, "1.2.1"); it.State != signoff.ItemOpen || it.StateBy != nil {
		t.Fatalf("failed change left the item %+v", it)
	}
	checkChain(t, db, d.ID)
}

func TestAuditChainsArePerDeployment(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	alice := addUser(t, db, "Alice Chen")
	a := newSmallDeployment(t, db, alice, "service-a")
	b := newSmallDeployment(t, db, alice, "service-b")
	for i, p := range smallLeaves {
		tick(t, db, a, p, signoff.ItemDone, alice)
		if i%2 == 0 {
			tick(t, db, b, p, signoff.ItemDone, alice)
		}
	}
	ea, eb := checkChain(t, db, a.ID), checkChain(t, db, b.ID)
	if len(ea) != 1+len(smallLeaves) || len(eb) != 1+len(smallLeaves)/2 {
		t.Fatalf("chains of %d and %d events", len(ea), len(eb))
	}
	if string(ea[0].Hash) == string(eb[0].Hash) {
		t.Fatal("two deployments' first events hash alike")
	}
	checkChain(t, db, 0)
}

// docs/audit.md tells how to run the app as a role that owns nothing and
// may only append to and read the audit log. This follows it to the
// letter: an owner role that owns the database and the schema and runs the
// migrations, an app role given exactly the grants the document shows
// (read from the document itself), and then the app's ordinary work as
// that role, and the rewrites it must be refused.
func TestAuditLogAppendOnlyByPrivileges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	adminURL := emptyDatabase(t)
	// Roles belong to the whole server, which parallel tests share: unique
	// names, dropped when the test ends.
	suffix := randomHexString(t, 6)
	owner, app := "signoff_owner_"+suffix, "signoff_app_"+suffix
	ownerPw, appPw := randomHexString(t, 16), randomHexString(t, 16)
	admin := connectAs(t, adminURL)
	dbName := strings.TrimPrefix(mustParseURL(t, adminURL).Path, "/")
	execOrFail(t, admin, `CREATE ROLE `+quoteIdent(owner)+` LOGIN PASSWORD '`+ownerPw+`'`)
	execOrFail(t, admin, `CREATE ROLE `+quoteIdent(app)+` LOGIN PASSWORD '`+appPw+`'`)
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("drop roles: %v", err)
			return
		}
		defer c.Close(ctx)
		// One role at a time: DROP OWNED BY both at once trips over the
		// owner's default privileges that name the app role.
		o, a := quoteIdent(owner), quoteIdent(app)
		for _, q := range []string{`REASSIGN OWNED BY ` + o + ` TO CURRENT_USER`, `DROP OWNED BY ` + a, `DROP OWNED BY ` + o, `DROP ROLE ` + a + `, ` + o} {
			if _, err := c.Exec(ctx, q); err != nil {
				t.Errorf("drop roles: %s: %v", q, err)
				return
			}
		}
	})
	// The document's CREATE DATABASE … OWNER and ALTER SCHEMA, on the
	// test's own database.
	execOrFail(t, admin, `ALTER DATABASE `+quoteIdent(dbName)+` OWNER TO `+quoteIdent(owner))
	execOrFail(t, admin, `ALTER SCHEMA public OWNER TO `+quoteIdent(owner))
	admin.Close(ctx)

	ownerURL, appURL := withUser(t, adminURL, owner, ownerPw), withUser(t, adminURL, app, appPw)
	if err := postgres.Migrate(ctx, ownerURL); err != nil {
		t.Fatalf("migrate as the owner: %v", err)
	}
	grants := strings.NewReplacer("signoff_owner", quoteIdent(owner), "signoff_app", quoteIdent(app)).Replace(documentedGrants(t))
	ownerConn := connectAs(t, ownerURL)
	execOrFail(t, ownerConn, grants)

	// The app, as the app role: it starts (schema check included), and its
	// ordinary writes work: people, a template, a deployment ticked, noted,
	// commented, taken live and signed off to the final approval.
	db, err := postgres.Open(ctx, appURL, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.CheckSchema(ctx); err != nil {
		t.Fatalf("the app role cannot check the schema: %v", err)
	}
	if err := db.EnsureTemplate(ctx, checklist.Seed); err != nil {
		t.Fatalf("the app role cannot import the seed template: %v", err)
	}
	alice := addUser(t, db, "Alice Chen", "Deployment Engineer")
	dana := addUser(t, db, "Dana Whitfield", "Database Administrator")
	rachel := addUser(t, db, "Rachel Kim", "CTO/Technical Director")
	d := newSmallDeployment(t, db, alice, "voxflow-api")
	for _, p := range smallLeaves {
		tick(t, db, d, p, signoff.ItemDone, alice)
	}
	if _, err := db.SetNote(ctx, d.ID, 2, "Redeploy v0.9.9", as(alice)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddComment(ctx, d.ID, "1.2.1", "green", as(dana)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetStatus(ctx, d.ID, signoff.StatusLive, "", as(alice)); err != nil {
		t.Fatal(err)
	}
	mustSign(t, db, d, 1, alice)
	mustSign(t, db, d, 2, dana)
	mustSign(t, db, d, 3, rachel)
	if got := reload(t, db, d); !got.Locked() {
		t.Fatalf("deployment %d is %s, not locked", d.ID, got.Status)
	}
	evs := checkChain(t, db, d.ID)
	checkChain(t, db, 0)
	// The integrator, as the app role, logs the events and seals the
	// ended chain (seal_deployment runs as the owner, and does only that).
	logKey(t, db)
	if _, err := db.IntegrateLog(ctx); err != nil {
		t.Fatalf("the app role cannot integrate the log: %v", err)
	}
	if n, err := db.SealDeployments(ctx); err != nil || n != 1 {
		t.Fatalf("the app role sealed %d chains (%v); want the locked deployment's", n, err)
	}
	if sealed := checkChain(t, db, d.ID); len(sealed) != len(evs) {
		t.Fatalf("the chain had %d events and has %d sealed", len(evs), len(sealed))
	}

	// What the app role may not do to the audit log.
	for q, want := range map[string]string{
		`UPDATE audit_events SET actor_name = 'Mallory'`:                        "permission denied for table audit_events",
		`DELETE FROM audit_events WHERE deployment_id IS NOT NULL`:              "permission denied for table audit_events",
		`TRUNCATE audit_events`:                                                 "permission denied for table audit_events",
		`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update`:       "must be owner of table audit_events",
		`ALTER TABLE audit_events DISABLE TRIGGER ALL`:                          "must be owner of table audit_events",
		`DROP TRIGGER audit_events_no_update ON audit_events`:                   "must be owner of relation audit_events",
		`DROP TABLE audit_events CASCADE`:                                       "must be owner of table audit_events",
		`CREATE FUNCTION rewrite() RETURNS void LANGUAGE sql AS 'SELECT 1'`:     "permission denied for schema public",
		`ALTER FUNCTION audit_events_append_only() RENAME TO audit_events_gone`: "must be owner of function audit_events_append_only",
		// Evidence files back the record's SHA-256s: kept as added.
		`UPDATE evidence_files SET data = 'forged'`: "permission denied for table evidence_files",
		`DELETE FROM evidence_files`:                "permission denied for table evidence_files",
		// Sealed chains stay as sealed.
		`UPDATE audit_sealed_chains SET payloads = ''`: "permission denied for table audit_sealed_chains",
		`DELETE FROM audit_sealed_chains`:              "permission denied for table audit_sealed_chains",
	} {
		_, err := db.Pool().Exec(ctx, q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" || !strings.Contains(pe.Message, want) {
			t.Errorf("as the app role, %s: %v; want 42501 %q", q, err, want)
		}
	}
	if after := checkChain(t, db, d.ID); len(after) != len(evs) {
		t.Fatalf("the chain had %d events and now has %d", len(evs), len(after))
	}

	// Why the role matters: the owner can switch the trigger off (here in a
	// transaction that is rolled back).
	tx, err := ownerConn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update`); err != nil {
		t.Errorf("the owner could not disable the trigger (so the document's reason for a second role is wrong): %v", err)
	}
	tx.Rollback(ctx)
	ownerConn.Close(ctx)
}

// documentedGrants is the SQL block of docs/audit.md that grants the app
// role its privileges.
func documentedGrants(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range strings.Split(string(doc), "```sql\n")[1:] {
		sql, _, _ := strings.Cut(block, "```")
		if strings.Contains(sql, "REVOKE UPDATE, DELETE, TRUNCATE ON audit_events") {
			return sql
		}
	}
	t.Fatal("docs/audit.md has no SQL block granting the app role its privileges")
	return ""
}

func randomHexString(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func quoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

func mustParseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// withUser is the URL of the same database for another role.
func withUser(t *testing.T, raw, user, password string) string {
	t.Helper()
	u := mustParseURL(t, raw)
	u.User = url.UserPassword(user, password)
	return u.String()
}

func connectAs(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func execOrFail(t *testing.T, c *pgx.Conn, sql string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// The grants docs/audit.md shows are the ones the server applies.
func TestDocumentedGrantsAreTheServers(t *testing.T) {
	t.Parallel()
	if got := strings.TrimSpace(documentedGrants(t)); got != postgres.RuntimeGrantsSQL {
		t.Fatalf("docs/audit.md grants:\n%s\n\npostgres.RuntimeGrantsSQL:\n%s", got, postgres.RuntimeGrantsSQL)
	}
}
