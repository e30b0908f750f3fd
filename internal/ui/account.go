package ui

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// accountView is a person's own account page: their password, passkeys
// and sessions. Each form's error shows beside that form.
type accountView struct {
	User          *signoff.User
	PasswordLogin bool   // passwords are on (PASSWORD_LOGIN)
	PasskeysOn    bool   // BASE_URL allows passkeys
	SSO           string // the provider's name, when the person is linked to it
	Passkeys      []signoff.Passkey
	Sessions      []postgres.SessionInfo
	PasswordError error
	PasskeyError  error
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	s.renderAccount(w, r, accountView{})
}

// renderAccount shows the page; a form's error (if any) sets the status.
func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, v accountView) {
	v.User = currentUser(r.Context())
	v.PasswordLogin, v.PasskeysOn = s.cfg.PasswordLogin, s.webauthn != nil
	if s.sso != nil && v.User.SSOIssuer != "" {
		v.SSO = s.cfg.OIDC.Name
	}
	var err error
	if v.Passkeys, err = s.db.Passkeys(r.Context(), v.User.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	if v.Sessions, err = s.db.Sessions(r.Context(), v.User.ID, s.sessions.cookieID(r, s.cookieName())); err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	for _, e := range []error{v.PasswordError, v.PasskeyError} {
		if e != nil {
			if signoff.ErrorCode(e) == signoff.EINTERNAL {
				s.fail(w, r, e)
				return
			}
			p := s.problems.Explain(r, requestID(r.Context()), e)
			p.SetHeaders(w.Header())
			status = p.Status
		}
	}
	s.render(w, r, status, accountPage(s.page(w, r, "Your account", "account"), v))
}

// accountPassword changes the signed-in person's password, with their
// current one; their other sessions end.
func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	u := currentUser(r.Context())
	next := r.PostFormValue("new_password")
	var err error
	switch {
	case !s.cfg.PasswordLogin:
		err = signoff.Errorf(signoff.ECONFLICT, "Passwords are turned off here.")
	case !u.HasPassword:
		err = signoff.Errorf(signoff.ECONFLICT, "You have no password to change; ask an admin for a reset link to set one.")
	case next != r.PostFormValue("new_password_confirm"):
		err = signoff.Errorf(signoff.EINVALID, "The two new passwords differ.")
	default:
		err = s.db.ChangePassword(r.Context(), u.ID, r.PostFormValue("current_password"), next,
			s.sessions.cookieID(r, s.cookieName()), actor(r))
	}
	if err != nil {
		s.renderAccount(w, r, accountView{PasswordError: err})
		return
	}
	s.flash(w, r, "success", "Password changed. Your other sessions have ended.")
	http.Redirect(w, r, "/account#password", http.StatusSeeOther)
}

// accountSessionEnd ends one of the person's other sessions.
func (s *Server) accountSessionEnd(w http.ResponseWriter, r *http.Request) {
	ref, err := idParam(r, "ref")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.endSessions(w, r, ref)
}

// accountSessionsEnd ends every session of the person but this one.
func (s *Server) accountSessionsEnd(w http.ResponseWriter, r *http.Request) {
	s.endSessions(w, r, 0)
}

func (s *Server) endSessions(w http.ResponseWriter, r *http.Request, ref int64) {
	n, err := s.db.EndSessions(r.Context(), currentUser(r.Context()).ID, ref, s.sessions.cookieID(r, s.cookieName()), actor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch n {
	case 0:
		s.flash(w, r, "info", "No other session was open.")
	case 1:
		s.flash(w, r, "success", "Ended 1 session.")
	default:
		s.flash(w, r, "success", "Ended "+strconv.Itoa(n)+" sessions.")
	}
	http.Redirect(w, r, "/account#sessions", http.StatusSeeOther)
}

// browserName makes a user agent readable: "Chrome on macOS".
func browserName(ua string) string {
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Headless Chrome"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Mac OS X", "macOS"},
		{"Windows", "Windows"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}

// authLabel says how a session was started.
func authLabel(method string) string {
	switch method {
	case signoff.SignedWithPasskey:
		return "passkey"
	case signoff.SignedWithSSO:
		return "single sign-on"
	}
	return "password"
}

func lastUsed(t *time.Time) string {
	if t == nil {
		return "never used"
	}
	return "last used " + fmtTime(*t)
}

func synced(k signoff.Passkey) string {
	if k.BackupEligible {
		return " · synced"
	}
	return ""
}
