package main

// Single sign-on end to end, against a real OpenID Provider started by the
// test: zitadel/oidc's op package (a certified OpenID Provider library)
// with its example storage, behind a login page like its example's. The browser here is an HTTP
// client with a cookie jar that follows redirects, as a browser does: the
// provider's login form is filled and posted like a person would.

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/pgtest"
	"github.com/signoff/signoff/internal/signoff"
)

// idpUsers are the provider's people.
type idpUsers map[string]*storage.User

func (u idpUsers) GetUserByID(id string) *storage.User { return u[id] }
func (u idpUsers) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}
func (u idpUsers) ExampleClientID() string { return "service" }

// idp is the example storage with what a company's provider adds: a
// groups claim, a record of what each authorization asked for, and a
// switch that makes it answer with an old auth_time (a provider that
// ignored prompt=login and max_age=0).
type idp struct {
	*storage.Storage
	mu       sync.Mutex
	groups   map[string][]string // user id -> groups
	asked    []*oidc.AuthRequest
	staleFor time.Duration
}

func (p *idp) addGroups(info *oidc.UserInfo, subject string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if g, ok := p.groups[subject]; ok {
		info.AppendClaims("groups", g)
	}
}

func (p *idp) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, t op.IDTokenRequest, scopes []string) error {
	if err := p.Storage.SetUserinfoFromRequest(ctx, info, t, scopes); err != nil {
		return err
	}
	p.addGroups(info, t.GetSubject())
	return nil
}

func (p *idp) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	p.mu.Lock()
	p.asked = append(p.asked, r)
	p.mu.Unlock()
	return p.Storage.CreateAuthRequest(ctx, r, userID)
}

// staleRequest is an authorization whose login is older than it says.
type staleRequest struct {
	op.AuthRequest
	age time.Duration
}

func (s staleRequest) GetAuthTime() time.Time { return s.AuthRequest.GetAuthTime().Add(-s.age) }

func (p *idp) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := p.Storage.AuthRequestByCode(ctx, code)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && p.staleFor > 0 {
		return staleRequest{r, p.staleFor}, nil
	}
	return r, err
}

func (p *idp) lastAsked() *oidc.AuthRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.asked[len(p.asked)-1]
}

// startIdP starts the provider; the client's redirect URI is registered
// once the app's address is known (register).
func startIdP(t *testing.T) (p *idp, issuer string, register func(redirect string)) {
	t.Helper()
	users := idpUsers{
		"dana-1": {ID: "dana-1", Username: "dana", Password: "dana's idp password", FirstName: "Dana", LastName: "Whitfield",
			Email: "dana.whitfield@example.com", EmailVerified: true, PreferredLanguage: language.English},
		"omar-2": {ID: "omar-2", Username: "omar", Password: "omar's idp password", FirstName: "Omar", LastName: "Haddad",
			Email: "omar.haddad@example.com", EmailVerified: true, PreferredLanguage: language.English},
		"eve-3": {ID: "eve-3", Username: "eve", Password: "eve's idp password", FirstName: "Eve", LastName: "Unverified",
			Email: "rachel.kim@example.com", EmailVerified: false, PreferredLanguage: language.English},
	}
	clients := map[string]*storage.Client{}
	srv := httptest.NewUnstartedServer(nil)
	issuer = "http://" + srv.Listener.Addr().String()
	p = &idp{Storage: storage.NewStorageWithClients(users, clients), groups: map[string][]string{}}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey: sha256.Sum256([]byte("signoff test provider")), CodeMethodS256: true, AuthMethodPost: true,
		SupportedUILocales: []language.Tag{language.English},
	}, p, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	// The provider's login page: the example's form, checked by its
	// storage, then back to the provider to finish the authorization.
	done := op.AuthCallbackURL(provider)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/username", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<form method="post"><input name="id" value=%q><input name="username"><input name="password"></form>`, r.URL.Query().Get("authRequestID"))
	})
	mux.HandleFunc("POST /login/username", func(w http.ResponseWriter, r *http.Request) {
		id := r.PostFormValue("id")
		if err := p.CheckUsernamePassword(r.PostFormValue("username"), r.PostFormValue("password"), id); err != nil {
			http.Error(w, "wrong username or password", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, done(r.Context(), id), http.StatusFound)
	})
	mux.Handle("/", provider)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return p, issuer, func(redirect string) {
		clients["signoff"] = storage.WebClient("signoff", "signoff-client-secret", redirect)
	}
}

// browser is a cookie-keeping client that follows redirects.
type browser struct {
	t    *testing.T
	http *http.Client
}

func newBrowserClient(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// do sends a request and returns where the redirects ended and the body.
func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func (b *browser) get(u string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

// postForm posts a same-origin form, as a page would.
func (b *browser) postForm(u string, form url.Values) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	origin, _ := url.Parse(u)
	req.Header.Set("Origin", origin.Scheme+"://"+origin.Host)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// idpLogin fills in the provider's login form the redirects led to, and
// returns where its answer led.
func (b *browser) idpLogin(at *http.Response, username, password string) (*http.Response, string) {
	b.t.Helper()
	if !strings.HasSuffix(at.Request.URL.Path, "/login/username") {
		b.t.Fatalf("expected the provider's login page, got %s", at.Request.URL)
	}
	id := at.Request.URL.Query().Get("authRequestID")
	login := at.Request.URL.Scheme + "://" + at.Request.URL.Host + "/login/username"
	return b.postForm(login, url.Values{"id": {id}, "username": {username}, "password": {password}})
}

func TestSingleSignOnWithARealProvider(t *testing.T) {
	t.Parallel()
	p, issuer, register := startIdP(t)
	a := startAppWith(t, pgtest.URL(t), appSetup{
		env: map[string]string{
			"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": "signoff", "OIDC_CLIENT_SECRET": "signoff-client-secret",
			"OIDC_NAME": "Acme SSO", "OIDC_CREATE_USERS": "true", "OIDC_ALLOWED_DOMAINS": "example.com",
			"OIDC_ROLES_CLAIM": "groups", "OIDC_ROLE_MAP": "signoff-dba=Database Administrator;signoff-cto=CTO/Technical Director",
			"OIDC_ADMIN_VALUES": "signoff-admins",
		},
		listened: func(cfg *config.Config, port int) {
			cfg.BaseURL = localhostURL(port)
			cfg.OIDC.RedirectURL = cfg.BaseURL + "/login/sso/callback"
			register(cfg.OIDC.RedirectURL)
		},
	})
	p.groups["dana-1"] = []string{"signoff-dba", "engineering"}

	// First sign-in: Dana is created, with the role her group maps to.
	b := newBrowserClient(t)
	if _, body := b.get(a.URL + "/login"); !strings.Contains(body, "Sign in with Acme SSO") {
		t.Fatalf("login page lacks the SSO button")
	}
	res, _ := b.get(a.URL + "/login/sso?next=" + url.QueryEscape("/my/signoffs"))
	if q := p.lastAsked(); len(q.Prompt) != 0 || q.MaxAge != nil || q.CodeChallenge == "" || q.Nonce == "" {
		t.Fatalf("a sign-in asked prompt %v, max_age %v, PKCE %q, nonce %q", q.Prompt, q.MaxAge, q.CodeChallenge, q.Nonce)
	}
	res, body := b.idpLogin(res, "dana", "dana's idp password")
	if res.Request.URL.Path != "/my/signoffs" || !strings.Contains(body, "Dana Whitfield") {
		t.Fatalf("after the provider: %d at %s", res.StatusCode, res.Request.URL)
	}
	dana := a.userByEmail("dana.whitfield@example.com")
	if dana.HasPassword || dana.SSOIssuer != issuer || !dana.HasRole("Database Administrator") || dana.IsAdmin {
		t.Fatalf("provisioned %+v", dana)
	}

	// The group changes at the provider: the next sign-in follows it.
	p.groups["dana-1"] = []string{"signoff-cto", "signoff-admins"}
	b2 := newBrowserClient(t)
	res, _ = b2.get(a.URL + "/login/sso")
	b2.idpLogin(res, "dana", "dana's idp password")
	dana = a.userByEmail("dana.whitfield@example.com")
	if dana.HasRole("Database Administrator") || !dana.HasRole("CTO/Technical Director") || !dana.IsAdmin {
		t.Fatalf("after the groups changed: %+v", dana)
	}
	p.groups["dana-1"] = []string{"signoff-dba"}
	res, _ = b.get(a.URL + "/login/sso")
	b.idpLogin(res, "dana", "dana's idp password")
	dana = a.userByEmail("dana.whitfield@example.com")
	if !dana.HasRole("Database Administrator") || dana.IsAdmin {
		t.Fatalf("after the groups changed back: %+v", dana)
	}
	events := a.systemActions(t)
	for _, want := range []string{"user.create", "user.sync", "user.sync"} {
		if !strings.Contains(strings.Join(events, " "), want) {
			t.Fatalf("system chain %v lacks %s", events, want)
		}
	}

	// An email the provider does not vouch for links to nobody, even an
	// existing person's (Rachel's account is not Eve's to take).
	a.user("Rachel Kim")
	b3 := newBrowserClient(t)
	res, _ = b3.get(a.URL + "/login/sso")
	res, body = b3.idpLogin(res, "eve", "eve's idp password")
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "is verified") {
		t.Fatalf("an unverified email: %d", res.StatusCode)
	}

	// A signature asks the provider for a fresh login, and records it.
	owner := a.user("Olivia Owner")
	d := a.deployment(owner, "voxflow-api", "v2.4.0")
	for _, it := range a.leaves(d) {
		a.setItem(d, owner, it.Path, signoff.ItemDone, "")
	}
	slot := slotOf(t, a, d, "Database Administrator")
	signURL := fmt.Sprintf("%s/deployments/%d/slots/%d/sign", a.URL, d.ID, slot)
	_, body = b.get(signURL)
	if !strings.Contains(body, `data-testid="sign-sso"`) || strings.Contains(body, `id="sign-password"`) {
		t.Fatalf("the sign page of an SSO person without a password should offer SSO and no password field")
	}

	// A provider that answers with an old login is refused: nothing signed.
	p.staleFor = time.Hour
	ssoForm := url.Values{"method": {"sso"}}
	for _, m := range regexp.MustCompile(`name="(checklist_sha256|seen_seq)" value="([^"]*)"`).FindAllStringSubmatch(body, 2) {
		ssoForm.Set(m[1], m[2])
	}
	res, _ = b.postForm(signURL, ssoForm)
	if q := p.lastAsked(); len(q.Prompt) != 1 || q.Prompt[0] != "login" || q.MaxAge == nil || *q.MaxAge != 0 {
		t.Fatalf("a signature asked prompt %v, max_age %v; want login and 0", q.Prompt, q.MaxAge)
	}
	res, body = b.idpLogin(res, "dana", "dana's idp password")
	if !strings.Contains(body, "did not ask you to log in again") {
		t.Fatalf("an old auth_time: %d at %s", res.StatusCode, res.Request.URL)
	}
	if s := a.slot(d, slot); s.Signature != nil {
		t.Fatalf("an old auth_time signed: %+v", s.Signature)
	}

	// A fresh login signs, and the signature says so.
	p.staleFor = 0
	res, _ = b.postForm(signURL, ssoForm)
	res, body = b.idpLogin(res, "dana", "dana's idp password")
	if res.Request.URL.Path != fmt.Sprintf("/deployments/%d", d.ID) || !strings.Contains(body, "Signed as Database Administrator") {
		t.Fatalf("after re-authenticating: %d at %s", res.StatusCode, res.Request.URL)
	}
	sig := a.slot(d, slot).Signature
	if sig == nil || sig.Signer.ID != dana.ID {
		t.Fatalf("not signed by Dana: %+v", sig)
	}
	with := a.signedWith(t, d, slot)
	if with.Method != signoff.SignedWithSSO || with.Issuer != issuer || with.AuthTime == "" {
		t.Fatalf("signed_with = %+v", with)
	}
	at, _ := time.Parse(time.RFC3339, with.AuthTime)
	if time.Since(at) > time.Minute {
		t.Fatalf("auth_time %s is not the fresh login", with.AuthTime)
	}
}
