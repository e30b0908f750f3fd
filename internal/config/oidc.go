package config

import (
	"net/url"
	"strings"
)

// oidc reads the single sign-on settings. With OIDC_ISSUER unset the
// other OIDC_ variables are not read (a stale value does not stop the
// app); with it set, a client id and secret are required.
func (r *reader) oidc(baseURL string) OIDC {
	issuer := strings.TrimSpace(r.getenv("OIDC_ISSUER"))
	if issuer == "" || r.err != nil {
		return OIDC{}
	}
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		r.fail("OIDC_ISSUER must be the provider's issuer URL, such as https://acme.okta.com or https://login.microsoftonline.com/TENANT/v2.0, got %q", issuer)
		return OIDC{}
	}
	o := OIDC{
		Issuer:               issuer,
		ClientID:             r.str("OIDC_CLIENT_ID", ""),
		ClientSecret:         r.secret("OIDC_CLIENT_SECRET", 1),
		RedirectURL:          r.baseURL("OIDC_REDIRECT_URL", baseURL+"/login/sso/callback"),
		Name:                 r.str("OIDC_NAME", "single sign-on"),
		Scopes:               strings.Fields(r.str("OIDC_SCOPES", "openid email profile")),
		EmailClaim:           r.str("OIDC_EMAIL_CLAIM", "email"),
		NameClaim:            r.str("OIDC_NAME_CLAIM", "name"),
		RequireVerifiedEmail: r.boolean("OIDC_REQUIRE_VERIFIED_EMAIL", true),
		CreateUsers:          r.boolean("OIDC_CREATE_USERS", false),
		AllowedDomains:       r.list("OIDC_ALLOWED_DOMAINS"),
		RolesClaim:           r.str("OIDC_ROLES_CLAIM", ""),
		RoleMap:              r.roleMap("OIDC_ROLE_MAP"),
		AdminValues:          r.list("OIDC_ADMIN_VALUES"),
		AuditorValues:        r.list("OIDC_AUDITOR_VALUES"),
	}
	switch {
	case r.err != nil:
	case o.ClientID == "":
		r.fail("OIDC_CLIENT_ID must be set with OIDC_ISSUER: the client id your provider gave Signoff")
	case o.ClientSecret == "":
		r.fail("OIDC_CLIENT_SECRET (or OIDC_CLIENT_SECRET_FILE) must be set with OIDC_ISSUER")
	case !contains(o.Scopes, "openid"):
		r.fail("OIDC_SCOPES must include openid, got %q", r.getenv("OIDC_SCOPES"))
	case o.RolesClaim == "" && (len(o.RoleMap) > 0 || len(o.AdminValues) > 0 || len(o.AuditorValues) > 0):
		r.fail("OIDC_ROLES_CLAIM must name the claim that OIDC_ROLE_MAP, OIDC_ADMIN_VALUES and OIDC_AUDITOR_VALUES read (such as groups or roles)")
	}
	if r.err != nil {
		return OIDC{}
	}
	return o
}

// list reads a comma-separated list, trimmed, empty entries dropped.
func (r *reader) list(name string) []string {
	var out []string
	for f := range strings.SplitSeq(r.getenv(name), ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// roleMap reads "value=Role Name;other value=Other Role": claim values to
// role names, separated by semicolons (role names hold spaces and slashes).
func (r *reader) roleMap(name string) map[string]string {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return nil
	}
	m := map[string]string{}
	for pair := range strings.SplitSeq(v, ";") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		claim, role, ok := strings.Cut(pair, "=")
		claim, role = strings.TrimSpace(claim), strings.TrimSpace(role)
		if !ok || claim == "" || role == "" {
			r.fail("%s must be claim-value=Role Name pairs separated by semicolons, such as signoff-dba=Database Administrator;signoff-cto=CTO/Technical Director; %q is not one", name, pair)
			return nil
		}
		m[claim] = role
	}
	return m
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
