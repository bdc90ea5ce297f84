package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
)

// fakeStore is a store.Checker whose answers a test sets.
type fakeStore struct {
	mu      sync.Mutex
	pingErr error
	pings   int
	faultAt time.Time
	fault   error
}

func (f *fakeStore) Ping(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pings++
	return f.pingErr
}

func (f *fakeStore) WriteFault() (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.faultAt, f.fault
}

func (f *fakeStore) set(fn func(f *fakeStore)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// clock is a time a test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// probe asks h for path and returns the status and the decoded 503 body.
func probe(t *testing.T, h http.Handler, method, path string) (int, notReady, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	var b notReady
	if rec.Code == http.StatusServiceUnavailable && method != http.MethodHead {
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
			t.Fatalf("503 body %q: %v", rec.Body, err)
		}
	} else if rec.Body.Len() > 0 && method != http.MethodHead { // a server sends no body to HEAD
		t.Errorf("%s %s: %d with body %q, want none", method, path, rec.Code, rec.Body)
	}
	return rec.Code, b, rec.Header()
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	full := fmt.Errorf("create messages: %w", hookline.ErrStorageFull)
	tests := []struct {
		name    string
		store   func(f *fakeStore, now time.Time)
		beat    time.Time // zero: the node is in no cluster
		failing []string  // nil: ready
	}{
		{"ready", nil, time.Time{}, nil},
		{"ready in a cluster", nil, t0.Add(-5 * time.Second), nil},
		{"database down", func(f *fakeStore, _ time.Time) {
			f.pingErr = fmt.Errorf("ping postgres: %w", hookline.ErrUnavailable)
		}, time.Time{}, []string{CheckStore}},
		{"write refused just now", func(f *fakeStore, now time.Time) {
			f.faultAt, f.fault = now.Add(-2*time.Second), full
		}, time.Time{}, []string{CheckWrites}},
		{"write refused long ago", func(f *fakeStore, now time.Time) {
			f.faultAt, f.fault = now.Add(-time.Minute), full
		}, time.Time{}, nil},
		{"heartbeat stale", nil, t0.Add(-21 * time.Second), []string{CheckHeartbeat}},
		{"down, refused and stale", func(f *fakeStore, now time.Time) {
			f.pingErr = hookline.ErrUnavailable
			f.faultAt, f.fault = now, full
		}, t0.Add(-time.Minute), []string{CheckStore, CheckWrites, CheckHeartbeat}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeStore{}
			if tt.store != nil {
				tt.store(f, t0)
			}
			opts := Options{Store: f, Now: func() time.Time { return t0 }}
			if !tt.beat.IsZero() {
				opts.Heartbeat = func() time.Time { return tt.beat }
			}
			h := New(opts).Routes()
			for _, path := range []string{"/api/v1/health", "/api/v1/health/ping"} {
				code, body, hdr := probe(t, h, "GET", path)
				if tt.failing == nil {
					if code != http.StatusNoContent {
						t.Errorf("GET %s = %d %+v, want 204", path, code, body)
					}
					continue
				}
				if code != http.StatusServiceUnavailable || body.Code != "not_ready" || hdr.Get("Retry-After") == "" {
					t.Fatalf("GET %s = %d %+v, want 503 not_ready with Retry-After", path, code, body)
				}
				for _, name := range []string{CheckStore, CheckWrites, CheckHeartbeat} {
					want := !contains(tt.failing, name)
					if _, checked := body.Checks[name]; !checked && name == CheckHeartbeat && tt.beat.IsZero() {
						continue // a node in no cluster has no heartbeat
					}
					if ok := body.Checks[name] == "ok"; ok != want {
						t.Errorf("check %s = %q, want ok: %v", name, body.Checks[name], want)
					}
					if !want && !strings.Contains(body.Detail, name+": ") {
						t.Errorf("detail %q does not name %s", body.Detail, name)
					}
				}
				if strings.Contains(body.Detail, "postgres") || strings.Contains(body.Detail, "create messages") {
					t.Errorf("detail shows the store's error: %q", body.Detail)
				}
			}
			if code, _, _ := probe(t, h, "HEAD", "/api/v1/health"); (code == http.StatusNoContent) != (tt.failing == nil) {
				t.Errorf("HEAD = %d", code)
			}
			// Liveness holds whatever readiness says.
			if code, _, _ := probe(t, h, "GET", "/api/v1/health/live"); code != http.StatusNoContent {
				t.Errorf("GET /api/v1/health/live = %d, want 204", code)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestReadinessCached checks that a flood of probes costs the store one
// ping per CacheFor, and that readiness follows the store once the cached
// answer is old.
func TestReadinessCached(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	f := &fakeStore{}
	h := New(Options{Store: f, Now: c.now}).Routes()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _, _ := probe(t, h, "GET", "/api/v1/health"); code != http.StatusNoContent {
				t.Errorf("probe = %d, want 204", code)
			}
		}()
	}
	wg.Wait()
	if f.pings != 1 {
		t.Errorf("50 probes within CacheFor pinged the store %d times, want 1", f.pings)
	}

	f.set(func(f *fakeStore) { f.faultAt, f.fault = c.now(), hookline.ErrStorageFull })
	if code, _, _ := probe(t, h, "GET", "/api/v1/health"); code != http.StatusNoContent {
		t.Errorf("within CacheFor: %d, want the cached 204", code)
	}
	c.add(time.Second)
	if code, _, _ := probe(t, h, "GET", "/api/v1/health"); code != http.StatusServiceUnavailable {
		t.Errorf("after CacheFor, with a write refused: %d, want 503", code)
	}
	// A write that succeeds clears the refusal (the store forgets it).
	f.set(func(f *fakeStore) { f.faultAt, f.fault = time.Time{}, nil })
	c.add(time.Second)
	if code, _, _ := probe(t, h, "GET", "/api/v1/health"); code != http.StatusNoContent {
		t.Errorf("after a write succeeded: %d, want 204", code)
	}
	if f.pings != 3 {
		t.Errorf("pings = %d, want 3", f.pings)
	}
}

// TestPingTimeout checks that a store that does not answer makes the node
// not ready within the ping's timeout, not the probe's.
func TestPingTimeout(t *testing.T) {
	t.Parallel()
	st := &slowStore{}
	h := New(Options{Store: st, PingTimeout: 50 * time.Millisecond}).Routes()
	start := time.Now()
	code, body, _ := probe(t, h, "GET", "/api/v1/health")
	if code != http.StatusServiceUnavailable || body.Checks[CheckStore] == "ok" {
		t.Errorf("probe = %d %+v, want 503 naming the store", code, body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("probe took %v", d)
	}
}

// slowStore pings until its context ends.
type slowStore struct{}

func (slowStore) Ping(ctx context.Context) error {
	<-ctx.Done()
	return errors.Join(ctx.Err(), hookline.ErrUnavailable)
}

func (slowStore) WriteFault() (time.Time, error) { return time.Time{}, nil }
