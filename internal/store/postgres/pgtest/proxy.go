package pgtest

import (
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards connections to the test server on 127.0.0.1 and can play
// it down: while down it drops every connection, old and new, as a stopped
// server does, and once up it forwards again.
type Proxy struct {
	ln    net.Listener
	to    string
	down  atomic.Bool
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// NewProxy starts a Proxy in front of the server of dsn, and returns it
// with dsn changed to reach the server through it, giving up on a
// connection after connectTimeout seconds. It stops when t ends.
func NewProxy(t testing.TB, dsn string, connectTimeout int) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	Must(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Must(t, err)
	p := &Proxy{ln: ln, to: u.Host}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.SetDown(true)
		p.wg.Wait()
	})
	u.Host = ln.Addr().String()
	q := u.Query()
	q.Set("connect_timeout", strconv.Itoa(connectTimeout))
	u.RawQuery = q.Encode()
	return p, u.String()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			c.Close()
			continue
		}
		s, err := net.DialTimeout("tcp", p.to, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(s, c); s.Close() }()
		go func() { defer p.wg.Done(); io.Copy(c, s); c.Close() }()
	}
}

// Addr is the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetDown plays the server down, dropping every connection, or up again.
func (p *Proxy) SetDown(down bool) {
	p.down.Store(down)
	if !down {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
