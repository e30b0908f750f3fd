package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/signoff"
)

var (
	countdownTag = regexp.MustCompile(`<time class="tag tag-due( is-overdue)?" data-countdown datetime="([^"]+)"`)
	overdueItem  = regexp.MustCompile(`<div class="item-row(?: [a-z-]+)* is-overdue(?: [a-z-]+)*" data-item-row id="item-([0-9-]+)"`)
	overdueTag   = regexp.MustCompile(`<span class="tag tag-overdue">(\d+) overdue</span>`)
)

// Issue 5: once live, the timed monitoring sections count down, and what
// is past due stands out on the page and on the list.
func TestTimedMonitoringCountdownsAndOverdue(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.user("Alice Chen", false, false)
	d := a.deployment(alice)
	c := a.login(alice)

	// Not live: nothing counts down, nothing is overdue.
	page := c.get(dpath(d, ""))
	if strings.Contains(page.Body, "data-countdown") || overdueTag.MatchString(page.Body) || overdueItem.MatchString(page.Body) {
		t.Fatal("a draft deployment shows countdowns or overdue items")
	}

	if res := c.post(dpath(d, "/status"), url.Values{"status": {"live"}, "confirm": {"yes"}}, false); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("mark live: %d %.300s", res.StatusCode, res.Body)
	}
	// Three hours ago: the first-2-hours items are past due, the rest not.
	if _, err := a.db.Pool().Exec(t.Context(), `UPDATE deployments SET went_live_at = went_live_at - interval '3 hours' WHERE id = $1`, d.ID); err != nil {
		t.Fatal(err)
	}
	live, err := a.db.Deployment(t.Context(), d.ID)
	if err != nil || live.Status != signoff.StatusLive || live.WentLiveAt == nil || time.Since(*live.WentLiveAt) < 3*time.Hour {
		t.Fatalf("deployment after going live: %+v, %v", live, err)
	}
	cl, err := a.db.Checklist(t.Context(), live)
	if err != nil {
		t.Fatal(err)
	}
	// What the page should show, from the checklist itself.
	countdowns, overdueTops := map[string]bool{}, map[string]bool{}
	overdueBlocks, overdueLeaves := map[string]bool{}, []string{}
	for _, it := range cl.Items {
		if it.DueAfter == 0 {
			continue
		}
		late := it.DueAfter < 3*time.Hour
		id := strings.ReplaceAll(it.Path, ".", "-")
		if it.Level == 1 {
			countdowns[id] = late
			if late {
				overdueTops[id] = true
			}
		}
		if late {
			overdueBlocks[id] = true
			if !it.HasChildren {
				overdueLeaves = append(overdueLeaves, it.Path)
			}
		}
	}
	if len(overdueTops) == 0 || len(overdueTops) == len(countdowns) {
		t.Fatalf("the seed should have timed items both past due and not (%d of %d)", len(overdueTops), len(countdowns))
	}

	page = c.get(dpath(d, ""))
	tags := countdownTag.FindAllStringSubmatch(page.Body, -1)
	if len(tags) != len(countdowns) {
		t.Fatalf("%d countdowns on the page; want one per open timed item (%d)", len(tags), len(countdowns))
	}
	for _, m := range tags {
		due, err := time.Parse(time.RFC3339, m[2])
		if err != nil {
			t.Fatalf("countdown datetime %q: %v", m[2], err)
		}
		if late := due.Before(time.Now()); late != (m[1] != "") {
			t.Errorf("countdown due %s is marked overdue=%v", m[2], m[1] != "")
		}
	}
	got := map[string]bool{}
	for _, m := range overdueItem.FindAllStringSubmatch(page.Body, -1) {
		got[m[1]] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(overdueBlocks) {
		t.Errorf("items marked overdue: %v; want %v", keys(got), keys(overdueBlocks))
	}
	summary := func(body string) int {
		t.Helper()
		part := chunk(body, "progress", "overdue")
		m := overdueTag.FindStringSubmatch(part)
		if m == nil {
			return 0
		}
		var n int
		fmt.Sscan(m[1], &n)
		return n
	}
	listed := func() int {
		t.Helper()
		row := chunk(c.get("/deployments").Body, "deployment-row", fmt.Sprintf(`href="/deployments/%d"`, d.ID))
		m := overdueTag.FindStringSubmatch(row)
		if m == nil {
			return 0
		}
		var n int
		fmt.Sscan(m[1], &n)
		return n
	}
	if n := summary(page.Body); n != len(overdueLeaves) {
		t.Errorf("page summary says %d overdue; want %d", n, len(overdueLeaves))
	}
	if n := listed(); n != len(overdueLeaves) {
		t.Errorf("the list says %d overdue; want %d", n, len(overdueLeaves))
	}

	// Doing an overdue item takes it off both counts.
	c.tick(d, overdueLeaves[0], true)
	if n := summary(c.get(dpath(d, "")).Body); n != len(overdueLeaves)-1 {
		t.Errorf("after ticking an overdue item the page says %d overdue; want %d", n, len(overdueLeaves)-1)
	}
	if n := listed(); n != len(overdueLeaves)-1 {
		t.Errorf("after ticking an overdue item the list says %d overdue; want %d", n, len(overdueLeaves)-1)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
