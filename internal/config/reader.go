package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// reader reads variables through getenv and keeps the first error, so Load
// reads as a list of settings rather than a ladder of error checks. Once it
// has failed, every method returns the zero value.
type reader struct {
	getenv func(string) string
	err    error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// str returns the variable, or def when it is unset or empty.
func (r *reader) str(name, def string) string {
	if v := r.getenv(name); v != "" {
		return v
	}
	return def
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := r.str(name, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail("%s must be %s, got %q", name, orList(allowed), v)
	return ""
}

// orList spells {"a", "b", "c"} as "a, b or c".
func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// secret reads NAME, or the file NAME_FILE names; a value shorter than
// minLen characters is refused. The value is never put in a message.
func (r *reader) secret(name string, minLen int) string {
	v, source := r.secretFrom(name)
	if v != "" && len(v) < minLen {
		if source != name {
			r.fail("%s: %s must hold at least %d characters", source, r.getenv(source), minLen)
		} else {
			r.fail("%s must be at least %d characters", name, minLen)
		}
		return ""
	}
	return v
}

// secretFrom reads NAME, or the file NAME_FILE names, and says which of
// the two it came from.
func (r *reader) secretFrom(name string) (value, source string) {
	if r.err != nil {
		return "", ""
	}
	v := r.getenv(name)
	file := r.getenv(name + "_FILE")
	switch {
	case v != "" && file != "":
		r.fail("set %s or %s_FILE, not both", name, name)
		return "", ""
	case file == "":
		return v, name
	}
	b, err := os.ReadFile(file)
	if err != nil {
		r.fail("%s_FILE: cannot read %s: %v", name, file, errors.Unwrap(err))
		return "", ""
	}
	v = strings.TrimSpace(string(b))
	if v == "" {
		r.fail("%s_FILE: %s is empty", name, file)
		return "", ""
	}
	return v, name + "_FILE"
}

// databaseURL reads DATABASE_URL (or its _FILE) and checks that pgx can
// parse it. It may hold a password, so the message does not repeat it.
func (r *reader) databaseURL(name string) string {
	v, source := r.secretFrom(name)
	if v == "" {
		return ""
	}
	if _, err := pgconn.ParseConfig(v); err != nil {
		r.fail("%s is not a PostgreSQL connection string such as postgres://user:password@db.example.com:5432/signoff (the value is not shown, it may hold a password)", source)
		return ""
	}
	return v
}

// listenAddr reads a listen address: host:port or :port, the port a number
// (0 picks a free one).
func (r *reader) listenAddr(name, def string) string {
	v := r.str(name, def)
	host, port, err := net.SplitHostPort(v)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil || (host != "" && !validHost(host)) {
		r.fail("%s must be host:port or :port, such as :8080 or 127.0.0.1:8080, got %q", name, v)
		return ""
	}
	return v
}

// baseURL reads an absolute http or https URL, without a trailing slash.
func (r *reader) baseURL(name, def string) string {
	v := strings.TrimRight(r.str(name, def), "/")
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		r.fail("%s must be an http or https URL such as https://signoff.example.com, got %q", name, v)
		return ""
	}
	return v
}

// dataDir checks the embedded database's folder: absent (it is created at
// the first start) or a folder, and a path pg_ctl can be given.
func (r *reader) dataDir(name, v string) {
	if r.err != nil {
		return
	}
	abs, err := filepath.Abs(v)
	if err != nil {
		r.fail("%s %q: %v", name, v, err)
		return
	}
	// pg_ctl hands the cluster's folder to /bin/sh inside double quotes.
	if strings.ContainsAny(abs, "\"$`\\\n") {
		r.fail("%s %q: the characters \" $ ` \\ and newlines are not supported in its path", name, abs)
		return
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		r.fail("%s: %v", name, err)
	case !fi.IsDir():
		r.fail("%s %s is not a folder", name, abs)
	}
}

// postgresPrograms are the server programs the embedded database runs.
var postgresPrograms = []string{"initdb", "pg_ctl", "postgres"}

// postgresBinDir checks, when it is set, that the folder holds the server
// programs; their version is checked when the cluster starts.
func (r *reader) postgresBinDir(name string) string {
	dir := r.getenv(name)
	if dir == "" || r.err != nil {
		return ""
	}
	for _, prog := range postgresPrograms {
		fi, err := os.Stat(filepath.Join(dir, prog))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			r.fail(`%s=%s does not hold the PostgreSQL server programs (initdb, pg_ctl, postgres): point it at the bin folder of PostgreSQL 13 or newer, or unset it to search PATH and the usual install folders; to install PostgreSQL use e.g. "apt-get install postgresql", or set DATABASE_URL to use an existing server`, name, dir)
			return ""
		}
	}
	return dir
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail("%s must be a positive duration such as 12h, got %q", name, v)
		return 0
	}
	return d
}

func (r *reader) boolean(name string, def bool) bool {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail("%s must be true or false, got %q", name, v)
		return false
	}
	return b
}

// integer reads a whole number from lo to hi.
func (r *reader) integer(name string, def, lo, hi int) int {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail("%s must be a whole number from %d to %d, got %q", name, lo, hi, v)
		return 0
	}
	return n
}

// networks reads a comma-separated list of CIDR networks ("10.0.0.0/8,
// fd00::/8"); a bare address is a network of one.
func (r *reader) networks(name, def string) []netip.Prefix {
	v := r.getenv(name)
	if strings.TrimSpace(v) == "" {
		v = def
	}
	var out []netip.Prefix
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				r.fail("%s must list networks in CIDR notation such as 127.0.0.1/8,10.0.0.0/8; %q is not one", name, f)
				return nil
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// hostname reads a host name or IP address without a port.
func (r *reader) hostname(name string) string {
	v := r.getenv(name)
	if v != "" && !validHost(v) {
		r.fail("%s must be a host name or IP address such as smtp.example.com (no scheme, no port), got %q", name, v)
		return ""
	}
	return v
}

func (r *reader) mailAddress(name, def string) string {
	v := r.str(name, def)
	if _, err := mail.ParseAddress(v); err != nil {
		r.fail("%s must be a mail address such as Signoff <signoff@example.com>, got %q", name, v)
		return ""
	}
	return v
}

var hostnameRE = regexp.MustCompile(`^([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?$`)

// validHost accepts an IP address or a DNS host name.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	return len(h) <= 253 && hostnameRE.MatchString(h)
}
