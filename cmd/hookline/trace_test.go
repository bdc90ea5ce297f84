package main

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is an OTLP/HTTP receiver on loopback that keeps the spans
// posted to /v1/traces as protobuf.
type collector struct {
	*httptest.Server
	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("collector got %s %s of %s, want a POST of application/x-protobuf to /v1/traces", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			http.Error(w, "not an OTLP/HTTP protobuf export", http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		data, err := io.ReadAll(io.LimitReader(body, 16<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(data, &req); err != nil {
			t.Errorf("collector: decode export: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.Key == "service.name" {
					c.services = append(c.services, a.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				c.spans = append(c.spans, ss.Spans...)
			}
		}
		c.mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(c.Close)
	return c
}

// byName returns the spans named name.
func (c *collector) byName(name string) []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range c.spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func attr(s *tracepb.Span, key string) *commonpb.AnyValue {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return nil
}

// TestTraceEndToEnd publishes a message carrying a traceparent, lets it be
// delivered, and checks that the receiver gets the caller's trace and that
// the collector gets the API request's, the publish's and the attempt's
// spans, each the child of the one before, with no secret of the
// endpoint's URL in any attribute.
func TestTraceEndToEnd(t *testing.T) {
	t.Parallel()
	col := newCollector(t)
	srv := startServer(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": col.URL,
		"OTEL_SERVICE_NAME":           "hookline-e2e",
	})
	rcv := newReceiver(t, nil)

	var app, ep struct{ ID string }
	if code := call(t, srv.URL, "POST", "/api/v1/app", map[string]any{"name": "shop"}, &app); code != http.StatusCreated {
		t.Fatalf("create app: %d", code)
	}
	const secretPath, secretQuery = "/hooks/s3cr3t-path-token", "key=s3cr3t-query"
	if code := call(t, srv.URL, "POST", "/api/v1/app/"+app.ID+"/endpoint", map[string]any{"url": rcv.URL + secretPath + "?" + secretQuery}, &ep); code != http.StatusCreated {
		t.Fatalf("create endpoint: %d", code)
	}

	const (
		callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		callerSpan  = "00f067aa0ba902b7"
	)
	req, err := http.NewRequest("POST", srv.URL+"/api/v1/app/"+app.ID+"/msg",
		strings.NewReader(`{"eventType":"order.paid","payload":{"a":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("publish: %d", resp.StatusCode)
	}

	got := rcv.wait(t, 1)[0]
	tp := strings.Split(got.Header.Get("Traceparent"), "-")
	if len(tp) != 4 || tp[1] != callerTrace {
		t.Fatalf("receiver got traceparent %q, want one of trace %s", got.Header.Get("Traceparent"), callerTrace)
	}

	// Shutting down flushes the spans.
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	one := func(name string) *tracepb.Span {
		t.Helper()
		spans := col.byName(name)
		if len(spans) != 1 {
			t.Fatalf("collector got %d spans named %q, want 1", len(spans), name)
		}
		return spans[0]
	}
	apiSpan, publish, deliver := one("POST /api/v1/app/{app_id}/msg"), one("publish"), one("deliver")
	hexID := hex.EncodeToString
	for _, c := range []struct {
		name         string
		span         *tracepb.Span
		parent       string
		kind         tracepb.Span_SpanKind
		wantAttrs    map[string]string
		wantIntAttrs map[string]int64
	}{
		{"API request", apiSpan, callerSpan, tracepb.Span_SPAN_KIND_SERVER,
			map[string]string{"http.route": "/api/v1/app/{app_id}/msg", "http.request.method": "POST"},
			map[string]int64{"http.response.status_code": 202}},
		{"publish", publish, hexID(apiSpan.SpanId), tracepb.Span_SPAN_KIND_PRODUCER,
			map[string]string{"hookline.app_id": app.ID, "hookline.event_type": "order.paid"},
			map[string]int64{"hookline.deliveries": 1}},
		{"attempt", deliver, hexID(publish.SpanId), tracepb.Span_SPAN_KIND_CLIENT,
			map[string]string{"hookline.endpoint_id": ep.ID, "url.scheme": "http", "server.address": "127.0.0.1", "hookline.delivery_status": "success"},
			map[string]int64{"http.response.status_code": 200, "hookline.attempt": 1}},
	} {
		if hexID(c.span.TraceId) != callerTrace {
			t.Errorf("%s span is of trace %s, want the caller's %s", c.name, hexID(c.span.TraceId), callerTrace)
		}
		if hexID(c.span.ParentSpanId) != c.parent {
			t.Errorf("%s span's parent is %s, want %s", c.name, hexID(c.span.ParentSpanId), c.parent)
		}
		if c.span.Kind != c.kind {
			t.Errorf("%s span is of kind %v, want %v", c.name, c.span.Kind, c.kind)
		}
		for k, want := range c.wantAttrs {
			if got := attr(c.span, k).GetStringValue(); got != want {
				t.Errorf("%s span's %s = %q, want %q", c.name, k, got, want)
			}
		}
		for k, want := range c.wantIntAttrs {
			if got := attr(c.span, k).GetIntValue(); got != want {
				t.Errorf("%s span's %s = %d, want %d", c.name, k, got, want)
			}
		}
	}
	if tp[2] != hexID(deliver.SpanId) {
		t.Errorf("receiver's traceparent names parent %s, want the attempt's span %s", tp[2], hexID(deliver.SpanId))
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, s := range col.spans {
		if strings.Contains(s.Name, app.ID) {
			t.Errorf("span name %q holds an ID", s.Name)
		}
		for _, a := range s.Attributes {
			if v := a.GetValue().GetStringValue(); strings.Contains(v, "s3cr3t") {
				t.Errorf("span %q attribute %s = %q holds the endpoint URL's path or query", s.Name, a.Key, v)
			}
		}
	}
	for _, svc := range col.services {
		if svc != "hookline-e2e" {
			t.Errorf("spans exported as service %q, want OTEL_SERVICE_NAME's hookline-e2e", svc)
		}
	}
}

// TestTraceRefusesBadEnvironment shows that serve stops at start on an
// OTEL_* value it cannot honour, naming the variable.
func TestTraceRefusesBadEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"HOOKLINE_ADMIN_TOKEN": testToken, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_SAMPLER": "sometimes"}
	var stdout, stderr lockedBuffer
	err := Main(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", t.TempDir() + "/hookline.db"}, &stdout, &stderr,
		func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "OTEL_TRACES_SAMPLER") {
		t.Errorf("serve returned %v, want an error naming OTEL_TRACES_SAMPLER", err)
	}
}
