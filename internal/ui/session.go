package ui

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
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
}

func newSessionStore(db *postgres.DB, key []byte, ttl time.Duration, secure bool) *sessionStore {
	codec := securecookie.New(key, nil)
	codec.MaxAge(int(ttl.Seconds()))
	return &sessionStore{
		db:     db,
		codecs: []securecookie.Codec{codec},
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
	err = s.db.SaveSession(r.Context(), sess.ID, postgres.StoredSession{
		UserID: uid, Data: []byte(data), ExpiresAt: time.Now().Add(time.Duration(sess.Options.MaxAge) * time.Second),
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
	c, err := r.Cookie(name)
	if err != nil {
		return nil, false, nil
	}
	var id string
	if err := securecookie.DecodeMulti(name, c.Value, &id, s.codecs...); err != nil {
		return nil, false, nil
	}
	stored, u, err := s.db.SessionUser(r.Context(), id)
	if errors.Is(err, postgres.ErrSessionNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	values := map[any]any{}
	if err := securecookie.DecodeMulti(name, string(stored.Data), &values, s.codecs...); err != nil {
		return nil, false, nil
	}
	_, flashes = values["_flash"]
	return u, flashes, nil
}
