package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/metrics"
	"github.com/hookline/hookline/internal/store"
)

// scrape gets the metrics as Prometheus does and parses them.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return fams
}

// value returns the value of the metric of the family with the labels, and
// whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func want(t *testing.T, fams map[string]*dto.MetricFamily, v float64, name string, labels ...string) {
	t.Helper()
	got, ok := value(fams, name, labels...)
	if !ok || got != v {
		t.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, v)
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Options{})
	m.Published(1)
	m.Published(1)
	m.Attempted(hookline.StatusPending, 20*time.Millisecond, 0)
	m.Attempted(hookline.StatusSuccess, 10*time.Millisecond, 3*time.Second)
	m.Attempted(hookline.StatusFail, 0, 0) // no request made: not timed
	observe := m.Route("POST /api/v1/app/{app_id}/msg")
	observe(202, time.Millisecond)
	observe(202, time.Millisecond)
	observe(422, time.Millisecond)

	fams := scrape(t, m.Handler())
	want(t, fams, 2, "hookline_messages_published_total")
	want(t, fams, 1, "hookline_deliveries_total", "outcome", "success")
	want(t, fams, 1, "hookline_deliveries_total", "outcome", "retry")
	want(t, fams, 1, "hookline_deliveries_total", "outcome", "failure")
	want(t, fams, 2, "hookline_delivery_duration_seconds")
	want(t, fams, 1, "hookline_delivery_latency_seconds")
	if sum := fams["hookline_delivery_latency_seconds"].GetMetric()[0].GetHistogram().GetSampleSum(); sum != 3 {
		t.Errorf("latency sum = %v, want 3", sum)
	}
	want(t, fams, 2, "hookline_api_requests_total", "route", "POST /api/v1/app/{app_id}/msg", "code", "202")
	want(t, fams, 1, "hookline_api_requests_total", "route", "POST /api/v1/app/{app_id}/msg", "code", "422")
	want(t, fams, 3, "hookline_api_request_duration_seconds", "route", "POST /api/v1/app/{app_id}/msg")
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("%s is missing: the Go and process collectors are not registered", name)
		}
	}
	if _, ok := fams["hookline_deliveries_pending"]; ok {
		t.Error("the backlog gauges are served with no store to read them from")
	}
}

// TestSourceLabelsBounded checks that only the first sources get a label
// of their own, so that the number of series stays small however many
// sources there are.
func TestSourceLabelsBounded(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Options{SourceLabels: 2})
	m.Received("src_a", metrics.Accepted)
	m.Received("src_b", metrics.Rejected)
	m.Received("src_c", metrics.Duplicate)
	m.Received("src_d", metrics.Duplicate)
	m.Received("src_a", metrics.TooLarge)
	m.Received("src_a", metrics.Overloaded)
	m.Received("src_a", "nonsense")

	fams := scrape(t, m.Handler())
	want(t, fams, 1, "hookline_inbound_requests_total", "source", "src_a", "result", "accepted")
	want(t, fams, 1, "hookline_inbound_requests_total", "source", "src_a", "result", "too_large")
	want(t, fams, 1, "hookline_inbound_requests_total", "source", "src_a", "result", "overloaded")
	want(t, fams, 1, "hookline_inbound_requests_total", "source", "src_b", "result", "rejected")
	want(t, fams, 2, "hookline_inbound_requests_total", "source", "other", "result", "duplicate")
	for _, s := range []string{"src_c", "src_d"} {
		if _, ok := value(fams, "hookline_inbound_requests_total", "source", s); ok {
			t.Errorf("source %s has a label of its own beyond the bound", s)
		}
	}
	if n := len(fams["hookline_inbound_requests_total"].GetMetric()); n != 3*5 {
		t.Errorf("%d inbound series, want 15: 5 results of 2 sources and of other", n)
	}

	none := metrics.New(metrics.Options{SourceLabels: -1})
	none.Received("src_a", metrics.Accepted)
	want(t, scrape(t, none.Handler()), 1, "hookline_inbound_requests_total", "source", "other", "result", "accepted")
}

// fakeGauges counts its reads.
type fakeGauges struct {
	reads atomic.Int64
	g     store.Gauges
	err   error
}

func (f *fakeGauges) GaugesRead(context.Context) (store.Gauges, error) {
	f.reads.Add(1)
	return f.g, f.err
}

func TestGaugesCached(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := &fakeGauges{g: store.Gauges{Pending: 7, OldestDue: now.Add(-90 * time.Second), EndpointsDisabled: 2}}
	m := metrics.New(metrics.Options{Gauges: f, GaugeTTL: time.Hour, Now: func() time.Time { return now }})
	fams := scrape(t, m.Handler())
	want(t, fams, 7, "hookline_deliveries_pending")
	want(t, fams, 90, "hookline_oldest_pending_delivery_age_seconds")
	want(t, fams, 2, "hookline_endpoints_disabled")
	for range 5 {
		scrape(t, m.Handler())
	}
	if n := f.reads.Load(); n != 1 {
		t.Errorf("6 scrapes within the TTL read the store %d times, want 1", n)
	}

	// Nothing due yet: no age.
	f2 := &fakeGauges{g: store.Gauges{Pending: 1, OldestDue: now.Add(time.Hour)}}
	m2 := metrics.New(metrics.Options{Gauges: f2, Now: func() time.Time { return now }})
	want(t, scrape(t, m2.Handler()), 0, "hookline_oldest_pending_delivery_age_seconds")
}

func TestGaugesLeftOutWhenTheStoreFails(t *testing.T) {
	t.Parallel()
	f := &fakeGauges{err: errors.New("database is down")}
	m := metrics.New(metrics.Options{Gauges: f})
	fams := scrape(t, m.Handler())
	if _, ok := fams["hookline_deliveries_pending"]; ok {
		t.Error("a failed read reported the backlog")
	}
	if _, ok := fams["hookline_messages_published_total"]; !ok {
		t.Error("a failed read left out the other metrics")
	}
}

func TestNilCountsNothing(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	m.Published(1)
	m.Attempted(hookline.StatusSuccess, time.Second, time.Second)
	m.Received("src_a", metrics.Accepted)
	if m.Route("GET /x") != nil {
		t.Error("a nil Metrics returned a route counter")
	}
}

// TestCountingDoesNotAllocate checks that the hot paths count with atomic
// adds on children looked up before, not by label lookups per request.
func TestCountingDoesNotAllocate(t *testing.T) {
	m := metrics.New(metrics.Options{})
	observe := m.Route("POST /api/v1/app/{app_id}/msg")
	observe(202, time.Millisecond)
	m.Received("src_a", metrics.Accepted)
	src := strings.Clone("src_a")
	allocs := testing.AllocsPerRun(100, func() {
		m.Published(1)
		observe(202, time.Millisecond)
		m.Attempted(hookline.StatusSuccess, time.Millisecond, time.Second)
		m.Received(src, metrics.Accepted)
	})
	if allocs != 0 {
		t.Errorf("counting allocates %v times", allocs)
	}
}

// BenchmarkPublishAndDeliver counts what one published message costs the
// metrics on an all node: its API request, the publish, and one
// successful attempt, from parallel goroutines as the server counts them.
func BenchmarkPublishAndDeliver(b *testing.B) {
	m := metrics.New(metrics.Options{})
	observe := m.Route("POST /api/v1/app/{app_id}/msg")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			observe(202, 150*time.Microsecond)
			m.Published(1)
			m.Attempted(hookline.StatusSuccess, time.Millisecond, 20*time.Millisecond)
		}
	})
}
