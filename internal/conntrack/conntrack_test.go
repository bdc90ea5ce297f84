package conntrack

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// pair returns both ends of a loopback TCP connection, the server's end
// accepted by ln.
func pair(t *testing.T, ln net.Listener) (client, server net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}

// closedByPeer reports whether c's peer has closed the connection.
func closedByPeer(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

func TestListenerCloseCutsConnections(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Listen(raw)
	c1, _ := pair(t, ln)
	c2, s2 := pair(t, ln)
	if got := ln.Open(); got != 2 {
		t.Fatalf("open connections = %d, want 2", got)
	}
	// A connection closed on its own leaves the set.
	s2.Close()
	if !closedByPeer(t, c2) {
		t.Fatal("closing the accepted connection did not close it")
	}
	if got := ln.Open(); got != 1 {
		t.Fatalf("open connections after one closed = %d, want 1", got)
	}
	ln.Close()
	if !closedByPeer(t, c1) {
		t.Error("Close left an accepted connection open")
	}
	if ln.Open() != 0 {
		t.Errorf("open connections after Close = %d, want 0", ln.Open())
	}
	if _, err := net.DialTimeout("tcp", raw.Addr().String(), time.Second); err == nil {
		t.Error("the port still accepts connections after Close")
	}
}

func TestSetAddAfterClose(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var s Set
	s.Close()
	client, server := pair(t, raw)
	if _, err := s.Add(server); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close = %v, want ErrClosed", err)
	}
	if !closedByPeer(t, client) {
		t.Error("Add after Close left the connection open")
	}
}
