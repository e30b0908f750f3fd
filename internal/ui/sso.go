package ui

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// Single sign-on with OpenID Connect (authorization code flow with PKCE,
// a nonce, and the state kept in the session). The same flow serves two
// purposes: signing in, and re-authenticating a signer, for whom the
// provider is asked to make the person log in again (prompt=login,
// max_age=0) and the ID token's auth_time must show it did, after the
// signer asked to sign.

// authTimeSkew is how far the provider's clock may be behind ours.
const authTimeSkew = 30 * time.Second

// ssoFlowTTL is how long a person has at their provider.
const ssoFlowTTL = 10 * time.Minute

// sso is the relying party; nil when OIDC_ISSUER is unset. The provider's
// discovery document is fetched at first use (and again after a failure),
// so a provider that is down does not keep Signoff from starting.
type sso struct {
	cfg config.OIDC
	mu  sync.Mutex
	p   *oidc.Provider
}

func (o *sso) provider(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.p != nil {
		return o.p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("single sign-on: discover %s: %w", o.cfg.Issuer, err)
	}
	o.p = p
	return p, nil
}

func (o *sso) oauth2(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: o.cfg.Scopes}
}

// ssoFlow is a sign-on in flight, kept in the session until the provider
// sends the person back.
type ssoFlow struct {
	State, Nonce, Verifier string
	Started                time.Time
	Next                   string // sign-in: where to go after
	// Sign, for a re-authentication, is the signature's address, its
	// deployment and slot, and the form that asked for it (less any
	// password), read again once the provider has vouched for the signer.
	Sign       string
	Deployment int64
	Slot       int
	SignForm   url.Values
	UserID     int64
}

// ssoStart sends the browser to the provider with a new flow.
func (s *Server) ssoStart(w http.ResponseWriter, r *http.Request, f ssoFlow, reauth bool) {
	p, err := s.sso.provider(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.State, f.Nonce, f.Verifier = randomString(), randomString(), oauth2.GenerateVerifier()
	f.Started = s.now()
	if err := s.keepInSession(w, r, sessionOIDC, f); err != nil {
		s.fail(w, r, err)
		return
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)}
	if reauth {
		// The re-entry of credentials a signature needs: the provider
		// must not answer from a session it already has.
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0"))
	}
	http.Redirect(w, r, s.sso.oauth2(p).AuthCodeURL(f.State, opts...), http.StatusSeeOther)
}

func randomString() string { return base64.RawURLEncoding.EncodeToString(randomBytes(24)) }

// ssoLogin starts a sign-in through the provider.
func (s *Server) ssoLogin(w http.ResponseWriter, r *http.Request) {
	if s.sso == nil {
		s.fail(w, r, signoff.Errorf(signoff.ENOTFOUND, "Single sign-on is not configured."))
		return
	}
	s.ssoStart(w, r, ssoFlow{Next: safeNext(r.URL.Query().Get("next"))}, false)
}

// ssoCallback is where the provider sends the person back: the flow is
// taken from the session (once), the code exchanged, the ID token
// verified (signature, issuer, audience, expiry, nonce), then the person
// is signed in, or their signature given.
func (s *Server) ssoCallback(w http.ResponseWriter, r *http.Request) {
	if s.sso == nil {
		s.fail(w, r, signoff.Errorf(signoff.ENOTFOUND, "Single sign-on is not configured."))
		return
	}
	f, tok, err := s.ssoFinish(w, r)
	if err != nil {
		s.ssoFailed(w, r, f, err)
		return
	}
	if f.Sign != "" {
		s.ssoSigned(w, r, f, tok)
		return
	}
	u, err := s.db.SSOSignIn(r.Context(), s.ssoIdentity(tok), postgres.SSOPolicy{
		RequireVerifiedEmail: s.cfg.OIDC.RequireVerifiedEmail, Create: s.cfg.OIDC.CreateUsers, AllowedDomains: s.cfg.OIDC.AllowedDomains})
	if err != nil {
		s.ssoFailed(w, r, f, err)
		return
	}
	if err := s.startSession(w, r, u.ID, signoff.SignedWithSSO); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, safeNext(f.Next), http.StatusSeeOther)
}

// ssoToken is a verified ID token and its claims.
type ssoToken struct {
	*oidc.IDToken
	claims   map[string]any
	AuthTime time.Time // the auth_time claim: when the person last logged in at the provider; zero if absent
}

func (s *Server) ssoFinish(w http.ResponseWriter, r *http.Request) (*ssoFlow, *ssoToken, error) {
	gs, err := s.sessions.Get(r, s.cookieName())
	if err != nil {
		return nil, nil, err
	}
	raw, _ := gs.Values[sessionOIDC].(string)
	delete(gs.Values, sessionOIDC)
	if err := gs.Save(r, w); err != nil {
		return nil, nil, err
	}
	var f ssoFlow
	q := r.URL.Query()
	if raw == "" || json.Unmarshal([]byte(raw), &f) != nil || f.State == "" ||
		subtle.ConstantTimeCompare([]byte(f.State), []byte(q.Get("state"))) != 1 || s.now().Sub(f.Started) > ssoFlowTTL {
		return nil, nil, signoff.Errorf(signoff.EUNAUTHORIZED, "This sign-in was not started here, or took too long. Start again.")
	}
	if e := q.Get("error"); e != "" {
		return &f, nil, signoff.Errorf(signoff.EUNAUTHORIZED, "Your identity provider did not sign you in (%s).", e)
	}
	p, err := s.sso.provider(r.Context())
	if err != nil {
		return &f, nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	t, err := s.sso.oauth2(p).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return &f, nil, signoff.Errorf(signoff.EUNAUTHORIZED, "Your identity provider did not confirm the sign-in; start again.")
	}
	rawID, _ := t.Extra("id_token").(string)
	id, err := p.Verifier(&oidc.Config{ClientID: s.cfg.OIDC.ClientID, Now: s.now}).Verify(ctx, rawID)
	if err != nil || subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(f.Nonce)) != 1 {
		return &f, nil, signoff.Errorf(signoff.EUNAUTHORIZED, "Your identity provider's answer could not be verified; start again.")
	}
	claims := map[string]any{}
	if err := id.Claims(&claims); err != nil {
		return &f, nil, fmt.Errorf("single sign-on: claims: %w", err)
	}
	if err := s.userInfoClaims(ctx, p, t, id.Subject, claims); err != nil {
		return &f, nil, err
	}
	st := &ssoToken{IDToken: id, claims: claims}
	if at, ok := claims["auth_time"].(float64); ok && at > 0 {
		st.AuthTime = time.Unix(int64(at), 0)
	}
	return &f, st, nil
}

// ssoIdentity reads who the token names, and what its claims grant when
// a mapping is configured.
func (s *Server) ssoIdentity(t *ssoToken) postgres.SSOIdentity {
	c := s.cfg.OIDC
	id := postgres.SSOIdentity{Issuer: t.Issuer, Subject: t.Subject}
	id.Email, _ = t.claims[c.EmailClaim].(string)
	id.Name, _ = t.claims[c.NameClaim].(string)
	id.EmailVerified, _ = t.claims["email_verified"].(bool)
	if c.RolesClaim == "" {
		return id
	}
	values := claimValues(t.claims[c.RolesClaim])
	a := &postgres.SSOAccess{}
	for _, v := range values {
		if role, ok := c.RoleMap[v]; ok {
			a.Roles = append(a.Roles, role)
		}
	}
	if len(c.AdminValues) > 0 {
		admin := slices.ContainsFunc(values, func(v string) bool { return slices.Contains(c.AdminValues, v) })
		a.Admin = &admin
	}
	if len(c.AuditorValues) > 0 {
		auditor := slices.ContainsFunc(values, func(v string) bool { return slices.Contains(c.AuditorValues, v) })
		a.Auditor = &auditor
	}
	id.Access = a
	return id
}

// claimValues reads a claim that is a string or a list of strings (as
// groups and roles claims are).
func claimValues(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// ssoSigned gives the signature a re-authentication was for: the token
// must name the signer's own provider account and show a login made after
// they asked to sign.
func (s *Server) ssoSigned(w http.ResponseWriter, r *http.Request, f *ssoFlow, t *ssoToken) {
	u := currentUser(r.Context())
	if u == nil || u.ID != f.UserID {
		s.fail(w, r, signoff.Errorf(signoff.EUNAUTHORIZED, "Sign in again, then sign."))
		return
	}
	issuer, subject, err := s.db.SSOSubject(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in := postgres.SignInput{DeploymentID: f.Deployment, Slot: f.Slot, UserID: u.ID, Via: "web"}
	if issuer != t.Issuer || subject != t.Subject {
		err = signoff.Errorf(signoff.EUNAUTHORIZED, "Your identity provider signed in another account; nothing was signed.")
	}
	if err == nil && (t.AuthTime.IsZero() || t.AuthTime.Before(f.Started.Add(-authTimeSkew))) {
		err = signoff.Errorf(signoff.EUNAUTHORIZED, "Your identity provider did not ask you to log in again (its auth_time is %s, before you asked to sign), so nothing was signed. Try again.", authTimeText(t.AuthTime))
	}
	if err == nil {
		in.Reauthenticated = &signoff.SignedWith{Method: signoff.SignedWithSSO, Issuer: t.Issuer,
			AuthTime: t.AuthTime.UTC().Format(time.RFC3339)}
		// The form that asked to sign is read again, as it was posted.
		r.PostForm = f.SignForm
		err = s.finishSign(w, r, in)
	}
	if err != nil {
		s.ssoFailed(w, r, f, err)
	}
}

func authTimeText(t time.Time) string {
	if t.IsZero() {
		return "missing"
	}
	return t.UTC().Format(time.RFC3339)
}

// ssoFailed tells a person why single sign-on did not let them in.
func (s *Server) ssoFailed(w http.ResponseWriter, r *http.Request, f *ssoFlow, err error) {
	if signoff.ErrorCode(err) == signoff.EINTERNAL {
		s.fail(w, r, err)
		return
	}
	if f != nil && f.Sign != "" {
		// Back to the ceremony, which shows why (the callback's address
		// has no slot to render it at).
		s.metrics.Signature("refused")
		s.flash(w, r, "error", signoff.ErrorMessage(err))
		http.Redirect(w, r, f.Sign, http.StatusSeeOther)
		return
	}
	form := s.loginOptions(loginForm{Error: signoff.ErrorMessage(err)})
	if f != nil {
		form.Next = safeNext(f.Next)
	}
	s.render(w, r, http.StatusUnauthorized, loginPage(s.page(w, r, "Sign in", ""), form))
}

// keepInSession stores v, as JSON, under key in the request's session.
func (s *Server) keepInSession(w http.ResponseWriter, r *http.Request, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("session value %s: %w", key, err)
	}
	gs, err := s.sessions.Get(r, s.cookieName())
	if err != nil {
		return err
	}
	gs.Values[key] = string(b)
	return gs.Save(r, w)
}

// userInfoClaims adds the claims Signoff reads that the ID token lacks
// (some providers, Okta among them, put email or groups only in the
// userinfo answer) from the userinfo endpoint, for the same subject. The
// ID token's own claims win.
func (s *Server) userInfoClaims(ctx context.Context, p *oidc.Provider, t *oauth2.Token, subject string, claims map[string]any) error {
	c := s.cfg.OIDC
	missing := false
	for _, k := range []string{c.EmailClaim, c.NameClaim, c.RolesClaim} {
		if _, ok := claims[k]; k != "" && !ok {
			missing = true
		}
	}
	if !missing || p.UserInfoEndpoint() == "" {
		return nil
	}
	info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(t))
	if err != nil {
		return fmt.Errorf("single sign-on: userinfo: %w", err)
	}
	if info.Subject != subject {
		return signoff.Errorf(signoff.EUNAUTHORIZED, "Your identity provider's answers disagree about who you are; start again.")
	}
	more := map[string]any{}
	if err := info.Claims(&more); err != nil {
		return fmt.Errorf("single sign-on: userinfo claims: %w", err)
	}
	for k, v := range more {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return nil
}
