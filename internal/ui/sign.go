package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/problem"
	"github.com/signoff/signoff/internal/signoff"
)

type signView struct {
	V     *deploymentView
	Slot  signoff.Slot
	Error string
	// ChangedSince links to what changed since the page the signer posted
	// from, when the checklist changed under them.
	ChangedSince string
	// Blocked says why signing would be refused right now (items open,
	// other slots unsigned), so nobody types a password in vain.
	Blocked string
	// How the signer can prove it is them (signMethods).
	Password, Passkey bool
	SSO               string // the provider's name, when the signer signs in through it
}

// attests says what a gate's signature attests to: the items above it.
func (sv signView) attests() string {
	n := sv.Slot.Attests(len(sv.V.CL.Items))
	p := sv.V.CL.ProgressAbove(n)
	s := fmt.Sprintf("the %d %s above this sign-off (%d of %d resolved)", p.Total, plural(p.Total, "task", "tasks"), p.Resolved(), p.Total)
	if sv.Slot.GoNoGo {
		s += "; it must be given before the deployment goes live"
	}
	return s
}

// signBlocked runs the store's rules ahead of time, for the page only:
// the store checks them again, under the lock, when the form is posted.
func signBlocked(v *deploymentView, slot signoff.Slot) string {
	err := signoff.CheckSign(signoff.SignRequest{
		Deployment: v.D, Checklist: v.CL, Slots: v.Slots, Slot: slot.Position, Signer: v.User,
		AllowMultiple: v.CL.Template.AllowMultipleSlots,
	})
	if err == nil {
		return ""
	}
	return signoff.ErrorMessage(err)
}

func (s *Server) loadSlot(r *http.Request) (*deploymentView, signoff.Slot, error) {
	v, err := s.loadDeploymentView(r)
	if err != nil {
		return nil, signoff.Slot{}, err
	}
	pos, err := idParam(r, "slot")
	if err != nil {
		return nil, signoff.Slot{}, err
	}
	for _, sl := range v.Slots {
		if sl.Position == int(pos) {
			return v, sl, nil
		}
	}
	return nil, signoff.Slot{}, signoff.Errorf(signoff.ENOTFOUND, "This deployment has no sign-off slot %d.", pos)
}

// signMethods fills in the ways sv's signer can re-authenticate: their
// password (if they have one and passwords are on), a passkey (if they
// registered one), their identity provider (if they are linked to it).
func (s *Server) signMethods(r *http.Request, sv *signView) error {
	u := sv.V.User
	sv.Password = u.HasPassword && s.cfg.PasswordLogin
	if s.sso != nil && u.SSOIssuer != "" {
		sv.SSO = s.cfg.OIDC.Name
	}
	if s.webauthn != nil {
		keys, err := s.db.Passkeys(r.Context(), u.ID)
		if err != nil {
			return err
		}
		sv.Passkey = len(keys) > 0
	}
	return nil
}

// signForm is the signature ceremony: the meaning, the state being
// attested, and the signer's credentials entered again.
func (s *Server) signForm(w http.ResponseWriter, r *http.Request) {
	v, slot, err := s.loadSlot(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !v.User.HasRole(slot.Role) {
		s.fail(w, r, signoff.Errorf(signoff.EFORBIDDEN, "Only a holder of the %s role can sign this slot.", slot.Role))
		return
	}
	s.renderSign(w, r, http.StatusOK, v, slot, "")
}

func (s *Server) renderSign(w http.ResponseWriter, r *http.Request, status int, v *deploymentView, slot signoff.Slot, msg string) {
	s.renderSignView(w, r, status, signView{V: v, Slot: slot, Error: msg})
}

func (s *Server) renderSignView(w http.ResponseWriter, r *http.Request, status int, sv signView) {
	v, slot := sv.V, sv.Slot
	if sv.Error == "" {
		sv.Blocked = signBlocked(v, slot)
	}
	if err := s.signMethods(r, &sv); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, status, signPage(s.page(w, r, "Sign as "+slot.Role, "deployments"), sv))
}

// sign applies the electronic signature. The signer proves it is them
// (reauthenticate), then the store checks every rule under the
// deployment's lock.
func (s *Server) sign(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pos, err := idParam(r, "slot")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	in := postgres.SignInput{DeploymentID: id, Slot: int(pos), UserID: currentUser(r.Context()).ID, Via: "web"}
	if !s.reauthenticate(w, r, &in) {
		return
	}
	if err := s.finishSign(w, r, in); err != nil {
		s.signRefused(w, r, err)
	}
}

// reauthenticate is the signature's re-entry of credentials (21 CFR Part
// 11 §11.200), the one step of signing that differs by credential; the
// rest of signing (finishSign, and the store's rules) is the same for
// all. It fills in's proof and reports whether signing goes on now: a
// password goes to the store to check, a passkey assertion is verified
// here, and single sign-on leaves for the provider, whose callback
// (ssoSigned) comes back to finishSign. It has answered w when it
// returns false.
func (s *Server) reauthenticate(w http.ResponseWriter, r *http.Request, in *postgres.SignInput) bool {
	u := currentUser(r.Context())
	switch r.PostFormValue("method") {
	case signoff.SignedWithSSO:
		if s.sso == nil || u.SSOIssuer == "" {
			s.signRefused(w, r, signoff.Errorf(signoff.EINVALID, "You do not sign in through single sign-on; sign with your password or a passkey."))
			return false
		}
		form := url.Values{}
		for k, v := range r.PostForm {
			if k != "password" && k != "credential" {
				form[k] = v
			}
		}
		s.ssoStart(w, r, ssoFlow{Sign: r.URL.Path, Deployment: in.DeploymentID, Slot: in.Slot, SignForm: form, UserID: u.ID}, true)
		return false
	case signoff.SignedWithPasskey:
		with, err := s.verifyPasskeySignature(w, r, u)
		if err != nil {
			s.signRefused(w, r, err)
			return false
		}
		in.Reauthenticated = &with
	default:
		if !s.cfg.PasswordLogin {
			s.signRefused(w, r, signoff.Errorf(signoff.EINVALID, "Passwords are turned off here; sign with a passkey or your single sign-on."))
			return false
		}
		in.Password = r.PostFormValue("password")
	}
	return true
}

// finishSign stores the signature of a re-authenticated signer and sends
// them to the deployment; a refusal is the caller's to show.
func (s *Server) finishSign(w http.ResponseWriter, r *http.Request, in postgres.SignInput) error {
	in.Seen = seenState(r)
	sig, err := s.db.Sign(r.Context(), in)
	if err != nil {
		return err
	}
	s.metrics.Signature("signed")
	s.flash(w, r, "success", fmt.Sprintf("Signed as %s: %q", sig.Role, sig.Meaning))
	http.Redirect(w, r, fmt.Sprintf("/deployments/%d#signoff", in.DeploymentID), http.StatusSeeOther)
	return nil
}

// seenState reads the checklist state the sign page showed (seenFields).
// A form without it is refused by the store, after it checked that the
// signer holds the slot's role.
func seenState(r *http.Request) *signoff.Seen {
	sum, err := hex.DecodeString(r.PostFormValue("checklist_sha256"))
	seq, serr := strconv.ParseInt(r.PostFormValue("seen_seq"), 10, 64)
	if err != nil || len(sum) != sha256.Size || serr != nil || seq < 0 {
		return &signoff.Seen{}
	}
	return &signoff.Seen{SHA256: sum, AuditSeq: seq}
}

// signRefused shows the ceremony again with the reason, so the signer can act.
func (s *Server) signRefused(w http.ResponseWriter, r *http.Request, err error) {
	s.metrics.Signature("refused")
	code := signoff.ErrorCode(err)
	if code == signoff.EINTERNAL || code == signoff.ENOTFOUND {
		s.fail(w, r, err)
		return
	}
	v, slot, lerr := s.loadSlot(r)
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	s.problems.Explain(r, requestID(r.Context()), err).SetHeaders(w.Header())
	sv := signView{V: v, Slot: slot, Error: signoff.ErrorMessage(err)}
	if seen := seenState(r); code == signoff.ECONFLICT && seen.SHA256 != nil && seen.AuditSeq < v.D.AuditSeq {
		sv.ChangedSince = fmt.Sprintf("%s/history?since=%d", v.URL(), seen.AuditSeq)
	}
	s.renderSignView(w, r, problem.Status(code), sv)
}

// revoke withdraws a standing signature, with a reason.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pos, err := idParam(r, "slot")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.Revoke(r.Context(), id, int(pos), r.PostFormValue("reason"), currentUser(r.Context()), "web"); err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.Signature("revoked")
	s.flash(w, r, "info", "Signature revoked.")
	http.Redirect(w, r, fmt.Sprintf("/deployments/%d#signoff", id), http.StatusSeeOther)
}
