package ui

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// sessionCookie is the cookie's name. The __Host- prefix (over HTTPS) tells
// browsers to refuse it from subdomains or without Secure.
func sessionCookie(secure bool) string {
	if secure {
		return "__Host-signoff"
	}
	return "signoff"
}

// sessionStore keeps gorilla sessions in PostgreSQL, so they survive
// restarts, are shared by every app instance, and end when a person is
// deactivated. The cookie carries only a signed random id.
type sessionStore struct {
	db     *postgres.DB
	codecs []securecookie.Codec
	opts   sessions.Options
	// clientIP is the address a session is recorded as started from.
	clientIP func(*http.Request) string
	logger   *slog.Logger
	// decoded keeps what cookies and stored values decoded to (signedIn).
	decoded decodedCookies
}

// touchEvery is how stale a session's "last used" may get before a
// request refreshes it: the list of sessions needs no finer grain, and
// most requests then write nothing.
const touchEvery = 5 * time.Minute

// Session values beside the person's id.
const (
	sessionAuth     = "auth"     // how the session was started: "password", "passkey" or "sso"
	sessionWebAuthn = "webauthn" // a passkey ceremony in flight (passkeys.go)
	sessionOIDC     = "oidc"     // a single sign-on in flight (sso.go)
)

func newSessionStore(db *postgres.DB, key []byte, ttl time.Duration, secure bool, clientIP func(*http.Request) string, logger *slog.Logger) *sessionStore {
	codec := securecookie.New(key, nil)
	codec.MaxAge(int(ttl.Seconds()))
	return &sessionStore{
		db:       db,
		clientIP: clientIP,
		logger:   logger,
		codecs:   []securecookie.Codec{codec},
		opts: sessions.Options{
			Path: "/", MaxAge: int(ttl.Seconds()), Secure: secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		},
	}
}

// Get returns the request's session, cached for the request.
func (s *sessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named in the cookie, or starts an empty one. A
// missing, tampered or expired cookie is not an error: it just means no
// session.
func (s *sessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	opts := s.opts
	sess.Options = &opts
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	var id string
	if err := securecookie.DecodeMulti(name, c.Value, &id, s.codecs...); err != nil {
		return sess, nil
	}
	stored, err := s.db.LoadSession(r.Context(), id)
	if errors.Is(err, postgres.ErrSessionNotFound) {
		return sess, nil
	}
	if err != nil {
		return sess, err
	}
	if err := securecookie.DecodeMulti(name, string(stored.Data), &sess.Values, s.codecs...); err != nil {
		return sess, nil
	}
	sess.ID = id
	sess.IsNew = false
	return sess, nil
}

var sessionIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Save writes the session and its cookie; MaxAge <= 0 deletes both.
func (s *sessionStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options.MaxAge <= 0 {
		if sess.ID != "" {
			if err := s.db.DeleteSession(r.Context(), sess.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	if sess.ID == "" {
		sess.ID = sessionIDEncoding.EncodeToString(securecookie.GenerateRandomKey(32))
	}
	data, err := securecookie.EncodeMulti(sess.Name(), sess.Values, s.codecs...)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	uid, _ := sess.Values["uid"].(int64)
	method, _ := sess.Values[sessionAuth].(string)
	err = s.db.SaveSession(r.Context(), sess.ID, postgres.StoredSession{
		UserID: uid, Data: []byte(data), ExpiresAt: time.Now().Add(time.Duration(sess.Options.MaxAge) * time.Second),
		AuthMethod: method, UserAgent: r.UserAgent(), ClientIP: s.clientIP(r),
	})
	if err != nil {
		return err
	}
	encoded, err := securecookie.EncodeMulti(sess.Name(), sess.ID, s.codecs...)
	if err != nil {
		return fmt.Errorf("encode session cookie: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, sess.Options))
	return nil
}

// rotate ends the old session and starts a fresh one for the signed-in
// user, so a session id planted before login is worth nothing after it.
func (s *sessionStore) rotate(ctx context.Context, sess *sessions.Session) error {
	if sess.ID != "" {
		if err := s.db.DeleteSession(ctx, sess.ID); err != nil {
			return err
		}
	}
	sess.ID = ""
	sess.IsNew = true
	return nil
}

// signedIn reads the request's session and person in one query, without
// gorilla's machinery: the path every signed-in request takes. It also
// says whether flash messages are waiting, so pages only go through the
// full session when there is something to show.
func (s *sessionStore) signedIn(r *http.Request, name string) (u *signoff.User, flashes bool, err error) {
	id := s.cookieID(r, name)
	if id == "" {
		return nil, false, nil
	}
	stored, u, err := s.db.SessionUser(r.Context(), id)
	if errors.Is(err, postgres.ErrSessionNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if flashes, err = s.storedFlashes(name, stored.Data); err != nil {
		return nil, false, nil
	}
	if time.Since(stored.LastSeenAt) > touchEvery {
		if err := s.db.TouchSession(r.Context(), id); err != nil {
			// The page is still right; only the session list is behind.
			s.logger.LogAttrs(r.Context(), slog.LevelWarn, "touch session", slog.Any("err", err))
		}
	}
	return u, flashes, nil
}

// storedFlashes reports whether a session's stored values hold flash
// messages, or an error if they do not decode.
func (s *sessionStore) storedFlashes(name string, data []byte) (bool, error) {
	key := "values\x00" + name + "\x00" + string(data)
	now := time.Now()
	if v, ok := s.decoded.get(key, now); ok {
		return v.flashes, nil
	}
	values := map[any]any{}
	if err := securecookie.DecodeMulti(name, string(data), &values, s.codecs...); err != nil {
		return false, err
	}
	_, flashes := values["_flash"]
	s.decoded.put(key, decodedValue{flashes: flashes, at: now})
	return flashes, nil
}

// cookieID is the session id the request's cookie carries, or "".
func (s *sessionStore) cookieID(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	key := "cookie\x00" + name + "\x00" + c.Value
	now := time.Now()
	if v, ok := s.decoded.get(key, now); ok {
		return v.id
	}
	var id string
	if err := securecookie.DecodeMulti(name, c.Value, &id, s.codecs...); err != nil {
		return ""
	}
	s.decoded.put(key, decodedValue{id: id, at: now})
	return id
}
