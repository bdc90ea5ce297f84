// Package conntrack keeps the open connections of a client or a server, so
// that all of them can be cut off at once, as net/http's Server.Close does
// and fasthttp's client and server do not.
package conntrack

import (
	"errors"
	"net"
	"sync"
)

// ErrClosed is what Add returns once the set is closed.
var ErrClosed = errors.New("connection set closed")

// Set is a set of open connections. Its zero value is empty and open.
type Set struct {
	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
}

// Add tracks c until it is closed and returns the connection to use in its
// place. After Close it closes c and returns ErrClosed.
func (s *Set) Add(c net.Conn) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return nil, ErrClosed
	}
	if s.conns == nil {
		s.conns = make(map[*conn]struct{})
	}
	cn := &conn{Conn: c, s: s}
	s.conns[cn] = struct{}{}
	return cn, nil
}

// Len returns how many tracked connections are open.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Close closes every tracked connection; connections added later are
// closed at once.
func (s *Set) Close() {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for cn := range s.conns {
		conns = append(conns, cn)
	}
	s.mu.Unlock()
	for _, cn := range conns {
		_ = cn.Close()
	}
}

// conn is a tracked connection: closing it takes it out of its set.
type conn struct {
	net.Conn
	s    *Set
	once sync.Once
}

func (cn *conn) Close() error {
	err := cn.Conn.Close()
	cn.once.Do(func() {
		cn.s.mu.Lock()
		delete(cn.s.conns, cn)
		cn.s.mu.Unlock()
	})
	return err
}

// Listener is a net.Listener whose accepted connections are tracked, so
// that Close cuts off the connections as well as the listener.
type Listener struct {
	net.Listener
	set Set
}

// Listen wraps ln.
func Listen(ln net.Listener) *Listener { return &Listener{Listener: ln} }

// Accept implements net.Listener.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc, err := l.set.Add(c)
		if errors.Is(err, ErrClosed) {
			// Accepted as the listener closed: already cut off.
			continue
		}
		return tc, err
	}
}

// Close closes the listener and every connection it accepted.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.set.Close()
	return err
}

// Open returns how many accepted connections are open.
func (l *Listener) Open() int { return l.set.Len() }
