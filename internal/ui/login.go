package ui

import (
	"net/http"

	"github.com/signoff/signoff/internal/problem"
	"github.com/signoff/signoff/internal/signoff"
)

type loginForm struct {
	Email string
	Next  string
	Error string
	// The ways in this server offers.
	Password, Passkeys bool
	SSO                string // the provider's name; "" without SSO
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if currentUser(r.Context()) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, loginPage(s.page(w, r, "Sign in", ""), s.loginOptions(loginForm{Next: next})))
}

// login checks the password (rate-limited per email and per address) and
// starts a fresh session: the id is rotated so one planted before login is
// worthless after it.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f := s.loginOptions(loginForm{Email: r.PostFormValue("email"), Next: safeNext(r.PostFormValue("next"))})
	if !s.cfg.PasswordLogin {
		f.Error = "Passwords are turned off here; sign in with " + s.cfg.OIDC.Name + " or a passkey."
		s.render(w, r, http.StatusForbidden, loginPage(s.page(w, r, "Sign in", ""), f))
		return
	}
	u, err := s.db.Authenticate(r.Context(), f.Email, r.PostFormValue("password"), s.clientIP(r))
	if err != nil {
		switch code := signoff.ErrorCode(err); code {
		case signoff.EUNAUTHORIZED, signoff.ERATELIMIT, signoff.EINVALID:
			f.Error = signoff.ErrorMessage(err)
			s.problems.Explain(r, requestID(r.Context()), err).SetHeaders(w.Header())
			s.render(w, r, problem.Status(code), loginPage(s.page(w, r, "Sign in", ""), f))
		default:
			s.fail(w, r, err)
		}
		return
	}
	if err := s.startSession(w, r, u.ID, signoff.SignedWithPassword); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

// startSession signs userID in with a fresh session, recording how
// (method: "password", "passkey" or "sso").
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, userID int64, method string) error {
	sess, err := s.sessions.Get(r, s.cookieName())
	if err != nil {
		return err
	}
	if err := s.sessions.rotate(r.Context(), sess); err != nil {
		return err
	}
	sess.Values = map[any]any{"uid": userID, sessionAuth: method}
	return sess.Save(r, w)
}

// logout ends the session on the server, not just in the browser: a copied
// cookie is dead too.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess, err := s.sessions.Get(r, s.cookieName())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess.Options.MaxAge = -1
	if err := sess.Save(r, w); err != nil {
		s.fail(w, r, err)
		return
	}
	// Ending the session told every instance: the person's live streams
	// end with it (DeleteSession).
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type setupForm struct {
	Token string
	Email string
	Name  string
	Error string
}

// setupForm shows the one-time form that creates the first admin; the link
// with its token was printed in the log at first start.
func (s *Server) setupForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	ok, err := s.db.SetupTokenValid(r.Context(), token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		s.fail(w, r, signoff.Errorf(signoff.EFORBIDDEN, "This setup link is invalid, expired or already used. Restart Signoff with no people in the database for a new one, or ask an admin for an account."))
		return
	}
	s.render(w, r, http.StatusOK, setupPage(s.page(w, r, "Set up Signoff", ""), setupForm{Token: token}))
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f := setupForm{Token: r.PostFormValue("token"), Email: r.PostFormValue("email"), Name: r.PostFormValue("name")}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password_confirm") {
		f.Error = "The two passwords differ."
		s.render(w, r, http.StatusBadRequest, setupPage(s.page(w, r, "Set up Signoff", ""), f))
		return
	}
	u, err := s.db.SetupFirstAdmin(r.Context(), f.Token, signoff.NewUser{Email: f.Email, Name: f.Name, Password: pw})
	if err != nil {
		if code := signoff.ErrorCode(err); code == signoff.EINVALID {
			f.Error = signoff.ErrorMessage(err)
			s.render(w, r, problem.Status(code), setupPage(s.page(w, r, "Set up Signoff", ""), f))
			return
		}
		s.fail(w, r, err)
		return
	}
	if err := s.startSession(w, r, u.ID, signoff.SignedWithPassword); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "success", "Welcome, "+u.Name+". You are the first admin: invite your team under People.")
	http.Redirect(w, r, "/admin/people", http.StatusSeeOther)
}

// loginOptions fills in the ways of signing in this server offers.
func (s *Server) loginOptions(f loginForm) loginForm {
	f.Password = s.cfg.PasswordLogin
	f.Passkeys = s.webauthn != nil
	if s.sso != nil {
		f.SSO = s.cfg.OIDC.Name
	}
	return f
}

type resetForm struct {
	Token string
	Name  string
	Error string
}

// resetForm lets a person who forgot their password choose a new one,
// with the one-time link an admin sent them.
func (s *Server) resetForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	u, err := s.db.ResetFor(r.Context(), token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, resetPage(s.page(w, r, "Choose a new password", ""), resetForm{Token: token, Name: u.Name}))
}

// reset sets the new password, ends every session of the person and signs
// them in afresh.
func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f := resetForm{Token: r.PostFormValue("token")}
	who, err := s.db.ResetFor(r.Context(), f.Token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.Name = who.Name
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password_confirm") {
		f.Error = "The two passwords differ."
		s.render(w, r, http.StatusBadRequest, resetPage(s.page(w, r, "Choose a new password", ""), f))
		return
	}
	u, err := s.db.UseReset(r.Context(), f.Token, pw)
	if err != nil {
		if code := signoff.ErrorCode(err); code == signoff.EINVALID {
			f.Error = signoff.ErrorMessage(err)
			s.render(w, r, problem.Status(code), resetPage(s.page(w, r, "Choose a new password", ""), f))
			return
		}
		s.fail(w, r, err)
		return
	}
	if err := s.startSession(w, r, u.ID, signoff.SignedWithPassword); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "success", "Password set, "+u.Name+". Any other session of yours has ended.")
	http.Redirect(w, r, "/deployments", http.StatusSeeOther)
}
