// Package netguard keeps hookline's outbound requests from reaching
// addresses they must not: loopback, private and link-local networks, and
// the cloud metadata services on them. Endpoint URLs come from users, so
// without the guard anyone who can add an endpoint could make hookline
// probe its own network and, since hookline stores response bodies, read
// what answers (server-side request forgery).
//
// The check runs in net.Dialer.Control, after name resolution and just
// before each connect, on the address actually connected to. A hostname
// that resolves to a private address, or that answers differently when
// validated and when dialed (DNS rebinding), is therefore caught where a
// check of the URL alone would pass it.
//
// The guard sees the address a dialer connects to; through an HTTP proxy
// that is the proxy's, so a transport using it should not use a proxy
// (http.Transport.Proxy left nil, not http.ProxyFromEnvironment).
package netguard

import (
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is the kind of every error the guard returns. Dial errors
// wrap it, so callers test a failed request with errors.Is.
var ErrBlocked = errors.New("destination blocked")

// allowFlag is the command-line flag that turns the guard off for private
// networks; errors name it so an operator knows what to do.
const allowFlag = "--allow-private-networks"

// blockedError says which address was refused and why.
type blockedError struct {
	addr   string
	reason string
	// always is set for destinations refused even with private networks
	// allowed.
	always bool
	// url is set when the address was refused as the host of a URL, not
	// at connect time.
	url bool
}

func (e *blockedError) Error() string {
	msg := "connection to " + e.addr + " refused: " + e.reason
	if e.url {
		msg = "host " + e.addr + " is refused: " + e.reason
	}
	if e.always {
		return msg + "; hookline never connects to it, even with " + allowFlag
	}
	return msg + "; start hookline with " + allowFlag + " to allow private destinations"
}

func (e *blockedError) Is(target error) bool { return target == ErrBlocked }

// Control returns a function for net.Dialer.Control that refuses to
// connect to any address Check refuses.
func Control(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			// Dialers pass a resolved ip:port; anything else is not a
			// network address the guard can vouch for.
			return &blockedError{addr: address, reason: "not an IP address and port", always: true}
		}
		return Check(ap.Addr(), allowPrivate)
	}
}

// Dialer returns a net.Dialer guarded by Control, with the given connect
// timeout (zero for none but the operating system's).
func Dialer(allowPrivate bool, timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: Control(allowPrivate)}
}

// Check returns an error wrapping ErrBlocked if hookline must not connect
// to ip, or nil. Loopback, private (RFC 1918, IPv6 unique local),
// carrier-grade NAT, link-local, unspecified, multicast, broadcast,
// benchmarking, IETF protocol assignment and reserved addresses are
// refused, as are IPv6 addresses that lead to such an IPv4 address
// (IPv4-mapped, IPv4-compatible, NAT64, 6to4, and Teredo by its server or
// its client) and the local-use NAT64 prefix. allowPrivate allows all of
// these except cloud metadata services, which hold credentials and are
// never a webhook endpoint.
func Check(ip netip.Addr, allowPrivate bool) error {
	reason, always := classify(ip)
	if reason == "" || allowPrivate && !always {
		return nil
	}
	return &blockedError{addr: ip.String(), reason: reason, always: always}
}

// CheckURL returns an error wrapping ErrBlocked if every connection to
// rawURL would be refused, whatever names resolve to: its host is an IP
// address Check refuses, or localhost, which names the loopback interface
// (RFC 6761). Callers use it where a URL is set, so that one that can
// never be reached is refused then, rather than at each request. It
// returns nil for a URL it cannot parse, and does not resolve hostnames:
// Control checks the address each one resolves to when it is dialed.
func CheckURL(rawURL string, allowPrivate bool) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := Check(ip, allowPrivate); err != nil {
			var be *blockedError
			if errors.As(err, &be) {
				be.url = true
			}
			return err
		}
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if !allowPrivate && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return &blockedError{addr: host, reason: "localhost, a loopback address", url: true}
	}
	return nil
}

// rule names a range of addresses that is refused.
type rule struct {
	prefix netip.Prefix
	reason string
	// always marks cloud metadata services, refused even when private
	// networks are allowed.
	always bool
}

// rules are tried in order and the first match wins, so single addresses
// come before the ranges holding them.
var rules = []rule{
	// Cloud metadata services. AWS, GCP, Azure, Oracle and DigitalOcean
	// answer on 169.254.169.254; AWS also on fd00:ec2::254 and, for ECS
	// task credentials, 169.254.170.2; Alibaba Cloud on 100.100.100.200;
	// Oracle Cloud Classic on 192.0.0.192; Azure's WireServer, which hands
	// VM agents their certificates, on 168.63.129.16.
	{netip.MustParsePrefix("169.254.169.254/32"), "cloud metadata service", true},
	{netip.MustParsePrefix("169.254.170.2/32"), "cloud metadata service", true},
	{netip.MustParsePrefix("100.100.100.200/32"), "cloud metadata service", true},
	{netip.MustParsePrefix("192.0.0.192/32"), "cloud metadata service", true},
	{netip.MustParsePrefix("168.63.129.16/32"), "cloud metadata service", true},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata service", true},

	{netip.MustParsePrefix("0.0.0.0/32"), "unspecified address", false},
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network" address (0.0.0.0/8)`, false},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback address", false},
	{netip.MustParsePrefix("10.0.0.0/8"), "private address (RFC 1918)", false},
	{netip.MustParsePrefix("172.16.0.0/12"), "private address (RFC 1918)", false},
	{netip.MustParsePrefix("192.168.0.0/16"), "private address (RFC 1918)", false},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT address (RFC 6598)", false},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local address", false},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment (192.0.0.0/24)", false},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking address (198.18.0.0/15)", false},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast address", false},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast address", false},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved address (240.0.0.0/4)", false},

	{netip.MustParsePrefix("::/128"), "unspecified address", false},
	{netip.MustParsePrefix("::1/128"), "loopback address", false},
	{netip.MustParsePrefix("fc00::/7"), "unique local address (private IPv6)", false},
	{netip.MustParsePrefix("fe80::/10"), "link-local address", false},
	{netip.MustParsePrefix("fec0::/10"), "site-local address (private IPv6)", false},
	{netip.MustParsePrefix("ff00::/8"), "multicast address", false},
}

// Prefixes of IPv6 addresses that lead to an IPv4 address, which is where
// a connection to them ends up.
var (
	compatible = netip.MustParsePrefix("::/96")          // IPv4-compatible, deprecated: the last 32 bits
	nat64      = netip.MustParsePrefix("64:ff9b::/96")   // NAT64 well-known prefix: the last 32 bits
	localNAT64 = netip.MustParsePrefix("64:ff9b:1::/48") // NAT64 local-use prefix (RFC 8215)
	sixToFour  = netip.MustParsePrefix("2002::/16")      // 6to4: bits 16-47
	teredo     = netip.MustParsePrefix("2001::/32")      // Teredo: server and client, see classify
)

// classify returns why ip is refused, or "" if it is not, and whether it
// is refused even with private networks allowed.
func classify(ip netip.Addr) (reason string, always bool) {
	if !ip.IsValid() {
		return "invalid address", true
	}
	// Prefix.Contains never matches an address with a zone, so the zone
	// must go before matching, or fe80::1%eth0 would pass.
	ip = ip.WithZone("")
	for _, r := range rules {
		if r.prefix.Contains(ip) {
			return r.reason, r.always
		}
	}
	if !ip.Is6() {
		return "", false
	}
	b := ip.As16()
	v4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte(b[i : i+4])) }
	switch {
	case ip.Is4In6():
		return classifyEmbedded("IPv4-mapped", v4(12))
	case compatible.Contains(ip):
		return classifyEmbedded("IPv4-compatible", v4(12))
	case nat64.Contains(ip):
		return classifyEmbedded("NAT64", v4(12))
	case sixToFour.Contains(ip):
		return classifyEmbedded("6to4", v4(2))
	case teredo.Contains(ip):
		// A Teredo address holds its server's IPv4 address in bits 32-63
		// and its client's public IPv4 address, inverted, in the last 32
		// bits. Packets reach the client at that address, and the first
		// ones go by way of the server, so the guard refuses the address
		// when it would refuse either.
		client := b
		for i := 12; i < 16; i++ {
			client[i] ^= 0xff
		}
		return classifyEmbedded("Teredo", v4(4), netip.AddrFrom4([4]byte(client[12:16])))
	case localNAT64.Contains(ip):
		// The local-use prefix translates into the operator's own
		// network, and where the IPv4 address sits depends on the length
		// of the prefix the network chose (RFC 6052, section 2.2), so the
		// whole range is private. A metadata address at any of the places
		// it could sit is refused even when private networks are allowed.
		candidates := []netip.Addr{
			netip.AddrFrom4([4]byte{b[6], b[7], b[9], b[10]}),  // /48
			netip.AddrFrom4([4]byte{b[7], b[9], b[10], b[11]}), // /56
			v4(9),  // /64
			v4(12), // /96
		}
		if reason, always := classifyEmbedded("local-use NAT64", candidates...); always {
			return reason, always
		}
		return "local-use NAT64 address (64:ff9b:1::/48)", false
	}
	return "", false
}

// classifyEmbedded classifies the IPv4 addresses an IPv6 address of the
// given form leads to, and returns the strictest refusal among them.
func classifyEmbedded(form string, addrs ...netip.Addr) (reason string, always bool) {
	for _, a := range addrs {
		r, al := classify(a)
		if r != "" && (reason == "" || al && !always) {
			reason, always = r+" ("+form+")", al
		}
	}
	return reason, always
}
