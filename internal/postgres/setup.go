package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// SetupTokenTTL is how long the first-admin link stays valid.
const SetupTokenTTL = 24 * time.Hour

// CreateSetupToken returns a fresh one-time token for creating the first
// admin, or "" when people already exist. Only its hash is stored.
func (db *DB) CreateSetupToken(ctx context.Context) (string, error) {
	token := base64.RawURLEncoding.EncodeToString(randomToken(24))
	h := sha256.Sum256([]byte(token))
	tag, err := db.pool.Exec(ctx, `
		INSERT INTO setup_tokens (token_hash, expires_at)
		SELECT $1, now() + $2::interval
		WHERE NOT EXISTS (SELECT 1 FROM users)`, h[:], SetupTokenTTL)
	if err != nil {
		return "", fmt.Errorf("create setup token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return "", nil
	}
	return token, nil
}

// SetupTokenValid reports whether token can still create the first admin.
func (db *DB) SetupTokenValid(ctx context.Context, token string) (bool, error) {
	h := sha256.Sum256([]byte(token))
	var ok bool
	err := db.pool.QueryRow(ctx, `
		SELECT EXISTS (
		    SELECT 1 FROM setup_tokens
		    WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
		) AND NOT EXISTS (SELECT 1 FROM users)`, h[:]).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check setup token: %w", err)
	}
	return ok, nil
}

// SetupFirstAdmin spends the token and creates the first admin, atomically:
// two people racing the same link cannot both become admin.
func (db *DB) SetupFirstAdmin(ctx context.Context, token string, n signoff.NewUser) (*signoff.User, error) {
	n.IsAdmin = true
	if err := n.Validate(); err != nil {
		return nil, err
	}
	hash, err := db.hashPassword(n.Password)
	if err != nil {
		return nil, fmt.Errorf("setup first admin: %w", err)
	}
	h := sha256.Sum256([]byte(token))
	var u *signoff.User
	_, err = db.changeSystem(ctx, "setup first admin", func(tx pgx.Tx) (*signoff.Change, error) {
		// Locking the system chain first serialises concurrent setups.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM audit_system_chain FOR UPDATE`); err != nil {
			return nil, fmt.Errorf("setup first admin: lock: %w", err)
		}
		tag, err := tx.Exec(ctx, `
			UPDATE setup_tokens SET used_at = now()
			WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
			  AND NOT EXISTS (SELECT 1 FROM users)`, h[:])
		if err != nil {
			return nil, fmt.Errorf("setup first admin: spend token: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil, signoff.Errorf(signoff.EFORBIDDEN, "This setup link is invalid, expired or already used.")
		}
		// Written as every person is; the event below says it was the setup.
		id, _, err := insertUser(ctx, tx, n, hash, signoff.EventActor{})
		if err != nil {
			return nil, err
		}
		if u, err = readUser(ctx, tx, id); err != nil {
			return nil, err
		}
		ch := signoff.NewChange(
			signoff.EventActor{ID: id, Name: n.Name, Via: "web"}, signoff.UserTarget(id),
			&signoff.SetupAdminEvent{After: signoff.SetupAdminAfter{Email: n.Email, Name: n.Name, Admin: true, Setup: true}},
		)
		return &ch, nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// InviteTTL is how long an invitation link stays valid.
const InviteTTL = 7 * 24 * time.Hour

// Invite creates a person who has no usable password yet and returns a
// one-time link token with which they choose one. The person, their roles
// and the link are one transaction and one audit event.
func (db *DB) Invite(ctx context.Context, n signoff.NewUser, actor signoff.EventActor) (*signoff.User, string, error) {
	n.Password = base64.RawURLEncoding.EncodeToString(randomToken(32)) // never told to anyone
	if err := n.Validate(); err != nil {
		return nil, "", err
	}
	hash, err := db.hashPassword(n.Password)
	if err != nil {
		return nil, "", fmt.Errorf("invite: %w", err)
	}
	var u *signoff.User
	var token string
	_, err = db.changeSystem(ctx, "invite", func(tx pgx.Tx) (*signoff.Change, error) {
		id, after, err := insertUser(ctx, tx, n, hash, actor)
		if err != nil {
			return nil, err
		}
		if u, err = readUser(ctx, tx, id); err != nil {
			return nil, err
		}
		token, err = newInviteToken(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		after.Invited = true
		ch := signoff.NewChange(actor, signoff.UserTarget(id),
			&signoff.UserCreateEvent{After: after})
		return &ch, nil
	})
	if err != nil {
		return nil, "", err
	}
	return u, token, nil
}

// NewInviteToken issues a fresh invitation link for an existing, active
// person, replacing any earlier unused one, and records it.
func (db *DB) NewInviteToken(ctx context.Context, userID int64, actor signoff.EventActor) (string, error) {
	var token string
	_, err := db.changeSystem(ctx, "reissue invitation", func(tx pgx.Tx) (*signoff.Change, error) {
		var active bool
		err := tx.QueryRow(ctx, `SELECT active FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&active)
		if err != nil {
			return nil, notFound(fmt.Errorf("reissue invitation for user %d: %w", userID, err), "Person %d not found.", userID)
		}
		if !active {
			return nil, signoff.Errorf(signoff.ECONFLICT, "Person %d is deactivated; reactivate them before inviting them again.", userID)
		}
		token, err = newInviteToken(ctx, tx, userID)
		if err != nil {
			return nil, err
		}
		ch := signoff.NewChange(actor, signoff.UserTarget(userID),
			&signoff.UserInvitationEvent{After: signoff.UserInvitationAfter{Invitation: "issued"}})
		return &ch, nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// newInviteToken stores a fresh invitation link for userID in tx,
// replacing any earlier unused one, and returns its token (only the hash
// is stored).
func newInviteToken(ctx context.Context, tx pgx.Tx, userID int64) (string, error) {
	token := base64.RawURLEncoding.EncodeToString(randomToken(24))
	h := sha256.Sum256([]byte(token))
	_, err := tx.Exec(ctx, `
		WITH old AS (
		    DELETE FROM setup_tokens WHERE user_id = $2 AND purpose = 'invite' AND used_at IS NULL
		)
		INSERT INTO setup_tokens (token_hash, purpose, user_id, expires_at)
		VALUES ($1, 'invite', $2, now() + $3::interval)`, h[:], userID, InviteTTL)
	if err != nil {
		return "", fmt.Errorf("create invitation for user %d: %w", userID, err)
	}
	return token, nil
}

// InviteeName returns the name of the person an unused invitation is for.
func (db *DB) InviteeName(ctx context.Context, token string) (string, error) {
	h := sha256.Sum256([]byte(token))
	var name string
	err := db.pool.QueryRow(ctx, `
		SELECT u.name FROM setup_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND t.purpose = 'invite' AND t.used_at IS NULL
		  AND t.expires_at > now() AND u.active`, h[:]).Scan(&name)
	if err != nil {
		return "", notFound(fmt.Errorf("read invitation: %w", err), "This invitation link is invalid, expired or already used. Ask an admin for a new one.")
	}
	return name, nil
}

// AcceptInvite spends an invitation and sets the person's password.
func (db *DB) AcceptInvite(ctx context.Context, token, pw string) (*signoff.User, error) {
	h := sha256.Sum256([]byte(token))
	var email, name string
	err := db.pool.QueryRow(ctx, `
		SELECT u.email, u.name FROM setup_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND t.purpose = 'invite'`, h[:]).Scan(&email, &name)
	if err != nil {
		return nil, notFound(fmt.Errorf("accept invitation: %w", err), "This invitation link is invalid, expired or already used. Ask an admin for a new one.")
	}
	if err := signoff.ValidatePassword(pw, email, name); err != nil {
		return nil, err
	}
	hash, err := db.hashPassword(pw)
	if err != nil {
		return nil, fmt.Errorf("accept invitation: %w", err)
	}
	var u *signoff.User
	_, err = db.changeSystem(ctx, "accept invitation", func(tx pgx.Tx) (*signoff.Change, error) {
		var userID int64
		var name string
		err := tx.QueryRow(ctx, `
			WITH spent AS (
			    UPDATE setup_tokens SET used_at = now()
			    WHERE token_hash = $1 AND purpose = 'invite' AND used_at IS NULL AND expires_at > now()
			    RETURNING user_id
			)
			UPDATE users u SET password_hash = $2
			FROM spent WHERE u.id = spent.user_id AND u.active
			RETURNING u.id, u.name`, h[:], hash).Scan(&userID, &name)
		if err != nil {
			return nil, notFound(fmt.Errorf("accept invitation: %w", err), "This invitation link is invalid, expired or already used. Ask an admin for a new one.")
		}
		if u, err = readUser(ctx, tx, userID); err != nil {
			return nil, err
		}
		ch := signoff.NewChange(
			signoff.EventActor{ID: userID, Name: name, Via: "web"}, signoff.UserTarget(userID),
			&signoff.UserPasswordEvent{After: signoff.UserPasswordAfter{Password: "set from invitation"}},
		)
		return &ch, nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func randomToken(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
