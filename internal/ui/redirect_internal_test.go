package ui

import (
	"net/url"
	"strings"
	"testing"
)

// TestSafeNextRefusesOtherSites holds the redirect after signing in to
// this site, whatever the spelling: the tab of the reported attack, and
// the other ways a browser turns a path into another host.
func TestSafeNextRefusesOtherSites(t *testing.T) {
	t.Parallel()
	for _, next := range []string{
		"/\t/evil.example/x", // the reported one, decoded
		"/%09/evil.example/x",
		"/%0a/evil.example", "/%0d/evil.example", "/\n/evil.example", "/\r/evil.example",
		"//evil.example", "///evil.example", "/\\evil.example", "/%5cevil.example", "/%5Cevil.example",
		"\\\\evil.example", "/%2f/evil.example", "/%2F%2Fevil.example", " //evil.example", "/ /evil.example",
		"/\x00/evil.example", "/%00/evil.example", "/\x7f/evil.example", "https://evil.example",
		"http:/evil.example", "javascript:alert(1)", "evil.example", "", "/\u3000/evil.example",
		"/x#\t", "//%65vil.example", "/.%2e/%2e%2e//evil.example",
	} {
		if got := safeNext(next); got != defaultNext {
			t.Errorf("safeNext(%q) = %q; want %q", next, got, defaultNext)
		}
	}
	for next, want := range map[string]string{
		"/deployments/4?tab=history#signoff": "/deployments/4?tab=history#signoff",
		"/deployments/4/items/1.2/comments":  "/deployments/4/items/1.2/comments",
		"/my/signoffs":                       "/my/signoffs",
		"/audit?service=voxflow%20api":       "/audit?service=voxflow%20api",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q; want %q", next, got, want)
		}
	}
}

// FuzzSafeNext checks what safeNext lets through against how a browser
// resolves a Location (WHATWG URL: tabs and newlines dropped, ends
// trimmed, backslashes are slashes): it always stays on this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/deployments", "/%09/evil.example/x", "/\\x", "//x", "/a?b=c#d", "/a/../..//x", "/%2e%2e/%2f"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://signoff.example/deployments/1")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == defaultNext {
			return
		}
		browser := strings.Map(func(r rune) rune {
			switch r {
			case '\t', '\n', '\r':
				return -1
			case '\\':
				return '/'
			}
			return r
		}, got)
		browser = strings.Trim(browser, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
		if browser != got {
			t.Fatalf("safeNext(%q) = %q, which a browser reads as %q", next, got, browser)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") {
			t.Fatalf("safeNext(%q) = %q: not a path of this site", next, got)
		}
		u, err := base.Parse(got)
		if err != nil || u.Host != base.Host || u.Scheme != base.Scheme {
			t.Fatalf("safeNext(%q) = %q resolves to %v (%v)", next, got, u, err)
		}
		if again := safeNext(got); again != got {
			t.Fatalf("safeNext is not stable: %q -> %q -> %q", next, got, again)
		}
	})
}
