package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/audit/audittest"
	"github.com/signoff/signoff/internal/password"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
	"github.com/signoff/signoff/migrations"
)

func TestMain(m *testing.M) {
	// Cheap hashes: signing re-checks a password eight times per deployment.
	pgtest.Main(m, pgtest.HashFS(migrations.FS), postgres.Migrate)
}

// cheapPasswords makes hashing cheap: the tests check behaviour, not
// argon2's cost.
var cheapPasswords = password.Params{Memory: 64, Time: 1, Threads: 1}

// testSigner is the server key of the tests; otherSigner is someone else's.
var (
	testSigner  = signerFrom("signoff audit test key")
	otherSigner = signerFrom("somebody else's key")
)

func signerFrom(phrase string) *audit.Signer {
	seed := sha256.Sum256([]byte(phrase))
	s, err := audit.SignerFromSeed(seed[:])
	if err != nil {
		panic(err)
	}
	return s
}

// exportTime is when the tests' exports are made.
var exportTime = time.Date(2026, 11, 20, 16, 30, 0, 0, time.UTC)

// Text that has tripped exporters before: arrows, emoji, quotes, a formula.
const (
	unicodeNote = "Index build → ~6 min on prod 🚀; “quoted” — naïve café ✓"
	formulaNA   = "=HYPERLINK(\"http://evil.example\",\"click\") not needed 😀"
)

// signedDeployment builds a completed, locked deployment through the store
// and returns the store and its record.
func signedDeployment(t testing.TB, o audittest.Options) (*postgres.DB, *signoff.Record) {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.SetLogKey(ctx, testSigner.PrivateKey(), "signoff.test/audit-log", nil); err != nil {
		t.Fatal(err)
	}
	team, err := audittest.NewTeam(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if o.Notes == nil {
		o.Notes = map[int]string{1: "2026-11-20", 3: unicodeNote}
	}
	if o.NAReason == "" {
		o.NAReason = formulaNA
	}
	d, err := audittest.Completed(ctx, db, team, o)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Locked() || d.Status != signoff.StatusCompleted {
		t.Fatalf("deployment %d is %s, locked %v; want completed and locked", d.ID, d.Status, d.Locked())
	}
	if _, err := db.AddComment(ctx, d.ID, "1.1.1.1", "comment after lock", team.As("DevOps Lead")); err == nil {
		t.Fatal("a locked deployment took a comment")
	}
	rec, err := db.SignedRecord(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	return db, rec
}

// exportJSON is the record's signed JSON export.
func exportJSON(t testing.TB, rec *signoff.Record) []byte {
	t.Helper()
	b, err := audit.JSON(rec, testSigner, exportTime)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustVerify(t testing.TB, file []byte, key ed25519.PublicKey) *audit.Result {
	t.Helper()
	res, err := audit.Verify(file, key)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return res
}
