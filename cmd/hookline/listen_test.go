package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// localRequest is a request the developer's local receiver got.
type localRequest struct {
	Method, RawQuery string
	Header           http.Header
	Body             []byte
}

// cuttingProxy stands between listen and the server. It cuts the first
// stream after its first event, as a dropped connection would, and passes
// later streams through whole; it records each stream's Last-Event-ID.
type cuttingProxy struct {
	*httptest.Server
	streams  atomic.Int32
	opened   chan struct{} // a stream's answer came from the server
	mu       sync.Mutex
	resumeAt []string // Last-Event-ID of each stream
}

func newCuttingProxy(t *testing.T, upstream string) *cuttingProxy {
	p := &cuttingProxy{opened: make(chan struct{}, 8)}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := p.streams.Add(1)
		p.mu.Lock()
		p.resumeAt = append(p.resumeAt, r.Header.Get("Last-Event-ID"))
		p.mu.Unlock()
		req, err := http.NewRequestWithContext(r.Context(), r.Method, upstream+r.URL.RequestURI(), nil)
		if err != nil {
			panic(err)
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.(http.Flusher).Flush()
		p.opened <- struct{}{}
		br := bufio.NewReader(resp.Body)
		sawData := false
		for {
			line, err := br.ReadString('\n')
			if _, werr := io.WriteString(w, line); werr != nil || err != nil {
				return
			}
			w.(http.Flusher).Flush()
			sawData = sawData || strings.HasPrefix(line, "data:")
			if n == 1 && sawData && line == "\n" {
				return // the first stream ends after its first event
			}
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *cuttingProxy) waitOpened(t *testing.T) {
	t.Helper()
	select {
	case <-p.opened:
	case <-time.After(20 * time.Second):
		t.Fatal("listen did not open a stream")
	}
}

func TestListen(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	var src struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if st := call(t, srv.URL, "POST", "/api/v1/source", map[string]any{"name": "dev", "uid": "dev", "methods": []string{"POST", "PUT"}}, &src); st != http.StatusCreated {
		t.Fatalf("create source: %d", st)
	}

	var (
		mu  sync.Mutex
		got []localRequest
	)
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, localRequest{r.Method, r.URL.RawQuery, r.Header.Clone(), body})
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer local.Close()
	localGot := func(n int) []localRequest {
		t.Helper()
		var out []localRequest
		eventually(t, func() string {
			mu.Lock()
			defer mu.Unlock()
			out = append([]localRequest(nil), got...)
			if len(out) < n {
				return "the local receiver did not get the requests"
			}
			return ""
		})
		return out
	}

	proxy := newCuttingProxy(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"listen", "dev", "--forward-to", local.URL + "/hooks?local=1", "--server", proxy.URL},
			stdout, stderr, func(k string) string { return map[string]string{"HOOKLINE_TOKEN": testToken}[k] })
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("listen returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("listen did not stop when its context ended")
		}
	}()
	proxy.waitOpened(t)

	send := func(method, query string, body []byte, header ...string) {
		t.Helper()
		req, err := http.NewRequest(method, src.URL+query, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Add(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s to the source answered %d", method, resp.StatusCode)
		}
	}
	first := []byte("{\"b\": 2,  \"a\":[1, 2]}\n")
	send("POST", "?x=1&y=2", first, "Content-Type", "application/json", "X-Custom", "one", "X-Custom", "two", "User-Agent", "provider/1.0")
	reqs := localGot(1)
	r := reqs[0]
	if r.Method != "POST" || r.RawQuery != "local=1&x=1&y=2" || !bytes.Equal(r.Body, first) ||
		r.Header.Get("Content-Type") != "application/json" || strings.Join(r.Header.Values("X-Custom"), ",") != "one,two" ||
		r.Header.Get("User-Agent") != "provider/1.0" || r.Header.Get("Authorization") != "" {
		t.Errorf("local receiver got %+v %s", r, r.Body)
	}

	// The proxy cut the stream after that event; listen reconnects and
	// resumes after it, so the next request arrives once.
	second := []byte{0, 1, 2, 0xff, '\n'}
	send("PUT", "", second, "Content-Type", "application/octet-stream")
	reqs = localGot(2)
	if r := reqs[1]; r.Method != "PUT" || r.RawQuery != "local=1" || !bytes.Equal(r.Body, second) {
		t.Errorf("second request = %+v", r)
	}
	time.Sleep(300 * time.Millisecond) // time for a duplicate to show up
	mu.Lock()
	if len(got) != 2 {
		t.Errorf("local receiver got %d requests, want each of 2 once", len(got))
	}
	mu.Unlock()

	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	call(t, srv.URL, "GET", "/api/v1/source/dev/request", nil, &list)
	proxy.mu.Lock()
	resumeAt := append([]string(nil), proxy.resumeAt...)
	proxy.mu.Unlock()
	if len(list.Data) != 2 || len(resumeAt) < 2 || resumeAt[0] != "" || resumeAt[1] != list.Data[1].ID {
		t.Errorf("streams resumed at %q; requests %+v", resumeAt, list.Data)
	}

	out := stdout.String()
	token := src.URL[strings.LastIndex(src.URL, "/")+1:]
	if !strings.Contains(out, "forwarding dev to "+local.URL) || !strings.Contains(out, "POST /in/**** -> 202 Accepted") ||
		!strings.Contains(out, "PUT /in/**** -> 202 Accepted") || strings.Contains(out, token) {
		t.Errorf("listen printed:\n%s", out)
	}
	if !strings.Contains(stderr.String(), "reconnecting") {
		t.Errorf("listen did not report the lost connection:\n%s", stderr.String())
	}
}

func TestListenFatal(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	env := func(k string) string { return map[string]string{"HOOKLINE_TOKEN": testToken}[k] }
	err := Main(ctx, []string{"listen", "nosuch", "--forward-to", "http://127.0.0.1:1/", "--server", srv.URL}, io.Discard, io.Discard, env)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("listen to a missing source returned %v, want a 404 error", err)
	}
	err = Main(ctx, []string{"listen", "nosuch", "--forward-to", "http://127.0.0.1:1/", "--server", srv.URL}, io.Discard, io.Discard,
		func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "HOOKLINE_TOKEN") {
		t.Errorf("listen without a token returned %v", err)
	}
}

func TestSourceCLI(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	env := func(k string) string {
		return map[string]string{"HOOKLINE_TOKEN": testToken, "HOOKLINE_SERVER": srv.URL, "HOOKLINE_SOURCE_SECRET": "It's a Secret to Everybody"}[k]
	}
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := Main(context.Background(), args, &out, io.Discard, env); err != nil {
			t.Fatalf("hookline %s: %v", strings.Join(args, " "), err)
		}
		return out.String()
	}
	out := run("source", "create", "--name", "GitHub", "--uid", "gh", "--verify-scheme", "github",
		"--forward-to", "http://127.0.0.1:9/hooks", "--hold")
	if !strings.Contains(out, srv.URL+"/in/") {
		t.Fatalf("create printed %q, want the receive URL", out)
	}
	if out := run("source", "list"); !strings.Contains(out, "gh") || !strings.Contains(out, "forward,hold") {
		t.Errorf("list printed %q", out)
	}
	if out := run("source", "get", "gh"); !strings.Contains(out, `"****body"`) || strings.Contains(out, "Secret") {
		t.Errorf("get printed %q", out)
	}
	if out := run("source", "rotate", "gh", "--grace", "1h"); !strings.Contains(out, srv.URL+"/in/") || !strings.Contains(out, "keeps working until") {
		t.Errorf("rotate printed %q", out)
	}
	run("source", "delete", "gh")
	err := Main(context.Background(), []string{"source", "get", "gh"}, io.Discard, io.Discard, env)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("get of a deleted source: %v", err)
	}
	err = Main(context.Background(), []string{"source", "create", "--name", "x", "--verify-scheme", "pigeon"}, io.Discard, io.Discard, env)
	if err == nil || !strings.Contains(err.Error(), "verification.scheme") {
		t.Errorf("create with an unknown scheme: %v", err)
	}
}

// holdingProxy stands between listen and the server as a slow network
// does: it holds each stream's request to the server back until the test
// lets it through (or a bound passes). With cutFirst it ends the first
// stream after its opening lines, before any request event, as a dropped
// connection would. It records each stream's Last-Event-ID.
type holdingProxy struct {
	*httptest.Server
	streams  atomic.Int32
	cut      chan struct{} // closed when the first stream was cut
	mu       sync.Mutex
	release  map[int32]chan struct{} // by stream number, from 1
	resumeAt []string
}

func newHoldingProxy(t *testing.T, upstream string, hold time.Duration, cutFirst bool) *holdingProxy {
	p := &holdingProxy{cut: make(chan struct{}), release: map[int32]chan struct{}{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := p.streams.Add(1)
		p.mu.Lock()
		p.resumeAt = append(p.resumeAt, r.Header.Get("Last-Event-ID"))
		p.mu.Unlock()
		t := time.NewTimer(hold)
		defer t.Stop()
		select {
		case <-p.releaseCh(n):
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, upstream+r.URL.RequestURI(), nil)
		if err != nil {
			panic(err)
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if _, werr := io.WriteString(w, line); werr != nil || err != nil {
				return
			}
			w.(http.Flusher).Flush()
			if n == 1 && cutFirst && line == "\n" {
				close(p.cut)
				return
			}
		}
	}))
	t.Cleanup(p.Close)
	return p
}

// releaseCh returns the channel that lets stream n through when closed.
func (p *holdingProxy) releaseCh(n int32) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch, ok := p.release[n]
	if !ok {
		ch = make(chan struct{})
		p.release[n] = ch
	}
	return ch
}

// runListen runs `hookline listen` until the test ends and returns its
// standard output.
func runListen(t *testing.T, server, source, forwardTo string) *lockedBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"listen", source, "--forward-to", forwardTo, "--server", server},
			stdout, io.Discard, func(k string) string { return map[string]string{"HOOKLINE_TOKEN": testToken}[k] })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("listen returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("listen did not stop when its context ended")
		}
	})
	return stdout
}

// TestListenMissesNothing sends a request as soon as listen prints that it
// is forwarding, while the network delays its stream; and another while
// listen is reconnecting, before its stream has carried any request. Both
// must reach the local receiver.
func TestListenMissesNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		before   bool // a request is stored before listen starts
		cutFirst bool
	}{
		{"first stream delayed", false, false},
		{"first stream delayed after a request", true, false},
		{"reconnected before any request", true, true},
		{"reconnected before any request, on a new source", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, nil)
			_, url := createSource(t, srv.URL, map[string]any{"name": "dev", "uid": "dev"})
			if tc.before {
				if code := postTo(t, url, `{"n":0}`); code != http.StatusOK {
					t.Fatalf("post: %d", code)
				}
			}
			local := newReceiver(t, nil)
			proxy := newHoldingProxy(t, srv.URL, 500*time.Millisecond, tc.cutFirst)
			stdout := runListen(t, proxy.URL, "dev", local.URL)
			eventually(t, func() string {
				if !strings.Contains(stdout.String(), "forwarding dev to ") {
					return "listen did not print that it is forwarding"
				}
				return ""
			})
			if tc.cutFirst {
				select {
				case <-proxy.cut:
				case <-time.After(10 * time.Second):
					t.Fatal("the first stream was not cut")
				}
			}
			if code := postTo(t, url, `{"n":1}`); code != http.StatusOK {
				t.Fatalf("post: %d", code)
			}
			// The stream that is to carry the request reaches the server
			// only once the request is stored.
			carrier := int32(1)
			if tc.cutFirst {
				carrier = 2
			}
			close(proxy.releaseCh(carrier))
			select {
			case <-local.notify:
			case <-time.After(10 * time.Second):
				proxy.mu.Lock()
				defer proxy.mu.Unlock()
				t.Fatalf("the request sent after %q never reached the local receiver; streams resumed at %q", "forwarding", proxy.resumeAt)
			}
			got := local.wait(t, 1)
			if len(got) != 1 || string(got[0].Body) != `{"n":1}` {
				t.Errorf("local receiver got %d requests, the first %q", len(got), got[0].Body)
			}
		})
	}
}
