package ui

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/signoff/signoff/internal/signoff"
)

// tokensView is the admin page for API tokens.
type tokensView struct {
	Tokens []*signoff.Token
	People []*signoff.User // active people a token can act as
	Form   tokenForm
	Error  string
	// Secret is the new token's secret, shown on this one answer and never
	// again: only its hash is stored.
	Secret  string
	Created *signoff.Token
}

type tokenForm struct {
	Name   string
	UserID int64
}

func (s *Server) tokenList(w http.ResponseWriter, r *http.Request) {
	s.renderTokens(w, r, http.StatusOK, tokensView{})
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, status int, v tokensView) {
	var err error
	if v.Tokens, err = s.db.Tokens(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	people, err := s.db.Users(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, u := range people {
		if u.Active {
			v.People = append(v.People, u)
		}
	}
	if v.Secret != "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	s.render(w, r, status, tokensPage(s.page(w, r, "API tokens", "tokens"), v))
}

// tokenCreate issues a token and shows its secret, once.
func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f := tokenForm{Name: r.PostFormValue("name")}
	f.UserID, _ = strconv.ParseInt(strings.TrimSpace(r.PostFormValue("user")), 10, 64)
	t, secret, err := s.db.CreateToken(r.Context(), signoff.NewToken{Name: f.Name, UserID: f.UserID}, actor(r))
	if err != nil {
		if code := signoff.ErrorCode(err); code == signoff.EINVALID || code == signoff.ECONFLICT || code == signoff.ENOTFOUND {
			s.renderTokens(w, r, http.StatusBadRequest, tokensView{Form: f, Error: signoff.ErrorMessage(err)})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.renderTokens(w, r, http.StatusCreated, tokensView{Secret: secret, Created: t})
}

func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "tid")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.db.Token(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.RevokeToken(r.Context(), id, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(w, r, "success", "Revoked the token "+t.Name+": it no longer works.")
	http.Redirect(w, r, "/admin/tokens", http.StatusSeeOther)
}
