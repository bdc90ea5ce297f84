package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "test-admin-token-0123456789"

// lockedBuffer is an io.Writer safe for a server goroutine and a test
// reading it at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// waitListening polls out for the server's "listening on" line.
func waitListening(t *testing.T, out interface{ String() string }, exited <-chan struct{}) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listeningRE.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case <-exited:
			t.Fatalf("server exited before listening; output:\n%s", out.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("server did not start listening; output:\n%s", out.String())
	return ""
}

// server is a hookline serve running in this process.
type server struct {
	URL    string
	stdout *lockedBuffer
	stderr *lockedBuffer
	stop   func() error
}

// startServer runs `hookline serve` in-process on a free loopback port with
// a fresh database, the test token and private networks allowed (the test
// receivers listen on loopback).
func startServer(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["HOOKLINE_ADMIN_TOKEN"]; !ok {
		env["HOOKLINE_ADMIN_TOKEN"] = testToken
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	full := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", t.TempDir() + "/hookline.db", "--allow-private-networks"}, args...)
	exited := make(chan struct{})
	var runErr error
	go func() {
		defer close(exited)
		runErr = Main(ctx, full, s.stdout, s.stderr, func(k string) string { return env[k] })
	}()
	s.URL = waitListening(t, s.stdout, exited)
	var once sync.Once
	s.stop = func() error {
		once.Do(func() {
			cancel()
			<-exited
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("serve returned %v", err)
		}
	})
	return s
}

// call makes an authenticated API request with a JSON body and decodes a
// JSON answer into out (if not nil); it returns the status code.
func call(t *testing.T, base, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

// receiver is a webhook receiver on loopback whose answers a test chooses.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	notify chan struct{}
	// answer picks the status for the nth request (0-based); nil means 200.
	answer func(n int, r *http.Request) (int, http.Header)
}

func newReceiver(t *testing.T, answer func(n int, r *http.Request) (int, http.Header)) *receiver {
	rc := &receiver{notify: make(chan struct{}, 1), answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, received{Header: r.Header.Clone(), Body: body, At: time.Now()})
		rc.mu.Unlock()
		select {
		case rc.notify <- struct{}{}:
		default:
		}
		status, h := http.StatusOK, http.Header(nil)
		if rc.answer != nil {
			status, h = rc.answer(n, r)
		}
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "answer %d", n)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// wait returns once the receiver holds at least n requests, failing the
// test after a bounded wait.
func (rc *receiver) wait(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		rc.mu.Lock()
		if len(rc.got) >= n {
			out := append([]received(nil), rc.got...)
			rc.mu.Unlock()
			return out
		}
		have := len(rc.got)
		rc.mu.Unlock()
		select {
		case <-rc.notify:
		case <-deadline:
			t.Fatalf("receiver got %d requests, want %d", have, n)
		}
	}
}

// eventually retries check until it returns "" or a bounded time passes.
func eventually(t *testing.T, check func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasPrefix(s, p string) bool { return strings.HasPrefix(s, p) }
