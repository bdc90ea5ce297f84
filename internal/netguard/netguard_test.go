package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr   string
		reason string // "" when the address is allowed
		always bool   // refused even with private networks allowed
	}{
		// Public destinations. Classified only: tests never dial them.
		{addr: "93.184.216.34"},
		{addr: "8.8.8.8"},
		{addr: "1.1.1.1"},
		{addr: "2606:2800:220:1::"},
		{addr: "2606:2800:220:1:248:1893:25c8:1946"},
		{addr: "2001:4860:4860::8888"},
		{addr: "::ffff:93.184.216.34"},
		{addr: "64:ff9b::8.8.8.8"},
		// Just outside blocked ranges.
		{addr: "9.255.255.255"},
		{addr: "11.0.0.0"},
		{addr: "172.15.255.255"},
		{addr: "172.32.0.0"},
		{addr: "192.167.255.255"},
		{addr: "192.169.0.0"},
		{addr: "100.63.255.255"},
		{addr: "100.128.0.0"},
		{addr: "169.253.255.255"},
		{addr: "223.255.255.255"},
		{addr: "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{addr: "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{addr: "191.255.255.255"},
		{addr: "192.0.1.0"},
		{addr: "198.17.255.255"},
		{addr: "198.20.0.0"},
		{addr: "168.63.129.15"},
		{addr: "168.63.129.17"},
		{addr: "64:ff9b:2::1"},
		// 6to4 and Teredo addresses whose IPv4 addresses are public.
		{addr: "2002:808:808::1"},
		{addr: "2001:0:402:202::f7f7:f7f7"}, // server 4.2.2.2, client 8.8.8.8

		{addr: "127.0.0.1", reason: "loopback address"},
		{addr: "127.255.255.254", reason: "loopback address"},
		{addr: "::1", reason: "loopback address"},
		{addr: "0.0.0.0", reason: "unspecified address"},
		{addr: "::", reason: "unspecified address"},
		{addr: "0.1.2.3", reason: `"this network" address (0.0.0.0/8)`},
		{addr: "10.0.0.1", reason: "private address (RFC 1918)"},
		{addr: "10.255.255.255", reason: "private address (RFC 1918)"},
		{addr: "172.16.0.1", reason: "private address (RFC 1918)"},
		{addr: "172.31.255.255", reason: "private address (RFC 1918)"},
		{addr: "192.168.1.1", reason: "private address (RFC 1918)"},
		{addr: "100.64.0.1", reason: "carrier-grade NAT address (RFC 6598)"},
		{addr: "100.127.255.255", reason: "carrier-grade NAT address (RFC 6598)"},
		{addr: "169.254.0.1", reason: "link-local address"},
		{addr: "169.254.169.253", reason: "link-local address"},
		{addr: "fe80::1", reason: "link-local address"},
		{addr: "fe80::1%eth0", reason: "link-local address"},
		{addr: "febf::1", reason: "link-local address"},
		{addr: "fec0::1", reason: "site-local address (private IPv6)"},
		{addr: "fc00::1", reason: "unique local address (private IPv6)"},
		{addr: "fd12:3456:789a::1", reason: "unique local address (private IPv6)"},
		{addr: "224.0.0.1", reason: "multicast address"},
		{addr: "239.255.255.250", reason: "multicast address"},
		{addr: "ff02::1", reason: "multicast address"},
		{addr: "ff05::1%eth0", reason: "multicast address"},
		{addr: "255.255.255.255", reason: "broadcast address"},
		{addr: "240.0.0.1", reason: "reserved address (240.0.0.0/4)"},
		{addr: "192.0.0.1", reason: "IETF protocol assignment (192.0.0.0/24)"},
		{addr: "192.0.0.8", reason: "IETF protocol assignment (192.0.0.0/24)"},
		{addr: "192.0.0.255", reason: "IETF protocol assignment (192.0.0.0/24)"},
		{addr: "198.18.0.1", reason: "benchmarking address (198.18.0.0/15)"},
		{addr: "198.19.255.255", reason: "benchmarking address (198.18.0.0/15)"},

		{addr: "169.254.169.254", reason: "cloud metadata service", always: true},
		{addr: "169.254.170.2", reason: "cloud metadata service", always: true},
		{addr: "100.100.100.200", reason: "cloud metadata service", always: true},
		{addr: "fd00:ec2::254", reason: "cloud metadata service", always: true},
		{addr: "192.0.0.192", reason: "cloud metadata service", always: true},
		{addr: "168.63.129.16", reason: "cloud metadata service", always: true},

		// IPv6 forms that reach an IPv4 address.
		{addr: "::ffff:127.0.0.1", reason: "loopback address (IPv4-mapped)"},
		{addr: "::ffff:7f00:1", reason: "loopback address (IPv4-mapped)"},
		{addr: "::ffff:10.1.2.3", reason: "private address (RFC 1918) (IPv4-mapped)"},
		{addr: "::ffff:0.0.0.0", reason: "unspecified address (IPv4-mapped)"},
		{addr: "::ffff:169.254.169.254", reason: "cloud metadata service (IPv4-mapped)", always: true},
		{addr: "::127.0.0.1", reason: "loopback address (IPv4-compatible)"},
		{addr: "::192.168.0.1", reason: "private address (RFC 1918) (IPv4-compatible)"},
		{addr: "64:ff9b::127.0.0.1", reason: "loopback address (NAT64)"},
		{addr: "64:ff9b::a9fe:a9fe", reason: "cloud metadata service (NAT64)", always: true},
		{addr: "64:ff9b::c612:1", reason: "benchmarking address (198.18.0.0/15) (NAT64)"},
		{addr: "2002:7f00:1::", reason: "loopback address (6to4)"},
		{addr: "2002:c0a8:101::1", reason: "private address (RFC 1918) (6to4)"},
		{addr: "2002:c000:c0::1", reason: "cloud metadata service (6to4)", always: true},
		{addr: "2002:a9fe:a9fe:1:2:3:4:5", reason: "cloud metadata service (6to4)", always: true},
		// Teredo: the server's address in bits 32-63, the client's
		// inverted in the last 32.
		{addr: "2001:0:7f00:1::f7f7:f7f7", reason: "loopback address (Teredo)"},            // server 127.0.0.1
		{addr: "2001:0:402:202::f5ff:fffe", reason: "private address (RFC 1918) (Teredo)"}, // client 10.0.0.1
		{addr: "2001:0:402:202::5601:5601", reason: "cloud metadata service (Teredo)", always: true},
		{addr: "2001:0:a00:1::5601:5601", reason: "cloud metadata service (Teredo)", always: true}, // private server, metadata client
		{addr: "2001:0:a9fe:a9fe::f7f7:f7f7", reason: "cloud metadata service (Teredo)", always: true},
		{addr: "2001:0:402:202::", reason: "broadcast address (Teredo)"}, // client 255.255.255.255
		// The local-use NAT64 prefix is private whatever it embeds, and a
		// metadata address where any prefix length would put it is
		// refused always.
		{addr: "64:ff9b:1::1", reason: "local-use NAT64 address (64:ff9b:1::/48)"},
		{addr: "64:ff9b:1::808:808", reason: "local-use NAT64 address (64:ff9b:1::/48)"},
		{addr: "64:ff9b:1::a9fe:a9fe", reason: "cloud metadata service (local-use NAT64)", always: true},
		{addr: "64:ff9b:1:a9fe:a9:fe00::", reason: "cloud metadata service (local-use NAT64)", always: true},
		{addr: "64:ff9b:1::a9:fea9:fe00:0", reason: "cloud metadata service (local-use NAT64)", always: true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			ip := netip.MustParseAddr(tt.addr)
			reason, always := classify(ip)
			if reason != tt.reason || always != tt.always {
				t.Errorf("classify(%s) = %q, %v; want %q, %v", tt.addr, reason, always, tt.reason, tt.always)
			}
			for _, allowPrivate := range []bool{false, true} {
				err := Check(ip, allowPrivate)
				wantBlocked := tt.reason != "" && (!allowPrivate || tt.always)
				if wantBlocked != errors.Is(err, ErrBlocked) {
					t.Errorf("Check(%s, allowPrivate=%v) = %v, want blocked %v", tt.addr, allowPrivate, err, wantBlocked)
				}
				if err != nil && !strings.Contains(err.Error(), tt.reason) {
					t.Errorf("Check(%s) error %q does not give the reason %q", tt.addr, err, tt.reason)
				}
			}
		})
	}
}

func TestCheckInvalid(t *testing.T) {
	t.Parallel()
	for _, allowPrivate := range []bool{false, true} {
		if err := Check(netip.Addr{}, allowPrivate); !errors.Is(err, ErrBlocked) {
			t.Errorf("Check(zero Addr, %v) = %v, want ErrBlocked", allowPrivate, err)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		addr         string
		allowPrivate bool
		want         string
	}{
		{
			name: "private destination",
			addr: "127.0.0.1",
			want: "connection to 127.0.0.1 refused: loopback address; start hookline with --allow-private-networks to allow private destinations",
		},
		{
			name: "metadata service",
			addr: "169.254.169.254",
			want: "connection to 169.254.169.254 refused: cloud metadata service; hookline never connects to it, even with --allow-private-networks",
		},
		{
			name:         "metadata service with private networks allowed",
			addr:         "169.254.169.254",
			allowPrivate: true,
			want:         "connection to 169.254.169.254 refused: cloud metadata service; hookline never connects to it, even with --allow-private-networks",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Check(netip.MustParseAddr(tt.addr), tt.allowPrivate)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Check error:\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestControl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		address      string
		allowPrivate bool
		blocked      bool
	}{
		{name: "public ipv4", address: "93.184.216.34:443"},
		{name: "public ipv6", address: "[2606:2800:220:1::]:443"},
		{name: "loopback", address: "127.0.0.1:8080", blocked: true},
		{name: "loopback allowed", address: "127.0.0.1:8080", allowPrivate: true},
		{name: "ipv6 loopback", address: "[::1]:80", blocked: true},
		{name: "link-local with zone", address: "[fe80::1%eth0]:80", blocked: true},
		{name: "mapped private", address: "[::ffff:192.168.0.10]:443", blocked: true},
		{name: "metadata", address: "169.254.169.254:80", blocked: true},
		{name: "metadata with private allowed", address: "169.254.169.254:80", allowPrivate: true, blocked: true},
		{name: "hostname", address: "example.com:80", blocked: true},
		{name: "no port", address: "93.184.216.34", blocked: true},
		{name: "empty", address: "", blocked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Control(tt.allowPrivate)("tcp", tt.address, nil)
			if tt.blocked != errors.Is(err, ErrBlocked) {
				t.Errorf("Control(%v)(%q) = %v, want blocked %v", tt.allowPrivate, tt.address, err, tt.blocked)
			}
		})
	}
}

// get requests url through a client whose dialer is guarded.
func get(t *testing.T, allowPrivate bool, rawURL string) (*http.Response, error) {
	t.Helper()
	client := &http.Client{
		Transport: &http.Transport{DialContext: Dialer(allowPrivate, 5*time.Second).DialContext},
		Timeout:   10 * time.Second,
	}
	t.Cleanup(client.CloseIdleConnections)
	resp, err := client.Get(rawURL)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

func TestDial(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	localhost := "http://localhost:" + u.Port()

	tests := []struct {
		name         string
		url          string
		allowPrivate bool
		blocked      bool
	}{
		{name: "loopback refused", url: srv.URL, blocked: true},
		{name: "loopback allowed", url: srv.URL, allowPrivate: true},
		// localhost passes any check of the URL's host; it is refused
		// once it resolves, at connect time.
		{name: "localhost refused", url: localhost, blocked: true},
		{name: "localhost allowed", url: localhost, allowPrivate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if strings.Contains(tt.url, "localhost") {
				if _, err := net.DefaultResolver.LookupHost(context.Background(), "localhost"); err != nil {
					t.Skipf("localhost does not resolve here: %v", err)
				}
			}
			resp, err := get(t, tt.allowPrivate, tt.url)
			if !tt.blocked {
				if err != nil {
					t.Fatalf("GET %s: %v", tt.url, err)
				}
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: status %d", tt.url, resp.StatusCode)
				}
				return
			}
			if !errors.Is(err, ErrBlocked) {
				t.Fatalf("GET %s = %v, want ErrBlocked", tt.url, err)
			}
			if !strings.Contains(err.Error(), "--allow-private-networks") {
				t.Errorf("error %q does not say how to allow the destination", err)
			}
		})
	}
}

func TestDialIPv6Loopback(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	// The kernel completes handshakes into the backlog, so dials succeed
	// without anything accepting them.
	t.Cleanup(func() { ln.Close() })
	tests := []struct {
		name         string
		allowPrivate bool
		blocked      bool
	}{
		{"refused", false, true},
		{"allowed", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Dialer(tt.allowPrivate, 5*time.Second).Dial("tcp", ln.Addr().String())
			if err == nil {
				c.Close()
			}
			if tt.blocked != errors.Is(err, ErrBlocked) {
				t.Errorf("dial %s = %v, want blocked %v", ln.Addr(), err, tt.blocked)
			}
			if !tt.blocked && err != nil {
				t.Errorf("dial %s: %v", ln.Addr(), err)
			}
		})
	}
}

func TestDialerTimeout(t *testing.T) {
	t.Parallel()
	if d := Dialer(false, 3*time.Second); d.Timeout != 3*time.Second || d.Control == nil {
		t.Errorf("Dialer = %+v, want a 3s timeout and a Control", d)
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		blocked bool // without private networks allowed
		always  bool // with them allowed too
		want    string
	}{
		{url: "https://example.com/hook"},
		{url: "https://93.184.216.34/hook"},
		{url: "http://[2606:2800:220:1::]:8080/hook"},
		{url: "https://localhost.example.com/"},
		{url: "not a url\x7f"},
		{url: "http://127.0.0.1:8080/hook", blocked: true,
			want: "host 127.0.0.1 is refused: loopback address; start hookline with --allow-private-networks to allow private destinations"},
		{url: "http://10.1.2.3/", blocked: true},
		{url: "http://[::1]/", blocked: true},
		{url: "http://[fe80::1%25eth0]/", blocked: true},
		{url: "http://[::ffff:192.168.0.1]/", blocked: true},
		{url: "http://[2002:c0a8:101::1]/", blocked: true},
		{url: "http://localhost:3000/hook", blocked: true,
			want: "host localhost is refused: localhost, a loopback address; start hookline with --allow-private-networks to allow private destinations"},
		{url: "http://LocalHost./", blocked: true},
		{url: "http://api.localhost/", blocked: true},
		{url: "http://169.254.169.254/latest/meta-data/", blocked: true, always: true,
			want: "host 169.254.169.254 is refused: cloud metadata service; hookline never connects to it, even with --allow-private-networks"},
		{url: "http://168.63.129.16/", blocked: true, always: true},
		{url: "http://[fd00:ec2::254]/", blocked: true, always: true},
		{url: "http://[64:ff9b::a9fe:a9fe]/", blocked: true, always: true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			err := CheckURL(tt.url, false)
			if tt.blocked != errors.Is(err, ErrBlocked) {
				t.Errorf("CheckURL(%q, false) = %v, want blocked %v", tt.url, err, tt.blocked)
			}
			if tt.want != "" && (err == nil || err.Error() != tt.want) {
				t.Errorf("CheckURL(%q, false) error:\n got %v\nwant %s", tt.url, err, tt.want)
			}
			if err := CheckURL(tt.url, true); tt.always != errors.Is(err, ErrBlocked) {
				t.Errorf("CheckURL(%q, true) = %v, want blocked %v", tt.url, err, tt.always)
			}
		})
	}
}
