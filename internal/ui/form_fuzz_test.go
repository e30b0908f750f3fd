package ui_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// formRoutes are the state-changing form endpoints a signed-in admin who
// holds a role can reach; %d is the fuzz deployment's id.
var formRoutes = []string{
	"/deployments/%d/items/1.1.1.1/state",
	"/deployments/%d/items/1.1.1/state",
	"/deployments/%d/items/1.1.1.1/comments",
	"/deployments/%d/notes/1",
	"/deployments/%d/status",
	"/deployments/%d/slots/1/sign",
	"/deployments/%d/slots/1/revoke",
	"/deployments",
	"/admin/people",
	"/admin/roles",
	"/admin/tokens",
	"/admin/webhooks",
	"/templates/voxflow-production-deployment-checklist/settings",
}

var formContentTypes = []string{
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=xyz",
	"multipart/form-data",
	"text/plain",
	"",
}

// FuzzFormPost sends arbitrary bodies to every form endpoint through the
// whole handler stack. Whatever arrives, the answer is never a server
// error, a refusal carries a message, and a refused request changes
// nothing (rule 1 of the brief).
func FuzzFormPost(f *testing.F) {
	a := newApp(f)
	admin := a.user("Ada Admin", true, false, "Deployment Engineer")
	d := a.deployment(admin)
	c := a.login(admin)

	for i := range formRoutes {
		f.Add(uint8(i), uint8(0), true, "state=done")
		f.Add(uint8(i), uint8(0), false, "state=na&reason=")
		f.Add(uint8(i), uint8(0), true, "state=%zz&reason=%")
		f.Add(uint8(i), uint8(0), false, "body=&value=&status=aborted&reason=")
		f.Add(uint8(i), uint8(1), true, "--xyz\r\nContent-Disposition: form-data; name=\"state\"\r\n\r\ndone\r\n--xyz--\r\n")
		f.Add(uint8(i), uint8(1), false, "--xyz\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n")
		f.Add(uint8(i), uint8(2), true, "state=done")
		f.Add(uint8(i), uint8(3), false, "state=done")
		f.Add(uint8(i), uint8(0), true, "state=done&state=open&state=\xff\xfe")
		f.Add(uint8(i), uint8(0), false, "email=a%40b&name=%3Cscript%3E&password=x&role=Nope&url=javascript:alert(1)&format=slack&event=x")
		f.Add(uint8(i), uint8(0), true, "value="+strings.Repeat("x", 70000))
	}

	f.Fuzz(func(t *testing.T, route, ctype uint8, htmx bool, body string) {
		path := formRoutes[int(route)%len(formRoutes)]
		path = strings.Replace(path, "%d", strconv.FormatInt(d.ID, 10), 1)
		before := fingerprint(t, a)
		req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(body))
		if ct := formContentTypes[int(ctype)%len(formContentTypes)]; ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set("Origin", c.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if htmx {
			req.Header.Set("HX-Request", "true")
		}
		res := doIn(t, c, req)
		if res.StatusCode >= 500 {
			t.Fatalf("POST %s (%q) answered %d:\n%.300s", path, body, res.StatusCode, res.Body)
		}
		if res.StatusCode < 400 {
			return
		}
		if strings.TrimSpace(res.Body) == "" || !utf8.ValidString(res.Body) {
			t.Errorf("POST %s answered %d without a message: %q", path, res.StatusCode, res.Body)
		}
		if after := fingerprint(t, a); after != before {
			t.Fatalf("POST %s (%q) was refused with %d but changed the data:\nbefore %s\nafter  %s", path, body, res.StatusCode, before, after)
		}
	})
}

// fingerprint summarises everything a form can change: the audit log and
// the rows of every table a change writes.
func fingerprint(t *testing.T, a *app) string {
	t.Helper()
	var s string
	err := a.db.Pool().QueryRow(context.Background(), `
		SELECT concat_ws(' ',
		    (SELECT count(*) FROM audit_events),
		    (SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM deployments x),
		    (SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM deployment_items x),
		    (SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM deployment_notes x),
		    (SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM item_comments x),
		    (SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM signoffs x),
		    (SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM users x),
		    (SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM roles x),
		    (SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM user_roles x),
		    (SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM api_tokens x),
		    (SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM webhooks x),
		    (SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM templates x))`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// doIn is client.do for use inside a fuzz function, whose own *testing.T
// must report failures (the client belongs to the *testing.F).
func doIn(t *testing.T, c *client, req *http.Request) response {
	t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Response: res, Body: string(b)}
}
