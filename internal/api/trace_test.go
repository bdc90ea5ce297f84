package api

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestTraceByRoute shows that each request is a server span named by its
// route's pattern, never its path, or by its method alone when it matched
// no route, and that a publish is a span below its request's whose
// traceparent the message keeps.
func TestTraceByRoute(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	st := newFakeStore()
	e := newEnv(t, st, func(o *Options) { o.Tracer = tp.Tracer("test") })
	var app applicationOut
	e.do("POST", "/api/v1/app", map[string]any{"name": "Acme", "uid": "acme"}).want(http.StatusCreated).decode(&app)
	var first, dup msgOut
	msg := map[string]any{"eventType": "x", "eventId": "e1", "payload": map[string]any{}}
	e.do("POST", "/api/v1/app/acme/msg", msg, "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").
		want(http.StatusAccepted).decode(&first)
	e.do("POST", "/api/v1/app/acme/msg", msg).want(http.StatusConflict).decode(&dup)
	e.do("GET", "/api/v1/app/acme", nil).want(http.StatusOK)
	e.do("GET", "/api/v1/nosuchroute", nil).want(http.StatusNotFound)
	e.do("BREW", "/api/v1/app", nil).want(http.StatusMethodNotAllowed)

	type span struct {
		Name, Parent, Route string
		Status              int64
	}
	var got []span
	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byName[s.Name()] = append(byName[s.Name()], s)
		if s.Name() == "publish" {
			continue
		}
		sp := span{Name: s.Name(), Parent: s.Parent().SpanID().String()}
		for _, kv := range s.Attributes() {
			switch kv.Key {
			case "http.route":
				sp.Route = kv.Value.AsString()
			case "http.response.status_code":
				sp.Status = kv.Value.AsInt64()
			}
		}
		got = append(got, sp)
	}
	none := "0000000000000000"
	want := []span{
		{"POST /api/v1/app", none, "/api/v1/app", 201},
		{"POST /api/v1/app/{app_id}/msg", "00f067aa0ba902b7", "/api/v1/app/{app_id}/msg", 202},
		{"POST /api/v1/app/{app_id}/msg", none, "/api/v1/app/{app_id}/msg", 409},
		{"GET /api/v1/app/{app_id}", none, "/api/v1/app/{app_id}", 200},
		{"GET", none, "", 404},
		{"_OTHER", none, "", 405},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request spans (-want +got):\n%s", diff)
	}

	publishes := byName["publish"]
	if len(publishes) != 2 {
		t.Fatalf("%d publish spans, want 2", len(publishes))
	}
	pub, req := publishes[0], byName["POST /api/v1/app/{app_id}/msg"][0]
	if pub.Parent().SpanID() != req.SpanContext().SpanID() || pub.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("publish span is not a child of its request's span in the caller's trace")
	}
	m, err := st.MessageGet(context.Background(), app.ID, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantTP := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + pub.SpanContext().SpanID().String() + "-01"
	if m.TraceParent != wantTP {
		t.Errorf("message keeps traceparent %q, want its publish span's %q", m.TraceParent, wantTP)
	}
	attrs := map[string]string{}
	for _, kv := range publishes[1].Attributes() {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	if attrs["hookline.duplicate"] != "true" || attrs["hookline.existing_message_id"] != first.ID {
		t.Errorf("the publish of a taken eventId has attributes %v, want it marked a duplicate of %s", attrs, first.ID)
	}
}

// discardExporter drops the spans it is sent.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// BenchmarkPublishTracing measures a publish through the handler, over the
// in-memory fake store, with tracing off (no tracer: the default) and on
// (every request and publish a recorded span, exported in batches to
// nowhere), so that the cost of each shows apart from the database's.
func BenchmarkPublishTracing(b *testing.B) {
	body := `{"eventType":"bench.event","payload":{"seq":1,"pad":"` + strings.Repeat("x", 1000) + `"}}`
	for _, bb := range []struct {
		name   string
		tracer func() (trace.Tracer, func())
	}{
		{"off", func() (trace.Tracer, func()) { return nil, func() {} }},
		{"on", func() (trace.Tracer, func()) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
			return tp.Tracer("bench"), func() { tp.Shutdown(context.Background()) }
		}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			tr, stop := bb.tracer()
			defer stop()
			sum := sha256.Sum256([]byte(testToken))
			h := New(Options{Store: newFakeStore(), TokenHash: sum[:], Tracer: tr})
			create := httptest.NewRequest("POST", "/api/v1/app", strings.NewReader(`{"name":"Acme","uid":"acme"}`))
			create.Header.Set("Authorization", "Bearer "+testToken)
			h.ServeHTTP(httptest.NewRecorder(), create)
			w := &discardWriter{header: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", "/api/v1/app/acme/msg", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testToken)
				req.Header.Set("Content-Type", "application/json")
				h.ServeHTTP(w, req)
			}
			if w.status != http.StatusAccepted {
				b.Fatalf("publish answered %d", w.status)
			}
		})
	}
}
