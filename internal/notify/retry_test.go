package notify_test

import (
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/signoff/signoff/internal/notify"
)

// documentedRetries reads the table under "## Retries" in
// docs/notifications.md: the wait after each failed attempt, in order.
func documentedRetries(t *testing.T) []time.Duration {
	t.Helper()
	doc, err := os.ReadFile("../../docs/notifications.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Retries\n")
	if !ok {
		t.Fatal(`docs/notifications.md has no "## Retries" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile(`(?m)^\|\s*(\d+)\s*\|\s*((?:\d+ (?:min|s)\s*)+)\|`)
	var out []time.Duration
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		if n, _ := strconv.Atoi(m[1]); n != len(out)+1 {
			t.Fatalf("retry table row %s out of order", m[1])
		}
		d, err := time.ParseDuration(strings.NewReplacer(" min", "m", " s", "s", " ", "").Replace(strings.TrimSpace(m[2])))
		if err != nil {
			t.Fatalf("retry table row %s: %v", m[1], err)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		t.Fatal("no rows in the retry table of docs/notifications.md")
	}
	return out
}

// The retry policy the Notifier configures its queue with waits what
// docs/notifications.md says, after every failed attempt but the last.
func TestRetryScheduleIsTheDocumentedOne(t *testing.T) {
	t.Parallel()
	want := documentedRetries(t)
	if len(want) != notify.MaxAttempts-1 {
		t.Fatalf("the docs list waits after %d failed attempts; a delivery has %d attempts", len(want), notify.MaxAttempts)
	}
	e := newEnv(t, envOptions{})
	var configured *river.Config
	_, err := notify.New(e.db, e.cfg, slog.New(slog.DiscardHandler), notify.Options{River: func(c *river.Config) { configured = c }})
	if err != nil {
		t.Fatal(err)
	}
	if configured == nil || configured.RetryPolicy == nil {
		t.Fatal("the Notifier leaves the retry policy to River's default: the documented one is not pinned")
	}
	if configured.RescueStuckJobsAfter != notify.RescueAfter || notify.RescueAfter != 3*time.Minute {
		t.Errorf("jobs are rescued after %s; the docs say 3 minutes", configured.RescueStuckJobsAfter)
	}
	for i, base := range want {
		failures := i + 1
		if got := notify.RetryDelay(failures); got != base {
			t.Errorf("RetryDelay(%d) = %s; the docs say %s", failures, got, base)
		}
		// River passes the job as it stands before this failure is
		// recorded: the earlier failures are its errors.
		job := &rivertype.JobRow{Attempt: failures, MaxAttempts: notify.MaxAttempts, Errors: make([]rivertype.AttemptError, i)}
		lo := time.Duration(float64(base) * (1 - notify.RetryJitter))
		hi := time.Duration(float64(base) * (1 + notify.RetryJitter))
		var seen []time.Duration
		for range 20 {
			before := time.Now()
			wait := configured.RetryPolicy.NextRetry(job).Sub(before)
			if wait < lo-10*time.Millisecond || wait > hi+10*time.Millisecond {
				t.Fatalf("after failed attempt %d the next waits %s; the docs say %s ±10 %%", failures, wait, base)
			}
			seen = append(seen, wait)
		}
		if spread := slices.Max(seen) - slices.Min(seen); spread < base/100 {
			t.Errorf("after failed attempt %d every retry waits about %s: no jitter", failures, seen[0])
		}
	}
}
