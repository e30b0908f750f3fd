package ui_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestTickWithAndWithoutJavaScript(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	c := a.login(alice)

	// Without JavaScript: a plain form post, then a redirect back to the row.
	res := c.post(dpath(d, "/items/1.1.1.1/state"), url.Values{"state": {"open", "done"}}, false)
	if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "#item-1-1-1-1") {
		t.Fatalf("no-JS tick: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// With HTMX: the item's block comes back with the progress out of band.
	res = c.post(dpath(d, "/items/1.1.1.2/state"), url.Values{"state": {"open", "done"}}, true)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `id="blk-1-1-1"`) || !strings.Contains(res.Body, `id="summary" hx-swap-oob="true"`) {
		t.Fatalf("htmx tick: %d\n%s", res.StatusCode, res.Body[:min(len(res.Body), 500)])
	}
	page := c.get(dpath(d, ""))
	if !strings.Contains(page.Body, "<strong>2</strong> / 179") {
		t.Fatalf("page does not show 2 of 179 resolved")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
