package ui_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/signoff/signoff/internal/signoff"
)

// logBuffer collects the app's JSON log lines from every goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines decodes the log, one map per line.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

// An unexpected failure shows the person "Internal error" and a request
// id, nothing more; the log gets the detail under that id, and never a
// password, a cookie or a token from the request.
func TestInternalErrorShowsRequestIDAndLogsDetailWithoutSecrets(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	a := newAppWith(t, appConfig{logs: logs})
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	c := a.login(alice)
	cookie := cookieValue(c, a)

	// Break the store under the app: every read or write of audit events
	// now fails with an error the person must not see.
	if _, err := a.db.Pool().Exec(t.Context(), `ALTER TABLE audit_events RENAME TO audit_events_gone`); err != nil {
		t.Fatal(err)
	}

	const queryToken, headerToken = "query-token-4a1f9c", "header-token-77b2e0"
	form := url.Values{"body": {"A comment"}, "password": {testPassword}, "token": {queryToken}}
	var ids []string
	check := func(name string, res response, htmx bool) {
		t.Helper()
		id := res.Header.Get("X-Request-Id")
		ids = append(ids, id)
		if res.StatusCode != http.StatusInternalServerError {
			t.Fatalf("%s: status %d; want 500\n%.400s", name, res.StatusCode, res.Body)
		}
		if id == "" || !strings.Contains(res.Body, "Internal error") || !strings.Contains(res.Body, "request id "+id) {
			t.Errorf("%s: the answer does not say Internal error with request id %q:\n%.2000s", name, id, res.Body)
		}
		for _, leak := range []string{"audit_events", "relation", "SQLSTATE", "42P01", "does not exist", "postgres"} {
			if strings.Contains(res.Body, leak) {
				t.Errorf("%s: the answer shows internal detail %q", name, leak)
			}
		}
		if htmx && res.Header.Get("HX-Retarget") != "#flash" {
			t.Errorf("%s: HTMX error not aimed at the flash region", name)
		}
	}

	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+dpath(d, "/history")+"?token="+queryToken, nil)
	req.Header.Set("Authorization", "Bearer "+headerToken)
	check("history page", c.do(req), false)
	check("comment (form)", c.post(dpath(d, "/items/1.1.1.1/comments"), form, false), false)
	check("comment (htmx)", c.post(dpath(d, "/items/1.1.1.1/comments"), form, true), true)

	// The log has the detail, under each request's id.
	detailed := map[string]bool{}
	for _, l := range logs.lines(t) {
		if l["msg"] == "request failed" && l["level"] == "ERROR" {
			if err, _ := l["err"].(string); strings.Contains(err, "audit_events") {
				id, _ := l["request_id"].(string)
				detailed[id] = true
			}
		}
	}
	for _, id := range ids {
		if !detailed[id] {
			t.Errorf("no logged detail for request id %s", id)
		}
	}
	// ...and no secret from any request, the login included.
	all := logs.String()
	for name, secret := range map[string]string{
		"password": testPassword, "session cookie": cookie, "query token": queryToken, "bearer token": headerToken,
	} {
		if secret != "" && strings.Contains(all, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
	if strings.Contains(strings.ToLower(all), "cookie") {
		t.Error("the log mentions a cookie")
	}
	if t.Failed() {
		t.Logf("log:\n%s", all)
	}
}

// The same failure answers the same status from a page, an HTMX request
// and the API: one table (internal/problem) decides for all three.
func TestSameErrorSameStatusOnPagesAndAPI(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	audrey := a.user("Audrey Auditor", false, true)
	d := a.deployment(alice)
	// Tokens are issued up front: with the audit log broken below,
	// issuing one would fail too.
	secrets := map[int64]string{}
	for _, u := range []*signoff.User{alice, audrey} {
		_, secret, err := a.db.CreateToken(t.Context(), signoff.NewToken{Name: "status check " + u.Name, UserID: u.ID},
			signoff.EventActor{Name: "test", Via: "cli"})
		if err != nil {
			t.Fatal(err)
		}
		secrets[u.ID] = secret
	}
	api := func(u *signoff.User, method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, a.srv.URL+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secrets[u.ID])
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	same := func(name string, want int, page, htmx response, api int) {
		t.Helper()
		if page.StatusCode != want || htmx.StatusCode != want || api != want {
			t.Errorf("%s: page %d, HTMX %d, API %d; want %d from each", name, page.StatusCode, htmx.StatusCode, api, want)
		}
	}
	c, auditor := a.login(alice), a.login(audrey)
	tick := url.Values{"state": {"open", "done"}}

	missing := "/deployments/987654"
	same("no such deployment", http.StatusNotFound,
		c.get(missing), c.post(missing+"/items/1.1.1.1/state", tick, true), api(alice, http.MethodGet, missing, ""))

	same("an auditor changing a checklist", http.StatusForbidden,
		auditor.post(dpath(d, "/items/1.1.1.1/state"), tick, false), auditor.post(dpath(d, "/items/1.1.1.1/state"), tick, true),
		api(audrey, http.MethodPut, dpath(d, "/items/1.1.1.1"), `{"state":"done"}`))

	na := url.Values{"state": {"na"}}
	same("N/A without a reason", http.StatusBadRequest,
		c.post(dpath(d, "/items/1.1.1.1/state"), na, false), c.post(dpath(d, "/items/1.1.1.1/state"), na, true),
		api(alice, http.MethodPut, dpath(d, "/items/1.1.1.1"), `{"state":"na"}`))

	if _, err := a.db.Pool().Exec(t.Context(), `ALTER TABLE audit_events RENAME TO audit_events_gone`); err != nil {
		t.Fatal(err)
	}
	same("a broken store", http.StatusInternalServerError,
		c.post(dpath(d, "/items/1.1.1.1/state"), tick, false), c.post(dpath(d, "/items/1.1.1.1/state"), tick, true),
		api(alice, http.MethodPut, dpath(d, "/items/1.1.1.1"), `{"state":"done"}`))
}
