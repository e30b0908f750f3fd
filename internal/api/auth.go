package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/signoff/signoff/internal/signoff"
)

type ctxKey int

const (
	userKey ctxKey = iota
	tokenKey
)

// caller is the person the request's token acts as, and the token.
func caller(ctx context.Context) (*signoff.User, *signoff.Token) {
	u, _ := ctx.Value(userKey).(*signoff.User)
	t, _ := ctx.Value(tokenKey).(*signoff.Token)
	return u, t
}

// actor is the caller as the audit log records them: the person, the
// token named, through the API.
func actor(r *http.Request) signoff.EventActor {
	u, t := caller(r.Context())
	return t.Actor(u)
}

// authenticate lets through requests carrying a standing token of an
// active person in "Authorization: Bearer …"; anything else is a 401 with
// a WWW-Authenticate challenge. Tokens are never read from the query
// string, where they would end up in logs.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			a.fail(w, r, errorf(signoff.EUNAUTHORIZED, "Send an API token in the header \"Authorization: Bearer sgf_…\"; an admin creates one under Admin → Tokens."))
			return
		}
		scheme, secret, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			a.fail(w, r, errorf(signoff.EUNAUTHORIZED, "The Authorization header must be \"Bearer\" followed by an API token."))
			return
		}
		u, t, err := a.db.AuthenticateToken(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		ctx := context.WithValue(context.WithValue(r.Context(), userKey, u), tokenKey, t)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requireEditor lets through tokens of people who may change checklists:
// an auditor's token reads but never writes.
func (a *API) requireEditor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, _ := caller(r.Context()); !u.CanEditChecklists() {
			a.fail(w, r, errorf(signoff.EFORBIDDEN, "This token acts as an auditor, who can read everything but change nothing."))
			return
		}
		next.ServeHTTP(w, r)
	})
}
