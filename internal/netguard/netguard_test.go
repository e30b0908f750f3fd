package netguard_test

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/netguard"
)

// fakeDNS answers names from a map.
type fakeDNS map[string][]string

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range f[host] {
		out = append(out, netip.MustParseAddr(s))
	}
	if len(out) == 0 {
		return nil, errors.New("no such host")
	}
	return out, nil
}

var dns = fakeDNS{
	"hooks.example.com":    {"93.184.215.14"},
	"metadata.example.com": {"169.254.169.254"},
	"split.example.com":    {"93.184.215.14", "10.1.2.3"},
	"v6.example.com":       {"2606:4700::1111"},
	"ula.example.com":      {"fd00:ec2::254"},
}

// The addresses the attacker tried, and the other spellings of the same
// places: each is refused when a webhook is added.
func TestCheckURLRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	g := netguard.New(nil).WithResolver(dns)
	for _, raw := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]/", "http://[::1]:8080/x",
		"http://127.0.0.1:5432/",
		"http://0x7f.1/", "http://0x7f000001/", "http://2130706433/", "http://017700000001/", "http://0177.0.0.1/",
		"http://127.1/", "http://127.0.0.1./", "http://0/", "http://0.0.0.0/",
		"http://[::ffff:169.254.169.254]/", "http://[::ffff:a9fe:a9fe]/", "http://[64:ff9b::a9fe:a9fe]/",
		"http://[2002:a9fe:a9fe::1]/", "http://[::127.0.0.1]/", "http://[fe80::1%25eth0]/",
		"http://10.0.0.5/", "http://172.16.3.4/", "http://192.168.1.1/", "http://100.100.100.200/",
		"http://[fd00:ec2::254]/", "http://[fc00::1]/", "http://[::]/", "http://224.0.0.1/", "http://255.255.255.255/",
		"http://metadata.example.com/", "http://split.example.com/", "http://ula.example.com/",
		"https://user:pw@127.0.0.1/",
		"http://nowhere.example.com/", // unresolvable: where it leads cannot be told
	} {
		if err := g.CheckURL(context.Background(), raw); err == nil {
			t.Errorf("CheckURL(%q) passed; want it refused", raw)
		}
	}
	for _, raw := range []string{"https://hooks.example.com/signoff", "http://v6.example.com:8080/", "https://93.184.215.14/", "https://[2606:4700::1111]/"} {
		if err := g.CheckURL(context.Background(), raw); err != nil {
			t.Errorf("CheckURL(%q): %v", raw, err)
		}
	}
	err := g.CheckURL(context.Background(), "http://metadata.example.com/")
	if !strings.Contains(err.Error(), "metadata.example.com resolves to 169.254.169.254") || !strings.Contains(err.Error(), "WEBHOOK_ALLOWED_NETWORKS") {
		t.Errorf("message %q does not say where the name leads and how to allow it", err)
	}
}

// An operator may let webhooks reach a network of theirs, and only that.
func TestAllowedNetworks(t *testing.T) {
	t.Parallel()
	g := netguard.New([]netip.Prefix{netip.MustParsePrefix("10.0.5.0/24")}).WithResolver(dns)
	if err := g.CheckURL(context.Background(), "http://10.0.5.7/hook"); err != nil {
		t.Errorf("allowed network refused: %v", err)
	}
	for _, raw := range []string{"http://10.0.6.1/", "http://127.0.0.1/", "http://169.254.169.254/"} {
		if err := g.CheckURL(context.Background(), raw); err == nil {
			t.Errorf("%s passed with only 10.0.5.0/24 allowed", raw)
		}
	}
}

// At delivery the socket's own address decides: whatever a name resolved
// to when the webhook was added, a connection inside is refused.
func TestControlRefusesInternalConnections(t *testing.T) {
	t.Parallel()
	g := netguard.New(nil)
	for _, addr := range []string{"127.0.0.1:80", "[::1]:443", "169.254.169.254:80", "[::ffff:127.0.0.1]:80", "10.1.1.1:8080", "[fe80::1%eth0]:80"} {
		if err := g.Control("tcp", addr, nil); err == nil {
			t.Errorf("Control(%s) passed", addr)
		}
	}
	if err := g.Control("tcp4", "93.184.215.14:443", nil); err != nil {
		t.Errorf("a public address: %v", err)
	}
}

// FuzzParseHost holds the host parser to what it promises: what it reads
// as an address is one, the same every time, and classified consistently
// whichever way it is written.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "0x7f.1", "2130706433", "0177.1", "::1", "::ffff:169.254.169.254", "fe80::1%eth0", "example.com", "1.2.3.4.5", "0x", "00", "."} {
		f.Add(s)
	}
	g := netguard.New(nil)
	f.Fuzz(func(t *testing.T, host string) {
		a, ok := netguard.ParseHost(host)
		if !ok {
			return
		}
		if !a.IsValid() {
			t.Fatalf("ParseHost(%q) = invalid address, ok", host)
		}
		b, ok2 := netguard.ParseHost(host)
		if !ok2 || a != b {
			t.Fatalf("ParseHost(%q) not stable", host)
		}
		// Its canonical spelling is judged the same.
		internal, _ := netguard.Internal(a)
		again, _ := netguard.Internal(netip.MustParseAddr(a.WithZone("").String()))
		if internal != again {
			t.Fatalf("%q (%s): internal %v, but its canonical form %v", host, a, internal, again)
		}
		if a.Is4() || a.Is4In6() {
			if in, _ := netguard.Internal(a.Unmap()); in != internal {
				t.Fatalf("%q: IPv4 %s and its mapped form judged differently", host, a)
			}
		}
		if err := g.Check(a); (err != nil) != internal {
			t.Fatalf("Check(%s) = %v, Internal = %v", a, err, internal)
		}
	})
}

// FuzzCheckURL: no URL whose host is a loopback, private or link-local
// address in any spelling passes.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1/", "http://0x7f.1/", "http://[::1]/", "https://hooks.example.com/x", "http://[::ffff:7f00:1]/"} {
		f.Add(s)
	}
	g := netguard.New(nil).WithResolver(dns)
	f.Fuzz(func(t *testing.T, raw string) {
		if g.CheckURL(context.Background(), raw) != nil {
			return
		}
		// It passed: then its host is a public address, or a name that
		// resolves to public addresses only.
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("CheckURL(%q) passed an unparseable URL", raw)
		}
		host := u.Hostname()
		if a, ok := netguard.ParseHost(host); ok {
			if in, _ := netguard.Internal(a); in {
				t.Fatalf("CheckURL(%q) passed internal %s", raw, a)
			}
			return
		}
		addrs, ok := dns[strings.TrimSuffix(host, ".")]
		if !ok {
			t.Fatalf("CheckURL(%q) passed a name that does not resolve", raw)
		}
		for _, s := range addrs {
			if in, _ := netguard.Internal(netip.MustParseAddr(s)); in {
				t.Fatalf("CheckURL(%q) passed a name resolving to %s", raw, s)
			}
		}
	})
}
