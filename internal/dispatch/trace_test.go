package dispatch

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestTraceAttempts shows that each attempt is a client span, a child of
// the span that published the message when the message kept its
// traceparent and a root otherwise; that the endpoint gets the attempt's
// traceparent, replacing one a forwarded sender's headers brought; and
// that the span names where the request went by scheme and host only.
func TestTraceAttempts(t *testing.T) {
	const publishTrace, publishSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, tt := range []struct {
		name        string
		traceParent string
		status      int
	}{
		{"child of the publish", "00-" + publishTrace + "-" + publishSpan + "-01", http.StatusOK},
		{"failed attempt", "00-" + publishTrace + "-" + publishSpan + "-01", http.StatusInternalServerError},
		{"message without a trace", "", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{handle: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) }}
			srv := newServer(t, rec)
			ep := newEndpoint(srv.URL + "/hooks/s3cr3t-path?token=s3cr3t-query")
			msg := newMessage()
			msg.TraceParent = tt.traceParent
			// A forwarded request brings its sender's traceparent.
			msg.Headers = map[string][]string{"Traceparent": {"00-" + strings.Repeat("a", 32) + "-" + strings.Repeat("b", 16) + "-01"}}
			st := newFakeStore(newTask(ep, msg))
			spans := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
			startDispatcher(t, st, Options{Now: fixedNow, Tracer: tp.Tracer("test")})
			st.waitResults(t, 1)

			ended := spans.Ended()
			if len(ended) != 1 {
				t.Fatalf("%d spans, want one for the attempt", len(ended))
			}
			s := ended[0]
			if s.Name() != "deliver" || s.SpanKind() != trace.SpanKindClient {
				t.Errorf("span %q of kind %v, want a client span named deliver", s.Name(), s.SpanKind())
			}
			sc := s.SpanContext()
			if tt.traceParent != "" && (sc.TraceID().String() != publishTrace || s.Parent().SpanID().String() != publishSpan) {
				t.Errorf("span of trace %s with parent %s, want the publish's trace and span", sc.TraceID(), s.Parent().SpanID())
			}
			if tt.traceParent == "" && s.Parent().IsValid() {
				t.Errorf("span of a message without a trace has parent %v, want none", s.Parent())
			}
			got := rec.requests()[0].header.Values("Traceparent")
			if want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"; len(got) != 1 || got[0] != want {
				t.Errorf("endpoint got traceparent %q, want only the attempt's %q", got, want)
			}
			attrs := map[string]string{}
			for _, kv := range s.Attributes() {
				attrs[string(kv.Key)] = kv.Value.Emit()
				if strings.Contains(kv.Value.Emit(), "s3cr3t") {
					t.Errorf("attribute %s = %q holds the endpoint URL's path or query", kv.Key, kv.Value.Emit())
				}
			}
			if attrs["http.response.status_code"] != strconv.Itoa(tt.status) || attrs["server.address"] != "127.0.0.1" || attrs["http.request.method"] != "POST" {
				t.Errorf("attributes %v", attrs)
			}
			if failed := s.Status().Code == codes.Error; failed != (tt.status >= 300) {
				t.Errorf("span status %v for a %d", s.Status(), tt.status)
			}
		})
	}
}
