// Package netguard keeps the requests Signoff makes on an admin's behalf
// (webhooks) from reaching inside the network it runs in: loopback,
// private, link-local (cloud metadata at 169.254.169.254), unique-local,
// carrier-grade NAT and the other special-purpose ranges, in every
// spelling an address can take.
//
// The check is made twice. When a webhook is added, CheckURL parses its
// host (an IP literal in any form a resolver would accept: dotted, short,
// octal, hex or one number; IPv6 with IPv4 inside) and resolves a name,
// refusing it if any of its addresses is internal. That is for the admin,
// who learns at once. The check that holds is the second: every
// connection a delivery opens passes Control, which sees the address
// actually being dialled, after DNS resolution, so a name that resolved
// to a public address when the webhook was added and to 127.0.0.1 now
// (DNS rebinding) is refused at the socket. Operators who do want a
// webhook inside (a chat relay on 10.0.5.7) list its network in
// WEBHOOK_ALLOWED_NETWORKS.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// special are the ranges that are not the public Internet: IANA's IPv4
// and IPv6 special-purpose registries, less the few that are globally
// reachable (and less nothing an attacker could use to reach inside).
var special = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // carrier-grade NAT (also Alibaba's metadata, 100.100.100.200)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local: cloud metadata
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, and broadcast
		"::/128",          // unspecified
		"::1/128",         // loopback
		"::ffff:0:0/96",   // IPv4-mapped (checked as IPv4 first; never reached)
		"::/96",           // IPv4-compatible (deprecated)
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard
		"2001::/23",       // IETF protocol assignments (Teredo, ORCHID…)
		"2001:db8::/32",   // documentation
		"fc00::/7",        // unique-local (AWS's metadata at fd00:ec2::254)
		"fe80::/10",       // link-local
		"fec0::/10",       // site-local (deprecated)
		"ff00::/8",        // multicast
		"3fff::/20",       // documentation
		"5f00::/16",       // segment routing
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Internal reports whether a is not a public Internet address, and why.
// IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged
// by the IPv4 address they carry.
func Internal(a netip.Addr) (bool, string) {
	a = a.WithZone("")
	if v4, ok := embeddedIPv4(a); ok {
		a = v4
	}
	for _, p := range special {
		if p.Contains(a) {
			return true, describe(p)
		}
	}
	return false, ""
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 is the IPv4 address an IPv6 address stands for, if any.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if a.Is4In6() {
		return a.Unmap(), true
	}
	if !a.Is6() {
		return a, a.Is4()
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return a, false
}

func describe(p netip.Prefix) string {
	switch p.String() {
	case "127.0.0.0/8", "::1/128":
		return "loopback"
	case "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16":
		return "private"
	case "169.254.0.0/16", "fe80::/10":
		return "link-local (cloud metadata lives there)"
	case "fc00::/7":
		return "unique-local"
	case "100.64.0.0/10":
		return "carrier-grade NAT"
	case "224.0.0.0/4", "ff00::/8":
		return "multicast"
	}
	return "special-purpose (" + p.String() + ")"
}

// Resolver looks names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard decides which addresses outgoing requests may reach.
type Guard struct {
	allowed  []netip.Prefix
	resolver Resolver
}

// New returns a guard that refuses internal addresses except those in
// allowed (WEBHOOK_ALLOWED_NETWORKS).
func New(allowed []netip.Prefix) *Guard {
	return &Guard{allowed: allowed, resolver: net.DefaultResolver}
}

// WithResolver returns a copy of g that resolves names with r (tests).
func (g *Guard) WithResolver(r Resolver) *Guard {
	c := *g
	c.resolver = r
	return &c
}

// RefusedError is an address the guard refused.
type RefusedError struct {
	Host   string // as given, when it was a name
	Addr   netip.Addr
	Reason string
}

func (e *RefusedError) Error() string {
	s := e.Addr.String()
	if e.Host != "" && e.Host != s {
		s = e.Host + " resolves to " + s + ", which"
	}
	return s + " is an internal address (" + e.Reason + "); Signoff does not send requests inside its network unless WEBHOOK_ALLOWED_NETWORKS lists it"
}

// Check refuses an internal address that no allowed network holds.
func (g *Guard) Check(a netip.Addr) error {
	a = a.WithZone("")
	for _, p := range g.allowed {
		if p.Contains(a) || p.Contains(a.Unmap()) {
			return nil
		}
	}
	if internal, why := Internal(a); internal {
		return &RefusedError{Addr: a, Reason: why}
	}
	return nil
}

// CheckURL checks the host of an http(s) URL an admin gave: an address
// literal in any spelling, or a name all of whose addresses must pass.
// Its errors are written for that admin.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("the URL cannot be parsed")
	}
	host := u.Hostname()
	if a, ok := ParseHost(host); ok {
		return g.Check(a)
	}
	if !validName(host) {
		return fmt.Errorf("%q is not a host name", host)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("%s cannot be resolved, so Signoff cannot tell where it leads", host)
	}
	for _, a := range addrs {
		if err := g.Check(a); err != nil {
			var re *RefusedError
			if errors.As(err, &re) {
				re.Host = host
			}
			return err
		}
	}
	return nil
}

// Control is a net.Dialer's Control: it refuses a connection to an
// internal address, whatever name led there.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("refused: %q is not an address", address)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("refused: %q is not an address", host)
	}
	return g.Check(a)
}

// ParseHost reads a URL's host as an IP address, in any spelling that a
// resolver (inet_aton) or a browser would take for one: "127.0.0.1",
// "127.1", "0x7f.1", "0177.0.0.1", "2130706433", "[::ffff:7f00:1]" (the
// brackets already gone) or with a zone. ok is false for a name.
func ParseHost(host string) (netip.Addr, bool) {
	host = strings.TrimSuffix(host, ".")
	if a, err := netip.ParseAddr(host); err == nil {
		return a, true
	}
	if i := strings.IndexByte(host, '%'); i > 0 {
		if a, err := netip.ParseAddr(host[:i]); err == nil && a.Is6() {
			return a, true
		}
	}
	return parseInetAton(host)
}

// parseInetAton reads the classic forms of an IPv4 address: one to four
// parts separated by dots, each decimal, octal (leading 0) or hex (0x);
// the last part fills the remaining bytes.
func parseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 || s == "" {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		v, ok := parseAtonPart(p)
		if !ok {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	last := len(vals) - 1
	for i, v := range vals[:last] {
		if v > 0xff {
			return netip.Addr{}, false
		}
		n |= v << (8 * (3 - i))
	}
	if vals[last] >= 1<<(8*(4-last)) {
		return netip.Addr{}, false
	}
	n |= vals[last]
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

func parseAtonPart(p string) (uint64, bool) {
	base := 10
	switch {
	case p == "":
		return 0, false
	case len(p) > 1 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true // "0x" alone is 0 to inet_aton
		}
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	v, err := strconv.ParseUint(p, base, 32)
	return v, err == nil
}

// validName accepts a DNS host name (letters, digits, hyphens, dots).
func validName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
