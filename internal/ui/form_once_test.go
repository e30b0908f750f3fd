package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var formKeyRe = regexp.MustCompile(`name="form_key" value="([^"]+)"`)

// formKeyIn finds the form key the page at path renders; every render
// makes a new one.
func formKeyIn(t *testing.T, c *client, path string) string {
	t.Helper()
	res := c.get(path)
	m := formKeyRe.FindStringSubmatch(res.Body)
	if m == nil {
		t.Fatalf("%s renders no form key", path)
	}
	if again := formKeyRe.FindStringSubmatch(c.get(path).Body); again == nil || again[1] == m[1] {
		t.Fatalf("%s renders the same form key twice", path)
	}
	return m[1]
}

// A form sent twice (a double click, "resend" after a lost answer) does
// its work once and is answered the same both times; sent again with
// other values under its key, it is refused and changes nothing.
func TestFormSentTwiceIsDoneOnce(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	c := a.login(alice)
	count := func(table string) int {
		var n int
		if err := a.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	form := url.Values{"template": {"voxflow-production-deployment-checklist"}, "service": {"voxflow-api"},
		"environment": {"production"}, "version": {"v2.5.0"}, "form_key": {formKeyIn(t, c, "/deployments/new")}}
	first := c.post("/deployments", form, false)
	second := c.post("/deployments", form, false)
	if first.StatusCode != http.StatusSeeOther || second.StatusCode != http.StatusSeeOther ||
		first.Header.Get("Location") != second.Header.Get("Location") {
		t.Fatalf("create sent twice: %d %q, %d %q", first.StatusCode, first.Header.Get("Location"), second.StatusCode, second.Header.Get("Location"))
	}
	if n := count("deployments"); n != 1 {
		t.Fatalf("%d deployments; want 1", n)
	}
	form.Set("version", "v2.5.1")
	if res := c.post("/deployments", form, false); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(res.Body, "already sent") {
		t.Fatalf("the key with other values: %d", res.StatusCode)
	}
	if n := count("deployments"); n != 1 {
		t.Fatalf("%d deployments after the refused form; want 1", n)
	}

	d := first.Header.Get("Location")
	comment := url.Values{"body": {"Migration took 4 s."}, "form_key": {formKeyIn(t, c, d+"/items/1.1.1/comments")}}
	for range 2 {
		if res := c.post(d+"/items/1.1.1/comments", comment, true); res.StatusCode != http.StatusOK || strings.Count(res.Body, "Migration took 4 s.") != 1 {
			t.Fatalf("comment: %d, shown %d times", res.StatusCode, strings.Count(res.Body, "Migration took 4 s."))
		}
	}
	if n := count("item_comments"); n != 1 {
		t.Fatalf("%d comments; want 1", n)
	}

	live := url.Values{"status": {"live"}, "confirm": {"yes"}, "form_key": {formKeyIn(t, c, d)}}
	for i := range 2 {
		if res := c.post(d+"/status", live, false); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("going live, sent %d times: %d\n%.300s", i+1, res.StatusCode, res.Body)
		}
	}
	var events int
	a.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = 'deployment.status'`).Scan(&events)
	if events != 1 {
		t.Fatalf("%d status events; want 1", events)
	}
	// A form without a key (an old page, a script) works as before.
	if res := c.post(d+"/items/1.1.1/comments", url.Values{"body": {"Again."}}, true); res.StatusCode != http.StatusOK {
		t.Fatalf("comment without a key: %d", res.StatusCode)
	}
}
