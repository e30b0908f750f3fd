package ui_test

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// sseEvent is one server-sent event as the browser gets it.
type sseEvent struct {
	name string
	data string
}

// firstEvent opens a deployment's live stream as if the page had seen
// events up to seq, and returns the first event the server sends (its
// catch-up) and the stream's request id.
func (c *client) firstEvent(d *signoff.Deployment, seq int64) (sseEvent, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+dpath(d, "/events?seq="+strconv.FormatInt(seq, 10)), nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("open stream: %d", res.StatusCode)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var ev sseEvent
	var data []string
	for sc.Scan() {
		switch l := sc.Text(); {
		case strings.HasPrefix(l, "event: "):
			ev.name = strings.TrimPrefix(l, "event: ")
		case strings.HasPrefix(l, "data: "):
			data = append(data, strings.TrimPrefix(l, "data: "))
		case l == "" && ev.name != "":
			ev.data = strings.Join(data, "\n")
			return ev, res.Header.Get("X-Request-Id")
		}
	}
	c.t.Fatalf("the stream ended before its first event: %v", sc.Err())
	return ev, ""
}

var (
	oobTag = regexp.MustCompile(`<[a-z]+ [^>]*hx-swap-oob[^>]*>`)
	idAttr = regexp.MustCompile(` id="([^"]*)"`)
)

// swapped names, in order, the elements an event swaps out of band (or
// the event's name when it is not a change).
func (e sseEvent) swapped() string {
	if e.name != "change" {
		return e.name
	}
	var ids []string
	for _, tag := range oobTag.FindAllString(e.data, -1) {
		if m := idAttr.FindStringSubmatch(tag); m != nil {
			ids = append(ids, m[1])
		}
	}
	return strings.Join(ids, " ")
}

var (
	historyRow  = regexp.MustCompile(`(?s)<tr data-testid="event" data-action="[^"]*">(.*?)</tr>`)
	historyCell = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
)

// newestDescription is what the history page says of the newest event.
func (c *client) newestDescription(d *signoff.Deployment) string {
	c.t.Helper()
	res := c.get(dpath(d, "/history"))
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("history: %d", res.StatusCode)
	}
	row := historyRow.FindStringSubmatch(res.Body)
	if row == nil {
		c.t.Fatal("the history lists no event")
	}
	cells := historyCell.FindAllStringSubmatch(row[1], -1)
	if len(cells) < 4 {
		c.t.Fatalf("history row has %d cells: %s", len(cells), row[1])
	}
	return html.UnescapeString(cells[3][1])
}

// Every kind of deployment event, one at a time: what the history page
// says of it, and what a live viewer that saw everything before it is
// sent. The expectations were taken from the code that read the payloads
// as maps and strings, before the typed events replaced it.
func TestEveryEventKindInHistoryAndLive(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ctx := context.Background()
	team := map[string]*signoff.User{}
	roles := []string{"Deployment Engineer", "Database Administrator", "Security Engineer", "DevOps Lead",
		"Product Manager", "Engineering Manager", "Operations Manager", "CTO/Technical Director"}
	for i, role := range roles {
		team[role] = a.user("Person "+strconv.Itoa(i+1), false, false, role)
	}
	alice := team[roles[0]]
	as := signoff.EventActor{ID: alice.ID, Name: alice.Name, Via: "web"}
	d := a.deployment(alice)
	viewer := a.login(alice)
	sign := func(slot int) func() error {
		return func() error {
			u := team[roles[slot-1]]
			_, err := a.db.Sign(ctx, postgres.SignInput{DeploymentID: d.ID, Slot: slot, UserID: u.ID,
				Password: testPassword, Via: "web"})
			return err
		}
	}
	state := func(path string, st signoff.ItemState, reason string) func() error {
		return func() error {
			_, err := a.db.SetItemState(ctx, d.ID, signoff.ItemChange{Path: path, State: st, NAReason: reason}, as)
			return err
		}
	}
	steps := []struct {
		name    string
		do      func() error
		history string
		live    string
	}{
		{"tick", state("1.1.1.1", signoff.ItemDone, ""),
			"Ticked 1.1.1.1 “CPU: Minimum 4 cores, recommended 8+ cores”",
			"blk-1-1-1 summary status-badge status-start signoff-jump signoff-note phase-1-nav phase-1-progress section-1-1-count"},
		{"untick", state("1.1.1.1", signoff.ItemOpen, ""),
			"Reopened 1.1.1.1 “CPU: Minimum 4 cores, recommended 8+ cores”",
			"blk-1-1-1 summary status-badge status-start signoff-jump signoff-note phase-1-nav phase-1-progress section-1-1-count"},
		{"N/A parent", state("1.1.2", signoff.ItemNA, "No database here"),
			"Marked N/A 1.1.2 “Database setup completed”: No database here (5 items)",
			"blk-1-1-2 summary status-badge status-start signoff-jump signoff-note phase-1-nav phase-1-progress section-1-1-count"},
		{"N/A leaf", state("1.1.1.2", signoff.ItemNA, "Not this time"),
			"Marked N/A 1.1.1.2 “RAM: Minimum 8GB, recommended 16+ GB”: Not this time",
			"blk-1-1-1 summary status-badge status-start signoff-jump signoff-note phase-1-nav phase-1-progress section-1-1-count"},
		{"comment", func() error { _, err := a.db.AddComment(ctx, d.ID, "1.1.1.3", "Looks <b>fine</b>", as); return err },
			"Commented on 1.1.1.3 “Storage: Minimum 100GB SSD, recommended 500+ GB”: Looks <b>fine</b>",
			"blk-1-1-1 summary status-badge status-start signoff-jump signoff-note phase-1-nav phase-1-progress section-1-1-count"},
		{"evidence", func() error {
			_, err := a.db.SetEvidence(ctx, d.ID, "1.1.1.3", "https://ci.example.com/1", as)
			return err
		},
			"Attached evidence to 1.1.1.3 “Storage: Minimum 100GB SSD, recommended 500+ GB”",
			"blk-1-1-1 summary status-badge status-start signoff-jump signoff-note phase-1-nav phase-1-progress section-1-1-count"},
		{"note", func() error { _, err := a.db.SetNote(ctx, d.ID, 2, "v2.3.9", as); return err },
			"Edited note Deployment Version",
			"note-2 summary status-badge status-start signoff-jump signoff-note"},
		{"catch up", func() error { return nil }, "", // several changes at once: the whole sign-off panel
			"blk-1-1-1 blk-1-1-2 note-2 summary status-badge status-start signoff-jump signoff phase-1-nav phase-1-progress section-1-1-count"},
		{"resolve the rest", func() error {
			a.resolveAll(d, alice, "1.1.1.2", "1.1.2.1", "1.1.2.2", "1.1.2.3", "1.1.2.4", "1.1.2.5")
			return nil
		},
			"", ""},
		{"sign", sign(2),
			"Person 2 signed as Database Administrator with their password: “I approve this deployment as Database Administrator.”",
			"summary status-badge status-start signoff-jump signoff"},
		{"revoke", func() error {
			return a.db.Revoke(ctx, d.ID, 2, "Signed too early", team[roles[1]], "web")
		},
			"Revoked Person 2's signature as Database Administrator: Signed too early",
			"summary status-badge status-start signoff-jump signoff"},
		{"sign again", sign(2), "", ""},
		{"stale it", state("1.1.1.1", signoff.ItemOpen, ""), "", ""},
		{"tick back", state("1.1.1.1", signoff.ItemDone, ""), "", ""},
		{"sign over a stale signature", sign(2),
			"Person 2 signed as Database Administrator with their password: “I approve this deployment as Database Administrator.”",
			"summary status-badge status-start signoff-jump signoff"},
		{"go live", func() error {
			_, err := a.db.SetStatus(ctx, d.ID, signoff.StatusLive, "", as)
			return err
		},
			"Status in_progress → live", "reload"},
		{"sign the others", func() error {
			for slot := 1; slot < len(roles); slot++ {
				if slot == 2 {
					continue
				}
				if err := sign(slot)(); err != nil {
					return err
				}
			}
			return nil
		}, "", ""},
		{"final approval", sign(len(roles)),
			"Person 8 signed as CTO/Technical Director with their password: “I approve this deployment as CTO/Technical Director.” — deployment completed and locked",
			"reload"},
	}
	// The live viewer of these steps saw everything before another step:
	// several changes reach it at once.
	since := map[string]string{"catch up": "tick"}
	seqs := map[string]int64{}
	for _, s := range steps {
		seq := a.deploymentSeq(d)
		seqs[s.name] = seq
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if from, ok := since[s.name]; ok {
			seq = seqs[from]
		}
		if s.history != "" {
			if got := viewer.newestDescription(d); got != s.history {
				t.Errorf("%s: the history says\n%q\nwant\n%q", s.name, got, s.history)
			}
		}
		if s.live == "" {
			continue
		}
		ev, _ := viewer.firstEvent(d, seq)
		if got := ev.swapped(); got != s.live {
			t.Errorf("%s: the live viewer gets\n%q\nwant\n%q", s.name, got, s.live)
		}
	}

	// Aborting is a status change too.
	d2 := a.deployment(alice)
	seq := a.deploymentSeq(d2)
	if _, err := a.db.SetStatus(ctx, d2.ID, signoff.StatusAborted, "Release cancelled", as); err != nil {
		t.Fatal(err)
	}
	if got, want := viewer.newestDescription(d2), "Status draft → aborted: Release cancelled"; got != want {
		t.Errorf("abort: the history says %q, want %q", got, want)
	}
	if ev, _ := viewer.firstEvent(d2, seq); ev.name != "reload" {
		t.Errorf("abort: the live viewer gets %q, want a reload", ev.swapped())
	}
	if got, want := viewer.newestDescriptionOf(d2, 1), "Created from VoxFlow Production Deployment Checklist"; got != want {
		t.Errorf("create: the history says %q, want %q", got, want)
	}
}

// deploymentSeq is the deployment's newest audit sequence.
func (a *app) deploymentSeq(d *signoff.Deployment) int64 {
	a.t.Helper()
	now, err := a.db.Deployment(context.Background(), d.ID)
	if err != nil {
		a.t.Fatal(err)
	}
	return now.AuditSeq
}

// newestDescriptionOf is what the history page says of event seq.
func (c *client) newestDescriptionOf(d *signoff.Deployment, seq int64) string {
	c.t.Helper()
	res := c.get(dpath(d, "/history"))
	for _, row := range historyRow.FindAllStringSubmatch(res.Body, -1) {
		cells := historyCell.FindAllStringSubmatch(row[1], -1)
		if len(cells) >= 4 && strings.TrimSpace(cells[0][1]) == strconv.FormatInt(seq, 10) {
			return html.UnescapeString(cells[3][1])
		}
	}
	c.t.Fatalf("the history does not list event %d", seq)
	return ""
}

// appendRawEvent appends an event with the given action, target and
// payload to a deployment's chain behind the store's back, as a bug or an
// older or newer writer might, and wakes its live viewers.
func (a *app) appendRawEvent(d *signoff.Deployment, action, target, payload string) int64 {
	a.t.Helper()
	ctx := context.Background()
	var seq int64
	err := a.db.Pool().QueryRow(ctx, `
		WITH d AS (UPDATE deployments SET audit_seq = audit_seq + 1 WHERE id = $1 RETURNING audit_seq),
		e AS (
		    INSERT INTO audit_events (deployment_id, seq, at, actor_id, actor_name, action, target, payload, prev_hash, hash)
		    SELECT $1, audit_seq, now(), NULL, 'test', $2, $3, $4, '\x00', '\x00' FROM d
		)
		SELECT audit_seq FROM d`, d.ID, action, target, payload).Scan(&seq)
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.db.Pool().Exec(ctx, `SELECT pg_notify($1, $2)`, postgres.NotifyChannel, fmt.Sprintf("%d:%d", d.ID, seq)); err != nil {
		a.t.Fatal(err)
	}
	return seq
}

// An event the live stream cannot read (an unknown action, a key in
// another case, a key given twice) is not dropped in silence: the log
// names the deployment, the viewer's request id and the event, and the
// viewer's page reloads, which shows the deployment as it is. The history
// lists the event all the same and logs it too.
func TestUnreadableEventIsLoggedAndReloads(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	a := newAppWith(t, appConfig{logs: logs})
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	c := a.login(alice)
	for _, bad := range []struct{ action, target, after string }{
		{"deployment.teleport", "deployment/" + itoa(d.ID), `{"to":"mars"}`},
		{signoff.ActItemState, "item/1.1.1.1", `{"State":"done","na_reason":""}`},
		{signoff.ActItemState, "item/1.1.1.1", `{"state":"done","state":"open","na_reason":""}`},
		{signoff.ActNoteEdit, "note/x", `{"name":"a","value":"b"}`},
	} {
		s := c.openStream(d)
		payload := fmt.Sprintf(`{"v":1,"chain":"deployment/%d","seq":%d,"at":"2026-11-20T14:03:12.123456Z","actor":{"id":0,"name":"test","via":"cli"},"action":%q,"target":%q,"after":%s}`,
			d.ID, a.deploymentSeq(d)+1, bad.action, bad.target, bad.after)
		seq := a.appendRawEvent(d, bad.action, bad.target, payload)
		s.await(t, "reload", 5*time.Second)
		s.close()

		var found bool
		for _, l := range logs.lines(t) {
			if l["msg"] == "live stream: unreadable audit event; the page reloads" && l["seq"] == float64(seq) {
				found = true
				if l["deployment_id"] != float64(d.ID) || l["request_id"] != s.requestID || s.requestID == "" ||
					l["action"] != bad.action || l["level"] != "ERROR" || l["err"] == "" {
					t.Errorf("%s: logged %v; want deployment %d, request %q", bad.after, l, d.ID, s.requestID)
				}
			}
		}
		if !found {
			t.Errorf("%s (event %d): nothing logged:\n%s", bad.after, seq, logs.String())
		}
	}

	// The history lists them by action and target, and logs each.
	res := c.get(dpath(d, "/history"))
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "deployment.teleport deployment/"+itoa(d.ID)) {
		t.Fatalf("history: %d\n%.2000s", res.StatusCode, res.Body)
	}
	var logged int
	for _, l := range logs.lines(t) {
		if l["msg"] == "history: unreadable audit event" && l["deployment_id"] == float64(d.ID) && l["request_id"] == res.Header.Get("X-Request-Id") {
			logged++
		}
	}
	if logged != 4 {
		t.Errorf("the history logged %d unreadable events, want 4:\n%s", logged, logs.String())
	}
}
