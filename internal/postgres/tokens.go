package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// tokenPrefixLen is how much of a secret is kept in clear for display:
// "sgf_" and 8 random characters (48 of its 256 bits).
const tokenPrefixLen = len(signoff.TokenPrefix) + 8

// TokenTouchInterval is how stale last_used_at may get: authenticating
// writes it at most this often, so a busy pipeline does not write per call.
const TokenTouchInterval = time.Minute

func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateToken issues an API token acting as a person and records it on the
// system chain. The secret is returned here and never again: only its hash
// is stored.
func (db *DB) CreateToken(ctx context.Context, n signoff.NewToken, actor signoff.EventActor) (*signoff.Token, string, error) {
	if err := n.Validate(); err != nil {
		return nil, "", err
	}
	secret := signoff.TokenPrefix + base64.RawURLEncoding.EncodeToString(randomToken(32))

	var t *signoff.Token
	_, err := db.changeSystem(ctx, "create token", func(tx pgx.Tx) (*signoff.Change, error) {
		// Hold the person while the token is made, so a deactivation cannot
		// slip between the check and the insert.
		var userName, email string
		var active bool
		err := tx.QueryRow(ctx, `SELECT name, email, active FROM users WHERE id = $1 FOR SHARE`, n.UserID).
			Scan(&userName, &email, &active)
		if err != nil {
			return nil, notFound(fmt.Errorf("create token: read user %d: %w", n.UserID, err), "Person %d not found.", n.UserID)
		}
		if !active {
			return nil, signoff.Errorf(signoff.ECONFLICT, "%s is deactivated; a token acting as them would not work.", userName)
		}
		var id int64
		err = tx.QueryRow(ctx, `
			INSERT INTO api_tokens (name, user_id, token_hash, prefix, created_by)
			VALUES ($1, $2, $3, $4, $5)
			RETURNING id`, n.Name, n.UserID, tokenHash(secret), secret[:tokenPrefixLen], nullID(actor.ID)).Scan(&id)
		if isUniqueViolation(err, "api_tokens_name_key") {
			return nil, signoff.Errorf(signoff.ECONFLICT, "A token named %q already exists; choose another name or revoke that one first.", n.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("create token %q: %w", n.Name, err)
		}
		if t, err = readToken(ctx, tx, id); err != nil {
			return nil, err
		}
		ch := signoff.NewChange(actor, signoff.TokenTarget(id), &signoff.TokenCreateEvent{
			After: signoff.TokenCreateAfter{Name: n.Name, UserID: n.UserID, UserName: userName, Prefix: secret[:tokenPrefixLen]},
		})
		return &ch, nil
	})
	if err != nil {
		return nil, "", err
	}
	if t == nil { // an earlier form with the same key made it
		return nil, "", signoff.Errorf(signoff.ECONFLICT, "This form was already sent, and the token was created then; "+
			"its secret was shown once, in the answer to that. If you did not copy it, revoke the token and create another.")
	}
	return t, secret, nil
}

const tokenColumns = `
	t.id, t.name, t.user_id, u.name, u.email, t.prefix,
	t.created_by, c.name, t.created_at, t.last_used_at,
	t.revoked_at, t.revoked_by, r.name`

const tokenJoins = `
	FROM api_tokens t
	JOIN users u ON u.id = t.user_id
	LEFT JOIN users c ON c.id = t.created_by
	LEFT JOIN users r ON r.id = t.revoked_by`

func scanToken(row pgx.Row, extra ...any) (*signoff.Token, error) {
	var t signoff.Token
	var createdBy, revokedBy *int64
	var createdByName, revokedByName *string
	dest := []any{&t.ID, &t.Name, &t.User.ID, &t.User.Name, &t.UserEmail, &t.Prefix,
		&createdBy, &createdByName, &t.CreatedAt, &t.LastUsedAt,
		&t.RevokedAt, &revokedBy, &revokedByName}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	if createdBy != nil && createdByName != nil {
		t.CreatedBy = &signoff.UserRef{ID: *createdBy, Name: *createdByName}
	}
	if revokedBy != nil && revokedByName != nil {
		t.RevokedBy = &signoff.UserRef{ID: *revokedBy, Name: *revokedByName}
	}
	return &t, nil
}

// Token returns one token (never its secret).
func (db *DB) Token(ctx context.Context, id int64) (*signoff.Token, error) {
	return readToken(ctx, db.pool, id)
}

func readToken(ctx context.Context, q querier, id int64) (*signoff.Token, error) {
	t, err := scanToken(q.QueryRow(ctx, `SELECT `+tokenColumns+tokenJoins+` WHERE t.id = $1`, id))
	if err != nil {
		return nil, notFound(fmt.Errorf("token %d: %w", id, err), "Token %d not found.", id)
	}
	return t, nil
}

// Tokens lists every token, standing ones first, newest first.
func (db *DB) Tokens(ctx context.Context) ([]*signoff.Token, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+tokenColumns+tokenJoins+`
		ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC, t.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []*signoff.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken ends a token at once, for good, and records it.
func (db *DB) RevokeToken(ctx context.Context, id int64, actor signoff.EventActor) error {
	_, err := db.changeSystem(ctx, "revoke token", func(tx pgx.Tx) (*signoff.Change, error) {
		var name, prefix string
		var userID int64
		var revokedAt *time.Time
		err := tx.QueryRow(ctx, `
			SELECT name, prefix, user_id, revoked_at FROM api_tokens WHERE id = $1 FOR UPDATE`, id).
			Scan(&name, &prefix, &userID, &revokedAt)
		if err != nil {
			return nil, notFound(fmt.Errorf("revoke token %d: %w", id, err), "Token %d not found.", id)
		}
		if revokedAt != nil {
			return nil, signoff.Errorf(signoff.ECONFLICT, "Token %q was already revoked.", name)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1`, id, nullID(actor.ID)); err != nil {
			return nil, fmt.Errorf("revoke token %d: %w", id, err)
		}
		ch := signoff.NewChange(actor, signoff.TokenTarget(id), &signoff.TokenRevokeEvent{
			Before: signoff.TokenRevokeBefore{Name: name, UserID: userID, Prefix: prefix},
			After:  signoff.TokenRevokeAfter{Revoked: true},
		})
		return &ch, nil
	})
	return err
}

// AuthenticateToken returns the person a bearer token acts as, and the
// token. The secret is looked up by its SHA-256, so comparing it takes the
// same time whatever it is; unknown and revoked tokens, and tokens of
// deactivated people, are refused. last_used_at is written at most once a
// minute.
func (db *DB) AuthenticateToken(ctx context.Context, secret string) (*signoff.User, *signoff.Token, error) {
	if !signoff.LooksLikeToken(secret) {
		return nil, nil, signoff.Errorf(signoff.EUNAUTHORIZED, "This is not a Signoff API token.")
	}
	var us userScan
	t, err := scanToken(db.pool.QueryRow(ctx, `
		SELECT `+tokenColumns+`, `+userColumns+tokenJoins+`
		WHERE t.token_hash = $1`, tokenHash(secret)), us.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, signoff.Errorf(signoff.EUNAUTHORIZED, "This API token is not valid.")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("authenticate token: %w", err)
	}
	u := us.user()
	switch {
	case t.Revoked():
		return nil, nil, signoff.Errorf(signoff.EUNAUTHORIZED, "This API token was revoked.")
	case !u.Active:
		return nil, nil, signoff.Errorf(signoff.EUNAUTHORIZED, "The person this API token acts as is deactivated.")
	}
	if t.LastUsedAt == nil || time.Since(*t.LastUsedAt) >= TokenTouchInterval {
		// The clause repeats the check on the database's clock, so app
		// instances with skewed clocks still write once a minute at most.
		_, err := db.pool.Exec(ctx, `
			UPDATE api_tokens SET last_used_at = now()
			WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= now() - $2::interval)`,
			t.ID, TokenTouchInterval)
		if err != nil {
			return nil, nil, fmt.Errorf("authenticate token %d: touch: %w", t.ID, err)
		}
	}
	return u, t, nil
}
