package inbound_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/inflight"
)

// fakeMetrics keeps the counts by source and result.
type fakeMetrics struct {
	mu     sync.Mutex
	counts map[string]int
}

func (f *fakeMetrics) Received(sourceID, result string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[sourceID+" "+result]++
}

// TestReceiveCounted checks that each request that reaches a source is
// counted once by its result, and that requests to no source are not.
func TestReceiveCounted(t *testing.T) {
	t.Parallel()
	m := &fakeMetrics{counts: map[string]int{}}
	bodies := inflight.New(1<<20, 20*time.Millisecond)
	e := newEnv(t, nil, func(o *inbound.Options) { o.Metrics, o.Bodies = m, bodies })
	src, path := e.source(t, func(s *hookline.Source) { s.MaxBodyBytes = 64 })
	body, big := `{"a":1}`, strings.Repeat("x", 65)

	posts := []struct {
		path, body string
		header     map[string]string
		want       int
	}{
		{path, body, githubHeaders(body, "d-1"), http.StatusOK},
		{path, body, githubHeaders(body, "d-2"), http.StatusOK},
		{path, body, githubHeaders(body, "d-1"), http.StatusOK},
		{path, `{"a":2}`, githubHeaders(body, "d-3"), http.StatusUnauthorized},
		{path, big, githubHeaders(big, "d-4"), http.StatusRequestEntityTooLarge},
		{"/in/nosuchtoken", body, githubHeaders(body, "d-5"), http.StatusNotFound},
	}
	for _, p := range posts {
		if code, b := e.post(t, "POST", p.path, p.body, p.header); code != p.want {
			t.Fatalf("POST %s: %d %s, want %d", p.body, code, b, p.want)
		}
	}
	hold, err := bodies.Acquire(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if code, b := e.post(t, "POST", path, body, githubHeaders(body, "d-6")); code != http.StatusServiceUnavailable {
		t.Fatalf("with the bound taken: %d %s", code, b)
	}
	hold()

	m.mu.Lock()
	defer m.mu.Unlock()
	want := map[string]int{
		src.ID + " accepted":   2,
		src.ID + " duplicate":  1,
		src.ID + " rejected":   1,
		src.ID + " too_large":  1,
		src.ID + " overloaded": 1,
	}
	if diff := cmp.Diff(want, m.counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}
