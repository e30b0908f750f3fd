package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

// StoredSession is a session row. The id itself never reaches the
// database: rows are keyed by its SHA-256.
type StoredSession struct {
	UserID    int64
	Data      []byte
	ExpiresAt time.Time
	// Recorded when the session starts, for its owner's list of sessions.
	AuthMethod string // "password", "passkey" or "sso"
	UserAgent  string
	ClientIP   string
	LastSeenAt time.Time // read back only
}

func sessionKey(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// ErrSessionNotFound means the session does not exist or has expired.
var ErrSessionNotFound = errors.New("session not found")

// LoadSession returns a live session, or ErrSessionNotFound. A session of
// a deactivated person is treated as gone.
func (db *DB) LoadSession(ctx context.Context, id string) (*StoredSession, error) {
	var s StoredSession
	var uid *int64
	err := db.pool.QueryRow(ctx, `
		SELECT s.user_id, s.data, s.expires_at
		FROM sessions s
		LEFT JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = $1 AND s.expires_at > now()
		  AND (s.user_id IS NULL OR u.active)`, sessionKey(id)).Scan(&uid, &s.Data, &s.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrSessionNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	if uid != nil {
		s.UserID = *uid
	}
	return &s, nil
}

// SaveSession inserts or replaces a session.
func (db *DB) SaveSession(ctx context.Context, id string, s StoredSession) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO sessions (id_hash, user_id, data, expires_at, auth_method, user_agent, client_ip)
		VALUES ($1, $2, $3, $4, coalesce(nullif($5, ''), 'password'), left($6, 300), $7)
		ON CONFLICT (id_hash) DO UPDATE
		SET user_id = EXCLUDED.user_id, data = EXCLUDED.data, expires_at = EXCLUDED.expires_at`,
		sessionKey(id), nullID(s.UserID), s.Data, s.ExpiresAt, s.AuthMethod, s.UserAgent, s.ClientIP)
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// SessionChannel is the LISTEN/NOTIFY channel that carries "user id" when
// one of that person's sessions ends (a logout, a deactivation), so their
// open live streams on every instance check their own session at once.
const SessionChannel = "signoff_session"

// DeleteSession ends a session (logout) and tells every instance.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	_, err := db.pool.Exec(ctx, `
		WITH gone AS (DELETE FROM sessions WHERE id_hash = $1 RETURNING user_id)
		SELECT pg_notify('`+SessionChannel+`', user_id::text) FROM gone WHERE user_id IS NOT NULL`, sessionKey(id))
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpired removes expired sessions, old failed-attempt records and
// idempotency keys past their time.
func (db *DB) DeleteExpired(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, `
		WITH s AS (DELETE FROM sessions WHERE expires_at < now()),
		     k AS (DELETE FROM idempotency_keys WHERE created_at < now() - $2::interval)
		DELETE FROM auth_failures WHERE at < now() - $1::interval`, longestWindow, db.idempotencyTTL)
	if err != nil {
		return fmt.Errorf("delete expired sessions: %w", err)
	}
	return nil
}

// Secret returns the shared secret with the name, creating it with gen the
// first time. Every app instance gets the same value.
func (db *DB) Secret(ctx context.Context, name string, gen func() []byte) ([]byte, error) {
	var v []byte
	err := db.pool.QueryRow(ctx, `
		WITH ins AS (
		    INSERT INTO app_secrets (name, value) VALUES ($1, $2)
		    ON CONFLICT (name) DO NOTHING
		    RETURNING value
		)
		SELECT value FROM ins
		UNION ALL
		SELECT value FROM app_secrets WHERE name = $1
		LIMIT 1`, name, gen()).Scan(&v)
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", name, err)
	}
	return v, nil
}

// SessionUser reads a live session and its active person in one query:
// the read every signed-in request makes.
func (db *DB) SessionUser(ctx context.Context, id string) (*StoredSession, *signoff.User, error) {
	var s StoredSession
	u, err := scanUser(db.pool.QueryRow(ctx, `
		SELECT `+userColumns+`, s.data, s.expires_at, s.last_seen_at
		FROM sessions s
		JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = $1 AND s.expires_at > now() AND u.active`, sessionKey(id)), &s.Data, &s.ExpiresAt, &s.LastSeenAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, ErrSessionNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load session: %w", err)
	}
	s.UserID = u.ID
	return &s, u, nil
}
