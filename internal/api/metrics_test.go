package api

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeMetrics keeps the counts by route and code.
type fakeMetrics struct {
	mu        sync.Mutex
	published int
	requests  map[string]int
}

func (f *fakeMetrics) Published(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published += n
}

func (f *fakeMetrics) Route(pattern string) func(code int, took time.Duration) {
	return func(code int, took time.Duration) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if took <= 0 {
			code = -code // shows up as a wrong count
		}
		f.requests[pattern+" "+strconv.Itoa(code)]++
	}
}

// TestMetricsByRoute checks that requests are counted under the pattern
// of the route they matched, never their path, with their status; that
// requests matching none are counted as unmatched; and that a publish is
// counted, but not a repeat of an eventId.
func TestMetricsByRoute(t *testing.T) {
	t.Parallel()
	m := &fakeMetrics{requests: map[string]int{}}
	e := newEnv(t, newFakeStore(), func(o *Options) { o.Metrics = m })
	e.do("POST", "/api/v1/app", map[string]any{"name": "Acme", "uid": "acme"}).want(http.StatusCreated)
	msg := map[string]any{"eventType": "x", "eventId": "e1", "payload": map[string]any{}}
	e.do("POST", "/api/v1/app/acme/msg", msg).want(http.StatusAccepted)
	e.do("POST", "/api/v1/app/acme/msg/", map[string]any{"eventType": "x", "payload": map[string]any{}}).want(http.StatusAccepted)
	e.do("POST", "/api/v1/app/acme/msg", msg).want(http.StatusConflict)
	e.do("GET", "/api/v1/app/nosuchapp", nil).want(http.StatusNotFound)
	e.doAuth("", "GET", "/api/v1/app", nil).want(http.StatusUnauthorized)
	e.do("GET", "/api/v1/nosuchroute", nil).want(http.StatusNotFound)
	e.do("DELETE", "/api/v1/app", nil).want(http.StatusMethodNotAllowed)
	e.doAuth("", "GET", "/api/v1/health/live", nil).want(http.StatusNoContent)

	m.mu.Lock()
	defer m.mu.Unlock()
	want := map[string]int{
		"POST /api/v1/app 201":              1,
		"POST /api/v1/app/{app_id}/msg 202": 2,
		"POST /api/v1/app/{app_id}/msg 409": 1,
		"GET /api/v1/app/{app_id} 404":      1,
		"GET /api/v1/app 401":               1,
		"unmatched 404":                     1,
		"unmatched 405":                     1,
		"GET /api/v1/health/live 204":       1,
	}
	if diff := cmp.Diff(want, m.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if m.published != 2 {
		t.Errorf("published %d, want 2", m.published)
	}
}

// nopMetrics counts nothing.
type nopMetrics struct{}

func (nopMetrics) Published(int) {}
func (nopMetrics) Route(string) func(int, time.Duration) {
	return func(int, time.Duration) {}
}

// TestMetricsAllocateNothing checks that counting a request adds no
// allocation to it: the writer that keeps its status is reused.
func TestMetricsAllocateNothing(t *testing.T) {
	allocs := func(m Metrics) float64 {
		h := New(Options{Store: newFakeStore(), Metrics: m})
		req := httptest.NewRequest("GET", "/api/v1/health/live", nil)
		w := &discardWriter{header: http.Header{}}
		h.ServeHTTP(w, req)
		return testing.AllocsPerRun(200, func() { h.ServeHTTP(w, req) })
	}
	off, on := allocs(nil), allocs(nopMetrics{})
	if on > off {
		t.Errorf("a request allocates %v times with metrics, %v without", on, off)
	}
}
