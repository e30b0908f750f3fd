package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// Changes people make to their own accounts, and the recovery an admin
// starts for them. Each is one transaction and one event on the system
// chain; none records a secret.

// ChangePassword changes a person's own password after checking their
// current one (counted against their own throttle, as at signing), and
// ends their other sessions: whoever knew the old password is out.
// keepSession is the id of the session asking, which stays.
func (db *DB) ChangePassword(ctx context.Context, userID int64, current, next, keepSession string, actor signoff.EventActor) error {
	u, err := db.User(ctx, userID)
	if err != nil {
		return err
	}
	if err := signoff.ValidatePassword(next, u.Email, u.Name); err != nil {
		return err
	}
	if err := db.CheckPassword(ctx, userID, current); err != nil {
		if signoff.ErrorCode(err) == signoff.EUNAUTHORIZED {
			return signoff.Errorf(signoff.EUNAUTHORIZED, "Your current password is wrong; nothing was changed.")
		}
		return err
	}
	hash, err := db.hashPassword(next)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	_, err = db.changeSystem(ctx, "change password", func(tx pgx.Tx) (*signoff.Change, error) {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash); err != nil {
			return nil, fmt.Errorf("change password of user %d: %w", userID, err)
		}
		if _, err := endSessions(ctx, tx, userID, keepSession, 0); err != nil {
			return nil, err
		}
		ch := signoff.NewChange(actor, signoff.UserTarget(userID),
			&signoff.UserPasswordEvent{After: signoff.UserPasswordAfter{Password: "changed"}})
		return &ch, nil
	})
	return err
}

// endSessions deletes userID's sessions in tx: the one numbered ref, or
// (ref 0) all but keep's; every instance is told, so live streams end.
func endSessions(ctx context.Context, tx pgx.Tx, userID int64, keep string, ref int64) (int, error) {
	tag, err := tx.Exec(ctx, `
		DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2 AND ($3 = 0 OR ref = $3)`,
		userID, sessionKey(keep), ref)
	if err != nil {
		return 0, fmt.Errorf("end sessions of user %d: %w", userID, err)
	}
	if tag.RowsAffected() > 0 {
		// Heard when the transaction commits.
		if _, err := tx.Exec(ctx, `SELECT pg_notify('`+SessionChannel+`', $1::bigint::text)`, userID); err != nil {
			return 0, fmt.Errorf("end sessions of user %d: notify: %w", userID, err)
		}
	}
	return int(tag.RowsAffected()), nil
}

// ResetTTL is how long a password reset link stays valid.
const ResetTTL = 24 * time.Hour

// IssueReset makes a one-time link with which an active person chooses a
// new password (they forgot theirs), replacing any earlier unused one, and
// records it; mailed says whether the link goes to them by mail. Only the
// token's hash is stored.
func (db *DB) IssueReset(ctx context.Context, userID int64, mailed bool, actor signoff.EventActor) (string, error) {
	token := base64.RawURLEncoding.EncodeToString(randomToken(24))
	h := sha256.Sum256([]byte(token))
	_, err := db.changeSystem(ctx, "issue reset link", func(tx pgx.Tx) (*signoff.Change, error) {
		var active bool
		err := tx.QueryRow(ctx, `SELECT active FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&active)
		if err != nil {
			return nil, notFound(fmt.Errorf("reset link for user %d: %w", userID, err), "Person %d not found.", userID)
		}
		if !active {
			return nil, signoff.Errorf(signoff.ECONFLICT, "This person is deactivated; reactivate them first.")
		}
		if _, err := tx.Exec(ctx, `
			WITH old AS (
			    DELETE FROM setup_tokens WHERE user_id = $2 AND purpose = 'reset' AND used_at IS NULL
			)
			INSERT INTO setup_tokens (token_hash, purpose, user_id, expires_at)
			VALUES ($1, 'reset', $2, now() + $3::interval)`, h[:], userID, ResetTTL); err != nil {
			return nil, fmt.Errorf("reset link for user %d: %w", userID, err)
		}
		ch := signoff.NewChange(actor, signoff.UserTarget(userID),
			&signoff.UserResetEvent{After: signoff.UserResetAfter{Reset: "issued", Mailed: mailed}})
		return &ch, nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// ResetFor returns the person an unused, unexpired reset link is for.
func (db *DB) ResetFor(ctx context.Context, token string) (*signoff.User, error) {
	h := sha256.Sum256([]byte(token))
	var id int64
	err := db.pool.QueryRow(ctx, `
		SELECT u.id FROM setup_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND t.purpose = 'reset' AND t.used_at IS NULL
		  AND t.expires_at > now() AND u.active`, h[:]).Scan(&id)
	if err != nil {
		return nil, notFound(fmt.Errorf("read reset link: %w", err), "This reset link is invalid, expired or already used. Ask an admin for a new one.")
	}
	return db.User(ctx, id)
}

// UseReset spends a reset link: the person's new password is set, every
// session of theirs ends (whoever was in with the old one is out), and
// their failed attempts are forgotten.
func (db *DB) UseReset(ctx context.Context, token, pw string) (*signoff.User, error) {
	u, err := db.ResetFor(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := signoff.ValidatePassword(pw, u.Email, u.Name); err != nil {
		return nil, err
	}
	hash, err := db.hashPassword(pw)
	if err != nil {
		return nil, fmt.Errorf("reset password: %w", err)
	}
	h := sha256.Sum256([]byte(token))
	_, err = db.changeSystem(ctx, "reset password", func(tx pgx.Tx) (*signoff.Change, error) {
		tag, err := tx.Exec(ctx, `
			WITH spent AS (
			    UPDATE setup_tokens SET used_at = now()
			    WHERE token_hash = $1 AND purpose = 'reset' AND used_at IS NULL AND expires_at > now()
			    RETURNING user_id
			)
			UPDATE users u SET password_hash = $2
			FROM spent WHERE u.id = spent.user_id AND u.id = $3 AND u.active`, h[:], hash, u.ID)
		if err != nil {
			return nil, fmt.Errorf("reset password of user %d: %w", u.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil, signoff.Errorf(signoff.ENOTFOUND, "This reset link is invalid, expired or already used. Ask an admin for a new one.")
		}
		if _, err := endSessions(ctx, tx, u.ID, "", 0); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `
			DELETE FROM auth_failures
			WHERE starts_with(key, 'acct:' || lower($1) || '|') OR key = 'sign:' || $2::bigint`, u.Email, u.ID); err != nil {
			return nil, fmt.Errorf("reset password of user %d: forget failures: %w", u.ID, err)
		}
		ch := signoff.NewChange(signoff.EventActor{ID: u.ID, Name: u.Name, Via: "web"}, signoff.UserTarget(u.ID),
			&signoff.UserPasswordEvent{After: signoff.UserPasswordAfter{Password: "reset"}})
		return &ch, nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// SessionInfo is one of a person's sessions as they see it.
type SessionInfo struct {
	Ref        int64
	AuthMethod string // "password", "passkey" or "sso"
	UserAgent  string
	ClientIP   string
	CreatedAt  time.Time
	LastSeenAt time.Time
	Current    bool // the session asking
}

// Sessions lists a person's live sessions, the one asking (current) first,
// then the most recently used.
func (db *DB) Sessions(ctx context.Context, userID int64, current string) ([]SessionInfo, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT ref, auth_method, user_agent, client_ip, created_at, last_seen_at, id_hash = $2
		FROM sessions
		WHERE user_id = $1 AND expires_at > now()
		ORDER BY id_hash = $2 DESC, last_seen_at DESC, ref DESC`, userID, sessionKey(current))
	if err != nil {
		return nil, fmt.Errorf("sessions of user %d: %w", userID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (SessionInfo, error) {
		var s SessionInfo
		err := r.Scan(&s.Ref, &s.AuthMethod, &s.UserAgent, &s.ClientIP, &s.CreatedAt, &s.LastSeenAt, &s.Current)
		return s, err
	})
}

// EndSessions ends a person's own sessions: the one numbered ref, or
// with ref 0 every one but current. The session asking is never ended
// this way (signing out does that).
func (db *DB) EndSessions(ctx context.Context, userID, ref int64, current string, actor signoff.EventActor) (int, error) {
	var n int
	_, err := db.changeSystem(ctx, "end sessions", func(tx pgx.Tx) (*signoff.Change, error) {
		var err error
		if n, err = endSessions(ctx, tx, userID, current, ref); err != nil {
			return nil, err
		}
		if n == 0 {
			if ref != 0 {
				return nil, signoff.Errorf(signoff.ENOTFOUND, "That session has ended already.")
			}
			return nil, nil // nothing to end, nothing to record
		}
		which := "others"
		if ref != 0 {
			which = "one"
		}
		ch := signoff.NewChange(actor, signoff.UserTarget(userID),
			&signoff.SessionEndEvent{After: signoff.SessionEndAfter{Ended: n, Which: which}})
		return &ch, nil
	})
	return n, err
}

// TouchSession records that a session is in use; the web layer calls it
// at most every few minutes per session.
func (db *DB) TouchSession(ctx context.Context, id string) error {
	if _, err := db.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = now() WHERE id_hash = $1`, sessionKey(id)); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}
