package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

func TestCLITokens(t *testing.T) {
	dbURL := pgtest.URL(t)
	if _, err := cli(t, dbURL, "correct horse battery\n", "user", "add", "--email", "bot@example.com", "--name", "Pipeline Bot"); err != nil {
		t.Fatal(err)
	}

	secret, err := cli(t, dbURL, "", "token", "create", "--name", "github-actions", "--user", "BOT@example.com")
	secret = strings.TrimSpace(secret)
	if err != nil || !signoff.LooksLikeToken(secret) {
		t.Fatalf("token create: %q, %v; want the secret alone on stdout", secret, err)
	}
	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{PasswordCost: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, tok, err := db.AuthenticateToken(context.Background(), secret)
	if err != nil || u.Email != "bot@example.com" || tok.Name != "github-actions" || tok.CreatedBy != nil {
		t.Fatalf("the printed secret does not authenticate: %+v %+v %v", u, tok, err)
	}

	out, err := cli(t, dbURL, "", "token", "list")
	if err != nil || !strings.Contains(out, "github-actions") || !strings.Contains(out, secret[:12]+"…") ||
		strings.Contains(out, secret) || !strings.Contains(out, "active") {
		t.Fatalf("token list: %q, %v", out, err)
	}

	if _, err := cli(t, dbURL, "", "token", "create", "--name", "github-actions", "--user", "bot@example.com"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := cli(t, dbURL, "", "token", "create", "--name", "x", "--user", "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "no person") {
		t.Fatalf("unknown email: %v", err)
	}

	out, err = cli(t, dbURL, "", "token", "revoke", "1")
	if err != nil || !strings.Contains(out, "revoked token 1") {
		t.Fatalf("token revoke: %q, %v", out, err)
	}
	if _, _, err := db.AuthenticateToken(context.Background(), secret); signoff.ErrorCode(err) != signoff.EUNAUTHORIZED {
		t.Fatalf("a revoked token authenticates: %v", err)
	}
	if out, _ := cli(t, dbURL, "", "token", "list"); !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke: %q", out)
	}
	if _, err := cli(t, dbURL, "", "token", "revoke", "1"); err == nil || !strings.Contains(err.Error(), "already revoked") {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := cli(t, dbURL, "", "token", "revoke", "99"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown token: %v", err)
	}

	for _, args := range [][]string{{"token"}, {"token", "create", "--name", "x"}, {"token", "revoke", "abc"}, {"token", "list", "extra"}, {"token", "burn"}} {
		var ue usageError
		if _, err := cli(t, dbURL, "", args...); !errors.As(err, &ue) {
			t.Errorf("%v: %v; want a usage error", args, err)
		}
	}
}

// TestCLINeverSigns: there is no signing from a shell, with a token or not.
func TestCLINeverSigns(t *testing.T) {
	dbURL := pgtest.URL(t)
	for _, args := range [][]string{{"sign"}, {"sign", "--token", "sgf_" + strings.Repeat("A", 43), "--deployment", "1", "--slot", "1"}} {
		_, err := cli(t, dbURL, "", args...)
		if err == nil || !strings.Contains(err.Error(), "never sign") {
			t.Fatalf("%v: %v; want a refusal", args, err)
		}
	}
}
