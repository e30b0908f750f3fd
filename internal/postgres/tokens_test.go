package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

func addAdmin(t testing.TB, db *postgres.DB, name string) *signoff.User {
	t.Helper()
	u := addUser(t, db, name)
	if err := db.SetPermissions(context.Background(), u.ID, true, false, signoff.EventActor{Name: "test", Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	u.IsAdmin = true
	return u
}

func TestCreateTokenStoresOnlyTheHash(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	admin := addAdmin(t, db, "Ada Admin")
	bot := addUser(t, db, "Pipeline Bot")

	tok, secret, err := db.CreateToken(ctx, signoff.NewToken{Name: "  github-actions  ", UserID: bot.ID}, as(admin))
	if err != nil {
		t.Fatal(err)
	}
	if !signoff.LooksLikeToken(secret) || !strings.HasPrefix(secret, "sgf_") || len(secret) != 47 {
		t.Fatalf("secret %q does not look like a token", secret)
	}
	if tok.Name != "github-actions" || tok.User.ID != bot.ID || tok.Prefix != secret[:12] ||
		tok.CreatedBy == nil || tok.CreatedBy.ID != admin.ID || tok.LastUsedAt != nil || tok.Revoked() {
		t.Fatalf("token = %+v", tok)
	}

	// The table holds the SHA-256 of the secret and its display prefix;
	// the secret itself is nowhere in the database.
	var hash []byte
	var row string
	if err := db.Pool().QueryRow(ctx, `SELECT token_hash, t::text FROM api_tokens t WHERE id = $1`, tok.ID).Scan(&hash, &row); err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256([]byte(secret)); !bytes.Equal(hash, want[:]) {
		t.Fatalf("token_hash is not SHA-256 of the secret")
	}
	var leaks int
	if err := db.Pool().QueryRow(ctx, `
		SELECT (SELECT count(*) FROM api_tokens t WHERE t::text LIKE '%' || $1 || '%')
		     + (SELECT count(*) FROM audit_events WHERE payload LIKE '%' || $1 || '%')`, secret[12:]).Scan(&leaks); err != nil {
		t.Fatal(err)
	}
	if leaks != 0 {
		t.Fatalf("the secret is stored in %d rows", leaks)
	}

	// Creating a token is a system-chain audit event naming the admin.
	events, err := db.Events(ctx, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Action != signoff.ActTokenCreate || last.Actor.ID != admin.ID || !strings.Contains(last.Payload, `"name":"github-actions"`) {
		t.Fatalf("last system event = %+v", last)
	}

	list, err := db.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != tok.ID || list[0].User.Name != "Pipeline Bot" {
		t.Fatalf("tokens = %+v", list)
	}
}

func TestCreateTokenRefusals(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	admin := addAdmin(t, db, "Ada Admin")
	bot := addUser(t, db, "Pipeline Bot")
	gone := addUser(t, db, "Gone Person")
	if err := db.SetActive(ctx, gone.ID, false, as(admin)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateToken(ctx, signoff.NewToken{Name: "ci", UserID: bot.ID}, as(admin)); err != nil {
		t.Fatal(err)
	}
	before, _ := db.Events(ctx, 0, 0, 0)

	_, _, err := db.CreateToken(ctx, signoff.NewToken{Name: " ", UserID: bot.ID}, as(admin))
	wantCode(t, err, signoff.EINVALID)
	_, _, err = db.CreateToken(ctx, signoff.NewToken{Name: "x", UserID: 0}, as(admin))
	wantCode(t, err, signoff.EINVALID)
	_, _, err = db.CreateToken(ctx, signoff.NewToken{Name: "x", UserID: 9999}, as(admin))
	wantCode(t, err, signoff.ENOTFOUND)
	_, _, err = db.CreateToken(ctx, signoff.NewToken{Name: "x", UserID: gone.ID}, as(admin))
	wantCode(t, err, signoff.ECONFLICT)
	_, _, err = db.CreateToken(ctx, signoff.NewToken{Name: "CI", UserID: bot.ID}, as(admin))
	wantCode(t, err, signoff.ECONFLICT) // names are unique among standing tokens

	after, _ := db.Events(ctx, 0, 0, 0)
	if len(after) != len(before) {
		t.Fatalf("refused requests wrote %d events", len(after)-len(before))
	}
	list, _ := db.Tokens(ctx)
	if len(list) != 1 {
		t.Fatalf("refused requests created tokens: %d", len(list))
	}
}

func TestAuthenticateToken(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	admin := addAdmin(t, db, "Ada Admin")
	bot := addUser(t, db, "Pipeline Bot", "Deployment Engineer")
	tok, secret, err := db.CreateToken(ctx, signoff.NewToken{Name: "ci", UserID: bot.ID}, as(admin))
	if err != nil {
		t.Fatal(err)
	}

	u, got, err := db.AuthenticateToken(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != bot.ID || !u.HasRole("Deployment Engineer") || got.ID != tok.ID {
		t.Fatalf("authenticated as %+v with %+v", u, got)
	}
	if a := got.Actor(u); a.ID != bot.ID || a.Via != "api" || a.Name != "Pipeline Bot (token ci)" {
		t.Fatalf("actor = %+v", a)
	}

	// Wrong, malformed and near-miss secrets are refused.
	for _, bad := range []string{"", "sgf_", "Bearer " + secret, secret + "x", secret[:len(secret)-1] + "A", strings.ToUpper(secret),
		"sgf_" + strings.Repeat("!", 43)} {
		if bad == secret {
			continue
		}
		_, _, err := db.AuthenticateToken(ctx, bad)
		wantCode(t, err, signoff.EUNAUTHORIZED)
	}

	// A deactivated person's tokens stop at once; reactivating restores
	// them (revoke a token to end it for good).
	if err := db.SetActive(ctx, bot.ID, false, as(admin)); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.AuthenticateToken(ctx, secret)
	wantCode(t, err, signoff.EUNAUTHORIZED)
	if err := db.SetActive(ctx, bot.ID, true, as(admin)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AuthenticateToken(ctx, secret); err != nil {
		t.Fatalf("after reactivation: %v", err)
	}

	// Revoked tokens are refused for good.
	if err := db.RevokeToken(ctx, tok.ID, as(admin)); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.AuthenticateToken(ctx, secret)
	wantCode(t, err, signoff.EUNAUTHORIZED)
	if !strings.Contains(signoff.ErrorMessage(err), "revoked") {
		t.Fatalf("message %q does not say the token was revoked", signoff.ErrorMessage(err))
	}
}

func TestTokenLastUsedAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	admin := addAdmin(t, db, "Ada Admin")
	tok, secret, err := db.CreateToken(ctx, signoff.NewToken{Name: "ci", UserID: admin.ID}, as(admin))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AuthenticateToken(ctx, secret); err != nil {
		t.Fatal(err)
	}
	first, _ := db.Token(ctx, tok.ID)
	if first.LastUsedAt == nil {
		t.Fatal("last_used_at not set by first use")
	}
	if _, _, err := db.AuthenticateToken(ctx, secret); err != nil {
		t.Fatal(err)
	}
	second, _ := db.Token(ctx, tok.ID)
	if !second.LastUsedAt.Equal(*first.LastUsedAt) {
		t.Fatalf("last_used_at moved within a minute: %v -> %v", first.LastUsedAt, second.LastUsedAt)
	}
	// Pretend the last use was two minutes ago: the next use records itself.
	if _, err := db.Pool().Exec(ctx, `UPDATE api_tokens SET last_used_at = now() - interval '2 minutes' WHERE id = $1`, tok.ID); err != nil {
		t.Fatal(err)
	}
	aged, _ := db.Token(ctx, tok.ID)
	if _, _, err := db.AuthenticateToken(ctx, secret); err != nil {
		t.Fatal(err)
	}
	third, _ := db.Token(ctx, tok.ID)
	if !third.LastUsedAt.After(*aged.LastUsedAt) {
		t.Fatalf("last_used_at not refreshed after a minute: %v -> %v", aged.LastUsedAt, third.LastUsedAt)
	}
}

func TestRevokeToken(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	admin := addAdmin(t, db, "Ada Admin")
	tok, _, err := db.CreateToken(ctx, signoff.NewToken{Name: "ci", UserID: admin.ID}, as(admin))
	if err != nil {
		t.Fatal(err)
	}
	cli := signoff.EventActor{Name: "root (cli)", Via: "cli"}
	if err := db.RevokeToken(ctx, tok.ID, cli); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Token(ctx, tok.ID)
	if !got.Revoked() || got.RevokedBy != nil {
		t.Fatalf("revoked from the CLI: %+v", got)
	}
	events, _ := db.Events(ctx, 0, 0, 0)
	last := events[len(events)-1]
	if last.Action != signoff.ActTokenRevoke || last.Target != "token/"+strconv.FormatInt(tok.ID, 10) || last.Actor.Name != "root (cli)" {
		t.Fatalf("last system event = %+v", last)
	}

	wantCode(t, db.RevokeToken(ctx, tok.ID, as(admin)), signoff.ECONFLICT)
	wantCode(t, db.RevokeToken(ctx, 9999, as(admin)), signoff.ENOTFOUND)
	if again, _ := db.Events(ctx, 0, 0, 0); len(again) != len(events) {
		t.Fatalf("refused revocations wrote events")
	}

	// The name is free again once the token is revoked.
	if _, _, err := db.CreateToken(ctx, signoff.NewToken{Name: "ci", UserID: admin.ID}, as(admin)); err != nil {
		t.Fatalf("reuse a revoked token's name: %v", err)
	}
	list, _ := db.Tokens(ctx)
	if len(list) != 2 || list[0].Revoked() || !list[1].Revoked() {
		t.Fatalf("standing tokens should list first: %+v", list)
	}
}
