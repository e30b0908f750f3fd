package ui

import (
	"fmt"
	"time"
)

// Times are shown in UTC with the zone named, so people in different
// places read the same record; <time datetime> carries the exact instant.

func fmtTime(t time.Time) string { return t.UTC().Format("Jan 2, 15:04 UTC") }

func fmtClock(t time.Time) string { return t.UTC().Format("15:04") }

func fmtISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ago is a coarse relative time for lists.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	case d < 48*time.Hour:
		return "yesterday"
	}
	return t.UTC().Format("Jan 2, 2006")
}

// fmtDuration says how long a monitoring window is: "2 hours", "7 days".
func fmtDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0 && d != 24*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d == time.Hour:
		return "1 hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	case d < time.Hour && d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	}
	return d.String()
}
