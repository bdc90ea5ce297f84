package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// dbProxy forwards connections to a database server and can play it down:
// while down it drops every connection, old and new, as a stopped server
// does, and once up it forwards again.
type dbProxy struct {
	ln    net.Listener
	to    string
	down  atomic.Bool
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newDBProxy(t *testing.T, to string) *dbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	pgtest.Must(t, err)
	p := &dbProxy{ln: ln, to: to}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.down.Load() {
				c.Close()
				continue
			}
			s, err := net.DialTimeout("tcp", to, 5*time.Second)
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
	}()
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
		p.wg.Wait()
	})
	return p
}

// setDown plays the server down (dropping every connection) or up.
func (p *dbProxy) setDown(down bool) {
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

// TestDatabaseDown runs a node on PostgreSQL and takes the database away:
// the health probe and the API say so (503, naming the store), the
// liveness probe does not, and the node recovers by itself once the
// database is back.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.URL(t))
	pgtest.Must(t, err)
	p := newDBProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	srv := startServer(t, nil, "--db", u.String())

	var app struct{ ID string }
	if code := call(t, srv.URL, "POST", "/api/v1/app", map[string]any{"name": "down"}, &app); code != http.StatusCreated {
		t.Fatalf("create app: %d", code)
	}
	probe := func(path string) (int, string, http.Header) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if code, body, _ := probe("/api/v1/health"); code != http.StatusNoContent {
		t.Fatalf("health with the database up = %d %s", code, body)
	}

	p.setDown(true)
	msg := map[string]any{"eventType": "a.b", "payload": map[string]any{"n": 1}}
	var e struct{ Code string }
	if code := call(t, srv.URL, "POST", "/api/v1/app/"+app.ID+"/msg", msg, &e); code != http.StatusServiceUnavailable || e.Code != "store_unavailable" {
		t.Errorf("publish with the database down = %d %q, want 503 store_unavailable", code, e.Code)
	}
	// The probe's answer is cached for a second; the next one sees the
	// database gone.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body, hdr := probe("/api/v1/health")
		if code == http.StatusServiceUnavailable {
			var b struct {
				Code   string
				Checks map[string]string
			}
			if err := json.Unmarshal([]byte(body), &b); err != nil || b.Code != "not_ready" || b.Checks["store"] == "ok" || hdr.Get("Retry-After") == "" {
				t.Errorf("health with the database down = %s (%v), want not_ready naming the store, with Retry-After", body, err)
			}
			if strings.Contains(body, u.Host) || strings.Contains(body, "postgres") {
				t.Errorf("health shows the database's address: %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health still %d %s with the database down", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _, _ := probe("/api/v1/health/live"); code != http.StatusNoContent {
		t.Errorf("liveness with the database down = %d, want 204", code)
	}

	p.setDown(false)
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, body, _ := probe("/api/v1/health")
		if code == http.StatusNoContent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health still %d %s after the database came back", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := call(t, srv.URL, "POST", "/api/v1/app/"+app.ID+"/msg", msg, nil); code != http.StatusAccepted {
		t.Errorf("publish after the database came back = %d, want 202", code)
	}
}
