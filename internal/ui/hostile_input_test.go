package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// evilText is markup, SQL and quoting trouble in one line: it must come
// back exactly as typed and never act as any of them.
// It fits the shortest field (Environment, 50 characters).
const evilText = `<script>alert(1)</script>"';DROP TABLE t;--&ü`

// TestEveryTextFieldIsInertAndStoredExactly posts the hostile text into
// every free-text field people can fill, then checks the page that shows
// it renders it escaped (no live markup) and the database holds it byte
// for byte.
func TestEveryTextFieldIsInertAndStoredExactly(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	admin := a.user("Ada Admin", true, false, "Deployment Engineer")
	d := a.deployment(admin)
	c := a.login(admin)
	dep := strconv.FormatInt(d.ID, 10)

	cases := []struct {
		name   string
		post   string
		form   url.Values
		show   string // the page that displays the field
		stored string // SQL returning the stored text
	}{
		{"N/A reason", dpath(d, "/items/1.1.1.1/state"), url.Values{"state": {"na"}, "reason": {evilText}},
			dpath(d, ""), `SELECT na_reason FROM deployment_items WHERE deployment_id = ` + dep + ` AND path = '1.1.1.1'`},
		{"comment", dpath(d, "/items/1.1.1.2/comments"), url.Values{"body": {evilText}},
			dpath(d, "/items/1.1.1.2/comments"), `SELECT body FROM item_comments WHERE deployment_id = ` + dep},
		{"short note", dpath(d, "/notes/1"), url.Values{"value": {evilText}},
			dpath(d, ""), `SELECT value FROM deployment_notes WHERE deployment_id = ` + dep + ` AND position = 1`},
		{"service", "/deployments", url.Values{"template": {"voxflow-production-deployment-checklist"}, "service": {evilText}, "environment": {"staging"}, "version": {"v1"}},
			"/deployments", `SELECT service FROM deployments WHERE environment = 'staging'`},
		{"environment", "/deployments", url.Values{"template": {"voxflow-production-deployment-checklist"}, "service": {"svc-env"}, "environment": {evilText}, "version": {"v1"}},
			"/deployments", `SELECT environment FROM deployments WHERE service = 'svc-env'`},
		{"version", "/deployments", url.Values{"template": {"voxflow-production-deployment-checklist"}, "service": {"svc-ver"}, "environment": {"qa"}, "version": {evilText}},
			"/deployments", `SELECT version FROM deployments WHERE service = 'svc-ver'`},
		{"person's name", "/admin/people", url.Values{"email": {"eve@example.com"}, "name": {evilText}},
			"/admin/people", `SELECT name FROM users WHERE email = 'eve@example.com'`},
		{"role name", "/admin/roles", url.Values{"name": {evilText}},
			"/admin/people", `SELECT name FROM roles WHERE name LIKE '<script>%'`},
		{"token name", "/admin/tokens", url.Values{"name": {evilText}, "user": {strconv.FormatInt(admin.ID, 10)}},
			"/admin/tokens", `SELECT name FROM api_tokens`},
		{"abort reason", dpath(d, "/status"), url.Values{"status": {"aborted"}, "reason": {evilText}},
			dpath(d, "/history"), `SELECT payload::json->'after'->>'reason' FROM audit_events_all WHERE deployment_id = ` + dep + ` AND payload::json->'after'->>'status' = 'aborted'`},
	}
	for _, tc := range cases {
		res := c.post(tc.post, tc.form, false)
		if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusOK && res.StatusCode != http.StatusCreated {
			t.Errorf("%s: posting it answered %d: %.300s", tc.name, res.StatusCode, res.Body)
			continue
		}
		var stored string
		if err := a.db.Pool().QueryRow(context.Background(), tc.stored).Scan(&stored); err != nil {
			t.Errorf("%s: reading it back: %v", tc.name, err)
			continue
		}
		if stored != evilText {
			t.Errorf("%s: stored %q; want exactly %q", tc.name, stored, evilText)
		}
		page := c.get(tc.show)
		if page.StatusCode != http.StatusOK {
			t.Errorf("%s: %s answered %d", tc.name, tc.show, page.StatusCode)
			continue
		}
		if strings.Contains(page.Body, "<script>alert(1)") {
			t.Errorf("%s: rendered as live markup on %s", tc.name, tc.show)
		}
		if !strings.Contains(page.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: not shown (escaped) on %s", tc.name, tc.show)
		}
	}
	var n int
	if err := a.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM deployments`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("deployments table: %d rows, %v; the SQL in the text must have done nothing", n, err)
	}
}
