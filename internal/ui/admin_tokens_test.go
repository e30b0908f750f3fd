package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

var tokenSecretRe = regexp.MustCompile(`sgf_[A-Za-z0-9_-]{43}`)

// apiStatus calls the API with a bearer token and returns the status.
func (a *app) apiStatus(secret string) int {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/api/v1/templates", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestAdminCreatesAndRevokesTokens(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	admin := a.user("Ada Admin", true, false)
	bot := a.user("Pipeline Bot", false, false)
	c := a.login(admin)

	page := c.get("/admin/tokens")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, `href="/admin/tokens" aria-current="page"`) {
		t.Fatalf("tokens page: %d", page.StatusCode)
	}

	// Created: the secret is shown once, on an answer nothing caches.
	res := c.post("/admin/tokens", url.Values{"name": {"github-actions"}, "user": {fmt.Sprint(bot.ID)}}, false)
	if res.StatusCode != http.StatusCreated || !strings.Contains(res.Body, `data-testid="token-secret"`) {
		t.Fatalf("create: %d", res.StatusCode)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("secret page Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	secret := tokenSecretRe.FindString(res.Body)
	if secret == "" {
		t.Fatal("no secret on the page")
	}
	if got := a.apiStatus(secret); got != http.StatusOK {
		t.Fatalf("new token: API answered %d", got)
	}

	// Never again: the list shows the prefix only.
	page = c.get("/admin/tokens")
	if strings.Contains(page.Body, secret) || !strings.Contains(page.Body, secret[:12]+"…") || !strings.Contains(page.Body, "Pipeline Bot") {
		t.Fatal("the list shows the secret, or not the token")
	}

	// A bad form says why and creates nothing.
	res = c.post("/admin/tokens", url.Values{"name": {"  "}, "user": {fmt.Sprint(bot.ID)}}, false)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, `data-testid="form-error"`) || tokenSecretRe.MatchString(res.Body) {
		t.Fatalf("blank name: %d", res.StatusCode)
	}
	res = c.post("/admin/tokens", url.Values{"name": {"other"}, "user": {""}}, false)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, "Choose the person") {
		t.Fatalf("no person: %d", res.StatusCode)
	}
	tokens, err := a.db.Tokens(context.Background())
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens = %d, %v", len(tokens), err)
	}

	// Revoked: it stops at once, and the list says so.
	res = c.post(fmt.Sprintf("/admin/tokens/%d/revoke", tokens[0].ID), nil, false)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/tokens" {
		t.Fatalf("revoke: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if got := a.apiStatus(secret); got != http.StatusUnauthorized {
		t.Fatalf("revoked token: API answered %d", got)
	}
	if page = c.get("/admin/tokens"); !strings.Contains(page.Body, "Revoked") {
		t.Fatal("the list does not show the revocation")
	}
	if res = c.post(fmt.Sprintf("/admin/tokens/%d/revoke", tokens[0].ID), nil, false); res.StatusCode != http.StatusConflict {
		t.Fatalf("second revoke: %d", res.StatusCode)
	}
}

func TestOnlyAdminsManageTokens(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	admin := a.user("Ada Admin", true, false)
	alice := a.user("Alice Chen", false, false)
	auditor := a.user("Olu Auditor", false, true)
	tok, secret, err := a.db.CreateToken(context.Background(), signoff.NewToken{Name: "ci", UserID: alice.ID},
		signoff.EventActor{ID: admin.ID, Name: admin.Name, Via: "web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "auditor"} {
		who := alice
		if u == "auditor" {
			who = auditor
		}
		c := a.login(who)
		if page := c.get("/deployments"); strings.Contains(page.Body, `href="/admin/tokens"`) {
			t.Errorf("%s sees the Tokens link", u)
		}
		if res := c.get("/admin/tokens"); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s GET /admin/tokens: %d", u, res.StatusCode)
		}
		if res := c.post("/admin/tokens", url.Values{"name": {"x"}, "user": {fmt.Sprint(who.ID)}}, false); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s POST /admin/tokens: %d", u, res.StatusCode)
		}
		if res := c.post(fmt.Sprintf("/admin/tokens/%d/revoke", tok.ID), nil, false); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s revoke: %d", u, res.StatusCode)
		}
	}
	if got := a.apiStatus(secret); got != http.StatusOK {
		t.Fatalf("the token stopped working: %d", got)
	}
	if page := a.login(admin).get("/deployments"); !strings.Contains(page.Body, `href="/admin/tokens"`) {
		t.Error("an admin does not see the Tokens link")
	}
}
