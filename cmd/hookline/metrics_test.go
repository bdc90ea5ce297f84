package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeMetrics gets base/metrics as Prometheus does, without a token, and
// parses it with Prometheus's own parser.
func scrapeMetrics(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sample is the value of the metric of a family with the labels given as
// name, value pairs (a histogram's count), or -1 when there is none.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// metricWant is a value a scrape should show.
type metricWant struct {
	name   string
	labels []string
	value  float64
}

// wantMetrics scrapes base until every value is as wanted, and fails the
// test with the ones that are not when a bounded time passes.
func wantMetrics(t *testing.T, base string, wants []metricWant) map[string]*dto.MetricFamily {
	t.Helper()
	var fams map[string]*dto.MetricFamily
	eventually(t, func() string {
		fams = scrapeMetrics(t, base)
		var wrong []string
		for _, w := range wants {
			if got := sample(fams, w.name, w.labels...); got != w.value {
				wrong = append(wrong, fmt.Sprintf("%s%v = %v, want %v", w.name, w.labels, got, w.value))
			}
		}
		return strings.Join(wrong, "\n")
	})
	return fams
}

// TestMetricsEndToEnd publishes, delivers to receivers that fail once,
// give up and ask to be retried in an hour, receives inbound requests of
// each result, and reads every count back from /metrics.
func TestMetricsEndToEnd(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil, "--retry-schedule", "0s,50ms,50ms", "--metrics-source-labels", "1")
	flaky := newReceiver(t, func(n int, r *http.Request) (int, http.Header) {
		if n == 0 {
			return http.StatusInternalServerError, nil
		}
		return http.StatusOK, nil
	})
	gone := newReceiver(t, func(int, *http.Request) (int, http.Header) { return http.StatusGone, nil })
	later := newReceiver(t, func(int, *http.Request) (int, http.Header) {
		return http.StatusServiceUnavailable, http.Header{"Retry-After": {"3600"}}
	})

	var app struct{ ID string }
	if code := call(t, srv.URL, "POST", "/api/v1/app", map[string]any{"name": "shop"}, &app); code != http.StatusCreated {
		t.Fatalf("create app: %d", code)
	}
	for _, et := range []string{"order.paid", "order.gone", "order.later"} {
		if code := call(t, srv.URL, "POST", "/api/v1/event-type", map[string]any{"name": et, "description": et}, nil); code != http.StatusCreated {
			t.Fatalf("create event type: %d", code)
		}
	}
	for url, eventType := range map[string]string{flaky.URL: "order.paid", gone.URL: "order.gone", later.URL: "order.later"} {
		if code := call(t, srv.URL, "POST", "/api/v1/app/"+app.ID+"/endpoint", map[string]any{"url": url, "filterTypes": []string{eventType}}, nil); code != http.StatusCreated {
			t.Fatalf("create endpoint: %d", code)
		}
	}
	publish := func(eventType string) {
		t.Helper()
		if code := call(t, srv.URL, "POST", "/api/v1/app/"+app.ID+"/msg", map[string]any{"eventType": eventType, "payload": map[string]any{}}, nil); code != http.StatusAccepted {
			t.Fatalf("publish %s: %d", eventType, code)
		}
	}
	// The first fails and is retried; the second succeeds at once.
	publish("order.paid")
	flaky.wait(t, 2)
	publish("order.paid")
	flaky.wait(t, 3)
	publish("order.gone") // fails for good, and disables its endpoint
	gone.wait(t, 1)
	publish("order.later") // waits an hour for its retry
	later.wait(t, 1)

	const ghSecret = "gh-secret-1234"
	var gh, form struct{ ID, URL string }
	if code := call(t, srv.URL, "POST", "/api/v1/source", map[string]any{"name": "github", "maxBodyBytes": 1024,
		"verification": map[string]any{"scheme": "github", "secrets": []string{ghSecret}}}, &gh); code != http.StatusCreated {
		t.Fatalf("create source: %d", code)
	}
	if code := call(t, srv.URL, "POST", "/api/v1/source", map[string]any{"name": "form"}, &form); code != http.StatusCreated {
		t.Fatalf("create source: %d", code)
	}
	post := func(url, body string, want int, header ...string) {
		t.Helper()
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d, want %d", body, resp.StatusCode, want)
		}
	}
	signed := func(body, delivery string) []string {
		mac := hmac.New(sha256.New, []byte(ghSecret))
		mac.Write([]byte(body))
		return []string{"Content-Type", "application/json", "X-GitHub-Event", "push", "X-GitHub-Delivery", delivery,
			"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(mac.Sum(nil))}
	}
	body, big := `{"ref":"main"}`, `{"pad":"`+strings.Repeat("x", 2000)+`"}`
	post(gh.URL, body, http.StatusOK, signed(body, "d-1")...)
	post(gh.URL, body, http.StatusOK, signed(body, "d-1")...)
	post(gh.URL, `{"ref":"evil"}`, http.StatusUnauthorized, signed(body, "d-2")...)
	post(gh.URL, big, http.StatusRequestEntityTooLarge, signed(big, "d-3")...)
	// --metrics-source-labels 1: the second source to send counts as other.
	post(form.URL, "a=1", http.StatusOK, "Content-Type", "application/x-www-form-urlencoded")

	const publishRoute = "POST /api/v1/app/{app_id}/msg"
	fams := wantMetrics(t, srv.URL, []metricWant{
		{"hookline_messages_published_total", nil, 4},
		{"hookline_deliveries_total", []string{"outcome", "success"}, 2},
		{"hookline_deliveries_total", []string{"outcome", "retry"}, 2},
		{"hookline_deliveries_total", []string{"outcome", "failure"}, 1},
		{"hookline_delivery_duration_seconds", nil, 5},
		{"hookline_delivery_latency_seconds", nil, 2},
		{"hookline_deliveries_pending", nil, 1},
		{"hookline_oldest_pending_delivery_age_seconds", nil, 0},
		{"hookline_endpoints_disabled", nil, 1},
		{"hookline_inbound_requests_total", []string{"source", gh.ID, "result", "accepted"}, 1},
		{"hookline_inbound_requests_total", []string{"source", gh.ID, "result", "duplicate"}, 1},
		{"hookline_inbound_requests_total", []string{"source", gh.ID, "result", "rejected"}, 1},
		{"hookline_inbound_requests_total", []string{"source", gh.ID, "result", "too_large"}, 1},
		{"hookline_inbound_requests_total", []string{"source", "other", "result", "accepted"}, 1},
		{"hookline_api_requests_total", []string{"route", publishRoute, "code", "202"}, 4},
		{"hookline_api_request_duration_seconds", []string{"route", publishRoute}, 4},
	})
	if v := sample(fams, "hookline_inbound_requests_total", "source", form.ID); v != -1 {
		t.Errorf("the source beyond --metrics-source-labels has a label of its own")
	}
	for _, m := range fams["hookline_api_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), app.ID) {
				t.Errorf("a route label holds a path: %q", l.GetValue())
			}
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("%s is missing", name)
		}
	}

	off := startServer(t, nil, "--metrics=false")
	resp, err := http.Get(off.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics with --metrics=false: %d, want 404", resp.StatusCode)
	}
}
