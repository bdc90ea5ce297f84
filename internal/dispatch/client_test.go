package dispatch

import (
	"bufio"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// post sends body to url with c and returns the response.
func post(t *testing.T, c Client, url string, header http.Header) (Response, error) {
	t.Helper()
	var resp Response
	err := c.Do(&Request{URL: url, Header: header, Body: []byte(`{"a":1}`), Deadline: time.Now().Add(10 * time.Second),
		MaxBody: 1 << 10}, &resp)
	return resp, err
}

func TestClientSendsURLAsWritten(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.RequestURI)
		mu.Unlock()
	}))
	c := NewClient(nil, time.Second)
	t.Cleanup(c.Close)
	// Receivers route by the exact path and check query tokens, so the
	// client must not clean either up.
	paths := []string{"/hook", "/a//b/../c%2Fd/", "/x?token=a+b%20c&empty=&t=%2F", "/%E2%82%AC?q"}
	for _, p := range paths {
		resp, err := post(t, c, srv.URL+p+"#fragment", nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("post %s: %d, %v", p, resp.StatusCode, err)
		}
	}
	want := make([]string, len(paths))
	for i, p := range paths {
		want[i] = "POST " + p
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request lines (-want +got):\n%s", diff)
	}
}

func TestClientHeaders(t *testing.T) {
	var seen http.Header
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		seen.Set("Host", r.Host)
		w.Header().Add("X-Multi", "one")
		w.Header().Add("X-Multi", "two")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.WriteHeader(201)
		io.WriteString(w, "created")
	}))
	c := NewClient(nil, time.Second)
	t.Cleanup(c.Close)
	resp, err := post(t, c, srv.URL, http.Header{
		"X-Custom":     {"v1", "v2"},
		"Content-Type": {"application/json"},
		"User-Agent":   {"hookline-test"},
		// Hop-by-hop headers of a forwarded request describe the sender's
		// connection, not this one.
		"Connection": {"close"},
		"Host":       {"elsewhere.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || string(resp.Body) != "created" || resp.Truncated {
		t.Errorf("response %d %q truncated=%v, want 201 \"created\"", resp.StatusCode, resp.Body, resp.Truncated)
	}
	if diff := cmp.Diff([]string{"one", "two"}, resp.Header["X-Multi"]); diff != "" {
		t.Errorf("X-Multi (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a=1", "b=2"}, resp.Header["Set-Cookie"]); diff != "" {
		t.Errorf("Set-Cookie (-want +got):\n%s", diff)
	}
	for k, want := range map[string]string{"X-Custom": "v1", "Content-Type": "application/json", "User-Agent": "hookline-test",
		"Host": strings.TrimPrefix(srv.URL, "http://"), "Connection": ""} {
		if got := seen.Get(k); got != want {
			t.Errorf("request header %s = %q, want %q", k, got, want)
		}
	}
	if got := seen.Values("X-Custom"); len(got) != 2 {
		t.Errorf("X-Custom sent as %q, want both values", got)
	}
}

func TestClientRefusesInvalidHeaders(t *testing.T) {
	var requests int
	srv := newServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests++ }))
	c := NewClient(nil, time.Second)
	t.Cleanup(c.Close)
	for _, h := range []http.Header{
		{"X-Bad": {"a\r\nInjected: yes"}},
		{"X-Bad": {"nul\x00"}},
		{"Bad Name": {"v"}},
		{"Bad:Name": {"v"}},
	} {
		resp, err := post(t, c, srv.URL, h)
		if !errors.Is(err, ErrInvalidRequest) || resp.StatusCode != 0 {
			t.Errorf("headers %q: %d, %v, want ErrInvalidRequest and no response", h, resp.StatusCode, err)
		}
	}
	if requests != 0 {
		t.Errorf("%d requests reached the server", requests)
	}
}

// TestClientResendsOnStaleConnection checks that a request sent on a
// kept-alive connection the receiver closed in the meantime is sent again
// on a new one rather than failing the attempt.
func TestClientResendsOnStaleConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	// The receiver answers one request per connection as if it kept the
	// connection alive, then closes it, as servers with a short idle
	// timeout do.
	closed := make(chan struct{}, 10)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			req, err := http.ReadRequest(bufio.NewReader(conn))
			if err == nil {
				_, _ = io.Copy(io.Discard, req.Body)
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
			conn.Close()
			closed <- struct{}{}
		}
	}()
	c := NewClient(nil, time.Second)
	t.Cleanup(c.Close)
	url := "http://" + ln.Addr().String() + "/hook"
	for i := range 3 {
		resp, err := post(t, c, url, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d: %d, %v", i, resp.StatusCode, err)
		}
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("the receiver did not close its connection")
		}
	}
}

func TestClientCloseCutsOffRequests(t *testing.T) {
	slow := newBlocker()
	srv := newServer(t, slow)
	t.Cleanup(func() { close(slow.release) })
	c := NewClient(nil, time.Second)
	done := make(chan error, 1)
	go func() {
		_, err := post(t, c, srv.URL, nil)
		done <- err
	}()
	slow.waitArrivals(t, 1)
	c.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("the request in flight succeeded after Close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not cut off the request in flight")
	}
	if _, err := post(t, c, srv.URL, nil); !errors.Is(err, errClosed) {
		t.Errorf("request after Close: %v, want %v", err, errClosed)
	}
}

func TestClientTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// The test server's certificate is signed by no root the system
	// trusts: the handshake must fail.
	c := NewClient(nil, time.Second)
	t.Cleanup(c.Close)
	resp, err := post(t, c, srv.URL, nil)
	if err == nil || resp.StatusCode != 0 || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %d, %v, want a certificate error", resp.StatusCode, err)
	}

	trusted := NewClient(nil, time.Second)
	t.Cleanup(trusted.Close)
	trusted.fc.TLSConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	for range 3 {
		resp, err := post(t, trusted, srv.URL+"/hook", nil)
		if err != nil || resp.StatusCode != 200 || string(resp.Body) != "HTTP/1.1" {
			t.Fatalf("trusted certificate: %d %q, %v, want 200 HTTP/1.1", resp.StatusCode, resp.Body, err)
		}
	}
	if n := trusted.fc.ConnsCount(); n != 1 {
		t.Errorf("%d connections for 3 sequential requests, want 1 kept alive", n)
	}
}

// TestClientBodyCutOff checks what Do reports when the answer arrives but
// its body does not: the status, the part of the body that came, and why
// the rest did not.
func TestClientBodyCutOff(t *testing.T) {
	slow := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "0123456789")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	dropped := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		buf.WriteString("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100\r\n\r\nabc")
		buf.Flush()
		conn.Close()
	}))
	c := NewClient(nil, time.Second)
	t.Cleanup(c.Close)
	for _, tc := range []struct {
		name    string
		url     string
		code    int
		body    string
		timeout bool
	}{
		{"timeout in the body", slow.URL, 200, "0123456789", true},
		{"connection closed in the body", dropped.URL, 500, "abc", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resp Response
			err := c.Do(&Request{URL: tc.url, Body: []byte(`{}`), Deadline: time.Now().Add(300 * time.Millisecond), MaxBody: 1 << 10}, &resp)
			if err == nil || resp.StatusCode != tc.code || string(resp.Body) != tc.body {
				t.Fatalf("got %d %q, %v; want %d %q and an error", resp.StatusCode, resp.Body, err, tc.code, tc.body)
			}
			if got := requestError(err, 300*time.Millisecond) == "timed out after 300ms waiting for a response"; got != tc.timeout {
				t.Errorf("error %q: reported as a timeout = %v, want %v", err, got, tc.timeout)
			}
		})
	}
}

func TestReadCapped(t *testing.T) {
	tests := []struct {
		size, limit   int
		wantLen       int
		wantTruncated bool
	}{
		{0, 10, 0, false},
		{10, 10, 10, false},
		{11, 10, 10, true},
		{5000, 100, 100, true},
		{70000, 65536, 65536, true},
	}
	for _, tt := range tests {
		b, truncated, err := readCapped(strings.NewReader(strings.Repeat("x", tt.size)), nil, tt.limit)
		if err != nil || len(b) != tt.wantLen || truncated != tt.wantTruncated {
			t.Errorf("readCapped(%d bytes, %d) = %d bytes, %v, %v; want %d, %v", tt.size, tt.limit, len(b), truncated, err, tt.wantLen, tt.wantTruncated)
		}
	}
}

// TestNoResponseText checks what an attempt records when a receiver on a
// real loopback listener gives no response: what happened, in the
// receiver's terms, rather than the text Go or fasthttp has for the
// developers of HTTP clients and servers.
func TestNoResponseText(t *testing.T) {
	t.Parallel()
	partial := func(c *net.TCPConn) { io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-") }
	tests := []struct {
		name string
		// end is what the receiver does once it has read the request;
		// the connection is closed after it.
		end  func(c *net.TCPConn, stop <-chan struct{})
		want string
	}{
		{
			name: "reset",
			end:  func(c *net.TCPConn, _ <-chan struct{}) { c.SetLinger(0) },
			want: "connection reset before a response",
		},
		{
			name: "closed",
			end:  func(*net.TCPConn, <-chan struct{}) {},
			want: "connection closed before a response",
		},
		{
			name: "reset in the status line",
			end:  func(c *net.TCPConn, _ <-chan struct{}) { partial(c); c.SetLinger(0) },
			want: "connection reset before a response",
		},
		{
			name: "closed in the headers",
			end:  func(c *net.TCPConn, _ <-chan struct{}) { partial(c) },
			want: "connection closed before a response",
		},
		{
			name: "no answer",
			end:  func(_ *net.TCPConn, stop <-chan struct{}) { <-stop },
			want: "timed out after 300ms waiting for a response",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := rawServer(t, tt.end)
			c := NewClient(nil, time.Second)
			t.Cleanup(c.Close)
			var resp Response
			err := c.Do(&Request{URL: url, Body: []byte(`{}`), Deadline: time.Now().Add(300 * time.Millisecond), MaxBody: 1 << 10}, &resp)
			if err == nil || resp.StatusCode != 0 {
				t.Fatalf("got %d, %v; want no response", resp.StatusCode, err)
			}
			if got := requestError(err, 300*time.Millisecond); got != tt.want {
				t.Errorf("requestError(%q) = %q, want %q", err, got, tt.want)
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		c := NewClient(nil, time.Second)
		t.Cleanup(c.Close)
		var resp Response
		err := c.Do(&Request{URL: closedURL(t), Body: []byte(`{}`), Deadline: time.Now().Add(time.Second), MaxBody: 1 << 10}, &resp)
		if got, want := requestError(err, time.Second), "could not connect: connection refused"; got != want {
			t.Errorf("requestError(%q) = %q, want %q", err, got, want)
		}
	})
}

// rawServer returns the URL of a listener on loopback that reads one
// request on each connection, calls end, and closes the connection. stop
// is closed when the test ends.
func rawServer(t *testing.T, end func(c *net.TCPConn, stop <-chan struct{})) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				end(c.(*net.TCPConn), stop)
			}()
		}
	}()
	t.Cleanup(func() {
		close(stop)
		ln.Close()
		wg.Wait()
	})
	return "http://" + ln.Addr().String() + "/hook"
}
