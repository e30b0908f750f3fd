package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/signoff/signoff/internal/signoff"
)

// Passkeys (WebAuthn). Every ceremony has two steps: the browser asks for
// options (a POST answered with JSON, whose challenge is kept in the
// session), the authenticator does its part, and the result goes back in
// an ordinary form post (the field "credential"), so the answer is a page
// or a redirect like any other form's. web/static/passkeys.js drives the
// first step; without JavaScript there are no passkeys (the password and
// SSO forms remain).
//
// User verification (a PIN or biometric on the authenticator) is required
// every time: a passkey is then something you have and something you are
// or know, which is what lets it stand in for a password at signing.

// newWebAuthn is the relying party for BASE_URL, or nil when its host is
// an IP address, which WebAuthn does not accept as a relying party id.
func newWebAuthn(baseURL string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("passkeys: BASE_URL: %w", err)
	}
	if _, err := netip.ParseAddr(u.Hostname()); err == nil {
		return nil, nil
	}
	return webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: "Signoff",
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: 5 * time.Minute},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: 5 * time.Minute},
		},
	})
}

// passkeyUser is a person as the WebAuthn library sees them.
type passkeyUser struct {
	u      *signoff.User
	handle []byte
	keys   []signoff.Passkey
}

func (p passkeyUser) WebAuthnID() []byte          { return p.handle }
func (p passkeyUser) WebAuthnName() string        { return p.u.Email }
func (p passkeyUser) WebAuthnDisplayName() string { return p.u.Name }
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(p.keys))
	for i, k := range p.keys {
		transports := make([]protocol.AuthenticatorTransport, len(k.Transports))
		for j, t := range k.Transports {
			transports[j] = protocol.AuthenticatorTransport(t)
		}
		out[i] = webauthn.Credential{
			ID: k.CredentialID, PublicKey: k.PublicKey, AttestationType: k.AttestationType, Transport: transports,
			Flags: webauthn.CredentialFlags{UserPresent: true, UserVerified: true,
				BackupEligible: k.BackupEligible, BackupState: k.BackupState},
			Authenticator: webauthn.Authenticator{AAGUID: k.AAGUID, SignCount: k.SignCount},
		}
	}
	return out
}

// loadPasskeyUser reads u's handle (a new random one before their first
// passkey) and passkeys.
func (s *Server) loadPasskeyUser(r *http.Request, u *signoff.User) (passkeyUser, error) {
	handle, err := s.db.WebAuthnHandle(r.Context(), u.ID)
	if err != nil {
		return passkeyUser{}, err
	}
	if handle == nil {
		handle = randomBytes(32)
	}
	keys, err := s.db.Passkeys(r.Context(), u.ID)
	return passkeyUser{u: u, handle: handle, keys: keys}, err
}

// ceremony is a passkey ceremony in flight, kept in the session between
// its two steps. For names what it is for ("register", "login", or
// "sign /deployments/7/slots/2"), so a response cannot be replayed to
// another purpose.
type ceremony struct {
	For  string
	Data webauthn.SessionData
}

func (s *Server) saveCeremony(w http.ResponseWriter, r *http.Request, c ceremony) error {
	return s.keepInSession(w, r, sessionWebAuthn, c)
}

// takeCeremony returns the ceremony in flight for purpose and forgets it:
// each challenge answers once.
func (s *Server) takeCeremony(w http.ResponseWriter, r *http.Request, purpose string) (*webauthn.SessionData, error) {
	sess, err := s.sessions.Get(r, s.cookieName())
	if err != nil {
		return nil, err
	}
	raw, _ := sess.Values[sessionWebAuthn].(string)
	delete(sess.Values, sessionWebAuthn)
	if err := sess.Save(r, w); err != nil {
		return nil, err
	}
	var c ceremony
	if raw == "" || json.Unmarshal([]byte(raw), &c) != nil || c.For != purpose {
		return nil, signoff.Errorf(signoff.EINVALID, "The passkey request expired or was for something else; try again.")
	}
	return &c.Data, nil
}

// passkeyOptions answers a ceremony's first step with its options.
func (s *Server) passkeyOptions(w http.ResponseWriter, r *http.Request, purpose string, options any, data *webauthn.SessionData, err error) {
	if err == nil {
		err = s.saveCeremony(w, r, ceremony{For: purpose, Data: *data})
	}
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(options)
}

// failJSON answers a script's request with the error's status and message.
func (s *Server) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	p := s.problems.Explain(r, requestID(r.Context()), err)
	if p.ClientGone() {
		return
	}
	p.SetHeaders(w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(map[string]string{"message": p.Message})
}

var errNoPasskeys = signoff.Errorf(signoff.ECONFLICT, "Passkeys are off: BASE_URL must name this server by a host name (such as https://signoff.example.com, or http://localhost:8080), not an IP address.")

// passkeyRegisterOptions starts adding a passkey to the signed-in person.
func (s *Server) passkeyRegisterOptions(w http.ResponseWriter, r *http.Request) {
	if s.webauthn == nil {
		s.failJSON(w, r, errNoPasskeys)
		return
	}
	pu, err := s.loadPasskeyUser(r, currentUser(r.Context()))
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range pu.WebAuthnCredentials() {
		exclude = append(exclude, c.Descriptor())
	}
	options, data, err := s.webauthn.BeginRegistration(pu, webauthn.WithExclusions(exclude))
	s.passkeyOptions(w, r, "register", options, data, err)
}

// passkeyAdd finishes adding a passkey. A person with a password confirms
// it first: a stolen session alone cannot plant a passkey.
func (s *Server) passkeyAdd(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	u := currentUser(r.Context())
	err := s.addPasskey(w, r, u)
	if err != nil {
		s.renderAccount(w, r, accountView{PasskeyError: err})
		return
	}
	s.flash(w, r, "success", "Passkey added. You can sign in and sign with it.")
	http.Redirect(w, r, "/account#passkeys", http.StatusSeeOther)
}

func (s *Server) addPasskey(w http.ResponseWriter, r *http.Request, u *signoff.User) error {
	if s.webauthn == nil {
		return errNoPasskeys
	}
	if u.HasPassword {
		if err := s.db.CheckPassword(r.Context(), u.ID, r.PostFormValue("password")); err != nil {
			return err
		}
	}
	data, err := s.takeCeremony(w, r, "register")
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(r.PostFormValue("credential")))
	if err != nil {
		return signoff.Errorf(signoff.EINVALID, "The passkey's answer could not be read; try again.")
	}
	pu, err := s.loadPasskeyUser(r, u)
	if err != nil {
		return err
	}
	pu.handle = data.UserID
	cred, err := s.webauthn.CreateCredential(pu, *data, parsed)
	if err != nil {
		return signoff.Errorf(signoff.EINVALID, "The passkey could not be verified: %s", protocolMessage(err))
	}
	transports := make([]string, len(cred.Transport))
	for i, t := range cred.Transport {
		transports[i] = string(t)
	}
	_, err = s.db.AddPasskey(r.Context(), data.UserID, signoff.Passkey{
		UserID: u.ID, CredentialID: cred.ID, PublicKey: cred.PublicKey, AttestationType: cred.AttestationType,
		AAGUID: cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount, Transports: transports,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, Name: r.PostFormValue("name"),
	}, actor(r))
	return err
}

// protocolMessage is what a WebAuthn verification failure may tell the
// person (the library's message, not its internal detail).
func protocolMessage(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return pe.Details
	}
	return "it did not match what was asked."
}

// passkeyRemove removes one of the signed-in person's passkeys.
func (s *Server) passkeyRemove(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "pid")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.RemovePasskey(r.Context(), currentUser(r.Context()).ID, id, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "success", "Passkey removed.")
	http.Redirect(w, r, "/account#passkeys", http.StatusSeeOther)
}

// passkeyLoginOptions starts a sign-in with a passkey the browser offers
// (a discoverable credential: no email typed).
func (s *Server) passkeyLoginOptions(w http.ResponseWriter, r *http.Request) {
	if s.webauthn == nil {
		s.failJSON(w, r, errNoPasskeys)
		return
	}
	options, data, err := s.webauthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	s.passkeyOptions(w, r, "login", options, data, err)
}

// passkeyLogin finishes a sign-in with a passkey.
func (s *Server) passkeyLogin(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f := loginForm{Next: safeNext(r.PostFormValue("next"))}
	u, err := s.verifyPasskeyLogin(w, r)
	if err != nil {
		f.Error = signoff.ErrorMessage(err)
		if code := signoff.ErrorCode(err); code == signoff.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusUnauthorized, loginPage(s.page(w, r, "Sign in", ""), s.loginOptions(f)))
		return
	}
	if err := s.startSession(w, r, u.ID, signoff.SignedWithPasskey); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

func (s *Server) verifyPasskeyLogin(w http.ResponseWriter, r *http.Request) (*signoff.User, error) {
	if s.webauthn == nil {
		return nil, errNoPasskeys
	}
	data, err := s.takeCeremony(w, r, "login")
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(r.PostFormValue("credential")))
	if err != nil {
		return nil, signoff.Errorf(signoff.EINVALID, "The passkey's answer could not be read; try again.")
	}
	var who passkeyUser
	found, cred, err := s.webauthn.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
		u, err := s.db.UserByWebAuthnHandle(r.Context(), handle)
		if err != nil {
			return nil, err
		}
		keys, err := s.db.Passkeys(r.Context(), u.ID)
		who = passkeyUser{u: u, handle: handle, keys: keys}
		return who, err
	}, *data, parsed)
	if err != nil || found == nil {
		return nil, signoff.Errorf(signoff.EUNAUTHORIZED, "This passkey does not sign anyone in here.")
	}
	if _, err := s.passkeyUsed(r, cred); err != nil {
		return nil, err
	}
	return who.u, nil
}

// passkeyUsed records a verified assertion and says which passkey it was.
// An authenticator whose counter went backwards may have been cloned: it
// is refused.
func (s *Server) passkeyUsed(r *http.Request, cred *webauthn.Credential) (signoff.SignedWith, error) {
	if cred.Authenticator.CloneWarning {
		return signoff.SignedWith{}, signoff.Errorf(signoff.EUNAUTHORIZED, "This passkey's counter went backwards, which a copied authenticator does; it is refused. Remove it and add it again.")
	}
	if err := s.db.PasskeyUsed(r.Context(), cred.ID, cred.Authenticator.SignCount, cred.Flags.BackupState); err != nil {
		return signoff.SignedWith{}, err
	}
	return signoff.SignedWith{Method: signoff.SignedWithPasskey, Credential: signoff.CredentialName(cred.ID)}, nil
}

// signPurpose names a signature ceremony for one slot.
func signPurpose(r *http.Request) string { return "sign " + r.URL.Path }

// signPasskeyOptions starts a signature with one of the signer's passkeys.
func (s *Server) signPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	if s.webauthn == nil {
		s.failJSON(w, r, errNoPasskeys)
		return
	}
	_, slot, err := s.loadSlot(r)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	u := currentUser(r.Context())
	if !u.HasRole(slot.Role) {
		s.failJSON(w, r, signoff.Errorf(signoff.EFORBIDDEN, "Only a holder of the %s role can sign this slot.", slot.Role))
		return
	}
	pu, err := s.loadPasskeyUser(r, u)
	if err == nil && len(pu.keys) == 0 {
		err = signoff.Errorf(signoff.ECONFLICT, "You have no passkey yet; add one under Account.")
	}
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	options, data, err := s.webauthn.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationRequired))
	s.passkeyOptions(w, r, "sign "+strings.TrimSuffix(r.URL.Path, "/passkey"), options, data, err)
}

// verifyPasskeySignature checks the passkey assertion posted with a
// signature: for this slot, by this signer, with user verification.
func (s *Server) verifyPasskeySignature(w http.ResponseWriter, r *http.Request, u *signoff.User) (signoff.SignedWith, error) {
	if s.webauthn == nil {
		return signoff.SignedWith{}, errNoPasskeys
	}
	data, err := s.takeCeremony(w, r, signPurpose(r))
	if err != nil {
		return signoff.SignedWith{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(r.PostFormValue("credential")))
	if err != nil {
		return signoff.SignedWith{}, signoff.Errorf(signoff.EINVALID, "The passkey's answer could not be read; nothing was signed.")
	}
	pu, err := s.loadPasskeyUser(r, u)
	if err != nil {
		return signoff.SignedWith{}, err
	}
	cred, err := s.webauthn.ValidateLogin(pu, *data, parsed)
	if err != nil {
		return signoff.SignedWith{}, signoff.Errorf(signoff.EUNAUTHORIZED, "The passkey could not be verified; nothing was signed.")
	}
	return s.passkeyUsed(r, cred)
}
