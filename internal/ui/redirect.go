package ui

import (
	"net/url"
	"path"
	"strings"
)

// defaultNext is where signing in leads when no (acceptable) page was asked for.
const defaultNext = "/deployments"

// maxNextLen bounds a redirect target: a page of this site is never longer.
const maxNextLen = 2048

// safeNext keeps redirects after signing in on this site: next must be a
// path of this site, parsed, not a string that starts with a slash. A
// browser reads a Location leniently (WHATWG URL): it drops tabs and
// newlines anywhere, turns a backslash into a slash and trims control
// characters and spaces at the ends, so "/\t/evil.example" and
// "/\\evil.example" are both "//evil.example" to it: another site. So any
// control character, space or backslash, raw or percent-encoded, is
// refused outright rather than cleaned, and what is left must parse as a
// path (no scheme, no host) whose decoded form does not start with two
// slashes either. Anything else goes to defaultNext.
func safeNext(next string) string {
	if next == "" || len(next) > maxNextLen || !strings.HasPrefix(next, "/") || unsafeInLocation(next) {
		return defaultNext
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return defaultNext
	}
	// The decoded path holds no hidden control character, space or
	// backslash either (%09, %5C, %0A…), and is already clean: no empty
	// or dot segments (%2e%2e) that a browser would fold into "//".
	if unsafeInLocation(u.Path) || !strings.HasPrefix(u.Path, "/") || !cleanPath(u.Path) {
		return defaultNext
	}
	// Rebuilt from its parts, so what is sent is what was checked.
	out := u.EscapedPath()
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		out += "#" + u.EscapedFragment()
	}
	if strings.HasPrefix(out, "//") || unsafeInLocation(out) {
		return defaultNext
	}
	return out
}

// unsafeInLocation reports a character a browser may drop or reinterpret
// in a Location: C0 controls, space, DEL, backslash, and anything outside
// ASCII (a real path of this site never needs it unencoded).
func unsafeInLocation(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '\\' || c >= 0x7f {
			return true
		}
	}
	return false
}

// cleanPath reports whether p has no empty, "." or ".." segments (a
// trailing slash aside).
func cleanPath(p string) bool {
	return path.Clean(p) == strings.TrimSuffix(p, "/") || p == "/"
}
