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
}

func (e *blockedError) Error() string {
	msg := "connection to " + e.addr + " refused: " + e.reason
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
// carrier-grade NAT, link-local, unspecified, multicast, broadcast and
// reserved addresses are refused, as are IPv6 addresses that embed such an
// IPv4 address (IPv4-mapped, IPv4-compatible, NAT64). allowPrivate allows
// all of these except cloud metadata services, which hold credentials and
// are never a webhook endpoint.
func Check(ip netip.Addr, allowPrivate bool) error {
	reason, always := classify(ip)
	if reason == "" || allowPrivate && !always {
		return nil
	}
	return &blockedError{addr: ip.String(), reason: reason, always: always}
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
	// task credentials, 169.254.170.2; Alibaba Cloud on 100.100.100.200.
	{netip.MustParsePrefix("169.254.169.254/32"), "cloud metadata service", true},
	{netip.MustParsePrefix("169.254.170.2/32"), "cloud metadata service", true},
	{netip.MustParsePrefix("100.100.100.200/32"), "cloud metadata service", true},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata service", true},

	{netip.MustParsePrefix("0.0.0.0/32"), "unspecified address", false},
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network" address (0.0.0.0/8)`, false},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback address", false},
	{netip.MustParsePrefix("10.0.0.0/8"), "private address (RFC 1918)", false},
	{netip.MustParsePrefix("172.16.0.0/12"), "private address (RFC 1918)", false},
	{netip.MustParsePrefix("192.168.0.0/16"), "private address (RFC 1918)", false},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT address (RFC 6598)", false},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local address", false},
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

// Prefixes of IPv6 addresses that carry an IPv4 address in their last 32
// bits, which is where a connection to them ends up.
var (
	compatible = netip.MustParsePrefix("::/96")        // IPv4-compatible, deprecated
	nat64      = netip.MustParsePrefix("64:ff9b::/96") // NAT64 well-known prefix
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
	var form string
	switch {
	case ip.Is4In6():
		form = "IPv4-mapped"
	case compatible.Contains(ip):
		form = "IPv4-compatible"
	case nat64.Contains(ip):
		form = "NAT64"
	default:
		return "", false
	}
	b := ip.As16()
	reason, always = classify(netip.AddrFrom4([4]byte(b[12:])))
	if reason != "" {
		reason += " (" + form + ")"
	}
	return reason, always
}
