package ui

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/problem"
	"github.com/signoff/signoff/internal/signoff"
)

type peopleView struct {
	People     []*signoff.User
	Roles      []postgres.RoleSummary
	Me         *signoff.User
	InviteLink string // shown once, right after an invitation
	InviteFor  string
	ResetLink  string // shown once, right after a reset link is issued
	ResetFor   string
	ResetSent  bool // the link was mailed to them too
	Form       personForm
	Error      string
}

type personForm struct {
	Email, Name    string
	Admin, Auditor bool
	Roles          []string
}

func (s *Server) peopleList(w http.ResponseWriter, r *http.Request) {
	s.renderPeople(w, r, http.StatusOK, peopleView{})
}

func (s *Server) renderPeople(w http.ResponseWriter, r *http.Request, status int, v peopleView) {
	var err error
	if v.People, err = s.db.Users(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	if v.Roles, err = s.db.Roles(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	v.Me = currentUser(r.Context())
	s.render(w, r, status, peoplePage(s.page(w, r, "People", "people"), v))
}

// personCreate invites a person: their account exists at once, with the
// roles given, and a one-time link lets them choose their password.
func (s *Server) personCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f := personForm{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"),
		Admin: r.PostFormValue("admin") == "on", Auditor: r.PostFormValue("auditor") == "on", Roles: r.PostForm["role"]}
	u, token, err := s.db.Invite(r.Context(), signoff.NewUser{Email: f.Email, Name: f.Name,
		IsAdmin: f.Admin, IsAuditor: f.Auditor, Roles: f.Roles}, actor(r))
	if err != nil {
		if code := signoff.ErrorCode(err); code == signoff.EINVALID || code == signoff.ECONFLICT {
			s.renderPeople(w, r, problem.Status(code), peopleView{Form: f, Error: signoff.ErrorMessage(err)})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.renderPeople(w, r, http.StatusCreated, peopleView{InviteFor: u.Name, InviteLink: s.cfg.BaseURL + "/invite?token=" + token})
}

// personReset issues a one-time link with which a person who forgot their
// password chooses a new one. It is shown to the admin once and, with
// SMTP, mailed to the person; it is stored nowhere but as a hash.
func (s *Server) personReset(w http.ResponseWriter, r *http.Request) {
	uid, err := idParam(r, "uid")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.cfg.PasswordLogin {
		s.fail(w, r, signoff.Errorf(signoff.ECONFLICT, "Passwords are turned off here; people sign in with single sign-on or passkeys."))
		return
	}
	u, err := s.db.User(r.Context(), uid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	token, err := s.db.IssueReset(r.Context(), uid, s.mail != nil, actor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := peopleView{ResetFor: u.Name, ResetLink: s.cfg.BaseURL + "/reset?token=" + token}
	if s.mail != nil {
		body := "Hello " + u.Name + ",\n\n" + currentUser(r.Context()).Name + " sent you a link to choose a new Signoff password. " +
			"It works once, for 24 hours:\n\n" + v.ResetLink + "\n\nSetting a password ends every session of yours. " +
			"If you did not ask for this, tell your Signoff admin.\n"
		if err := s.mail(r.Context(), u.Email, "Choose a new Signoff password", body); err != nil {
			// The admin has the link on screen; the reason goes to the log.
			s.logger.LogAttrs(r.Context(), slog.LevelWarn, "reset link not mailed", slog.String("request_id", requestID(r.Context())),
				slog.Int64("user_id", uid), slog.Any("err", err))
		} else {
			v.ResetSent = true
		}
	}
	s.renderPeople(w, r, http.StatusCreated, v)
}

func (s *Server) personActive(w http.ResponseWriter, r *http.Request) {
	uid, err := idParam(r, "uid")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	active := r.PostFormValue("active") == "true"
	if err := s.db.SetActive(r.Context(), uid, active, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	if active {
		s.flash(w, r, "success", "Reactivated.")
	} else {
		s.flash(w, r, "success", "Deactivated: their sessions have ended.")
	}
	http.Redirect(w, r, "/admin/people", http.StatusSeeOther)
}

func (s *Server) personPermissions(w http.ResponseWriter, r *http.Request) {
	uid, err := idParam(r, "uid")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.SetPermissions(r.Context(), uid, r.PostFormValue("admin") == "on", r.PostFormValue("auditor") == "on", actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "success", "Permissions saved.")
	http.Redirect(w, r, "/admin/people", http.StatusSeeOther)
}

func (s *Server) personRoleGrant(w http.ResponseWriter, r *http.Request) {
	s.changeRole(w, r, s.db.GrantRole, "Role granted.")
}

func (s *Server) personRoleWithdraw(w http.ResponseWriter, r *http.Request) {
	s.changeRole(w, r, s.db.WithdrawRole, "Role withdrawn.")
}

func (s *Server) changeRole(w http.ResponseWriter, r *http.Request, change func(ctx context.Context, uid int64, role string, a signoff.EventActor) error, done string) {
	uid, err := idParam(r, "uid")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := change(r.Context(), uid, r.PostFormValue("role"), actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "success", done)
	http.Redirect(w, r, fmt.Sprintf("/admin/people#person-%d", uid), http.StatusSeeOther)
}

func (s *Server) roleCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	role, err := s.db.CreateRole(r.Context(), r.PostFormValue("name"), actor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "success", "Added the role "+role.Name+".")
	http.Redirect(w, r, "/admin/people#roles", http.StatusSeeOther)
}

type inviteForm struct {
	Token string
	Name  string
	Error string
}

// inviteForm lets an invited person choose their password.
func (s *Server) inviteForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	name, err := s.db.InviteeName(r.Context(), token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, invitePage(s.page(w, r, "Welcome to Signoff", ""), inviteForm{Token: token, Name: name}))
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f := inviteForm{Token: r.PostFormValue("token")}
	name, err := s.db.InviteeName(r.Context(), f.Token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.Name = name
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password_confirm") {
		f.Error = "The two passwords differ."
		s.render(w, r, http.StatusBadRequest, invitePage(s.page(w, r, "Welcome to Signoff", ""), f))
		return
	}
	u, err := s.db.AcceptInvite(r.Context(), f.Token, pw)
	if err != nil {
		if code := signoff.ErrorCode(err); code == signoff.EINVALID {
			f.Error = signoff.ErrorMessage(err)
			s.render(w, r, problem.Status(code), invitePage(s.page(w, r, "Welcome to Signoff", ""), f))
			return
		}
		s.fail(w, r, err)
		return
	}
	if err := s.startSession(w, r, u.ID, signoff.SignedWithPassword); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "success", "Welcome, "+u.Name+".")
	http.Redirect(w, r, "/deployments", http.StatusSeeOther)
}
