package inbound_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/store"
)

// TestTraceRoutes shows that a request to a receive URL is a span, a child
// of the sender's when it sends a traceparent, that each route it runs is
// a child span of it, and that the messages of forward and publish routes
// keep their route span's traceparent for their deliveries. No span names
// the receive URL's token.
func TestTraceRoutes(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	e := newEnv(t, nil, func(o *inbound.Options) { o.Tracer = tp.Tracer("test") })
	ctx := context.Background()
	now := time.Now()
	target := e.app(t, "internal")
	sub := &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: target.ID, URL: "https://svc.example/hook", Version: 1, Format: hookline.FormatJSON, CreatedAt: now, UpdatedAt: now}
	if err := e.st.EndpointCreate(ctx, sub); err != nil {
		t.Fatal(err)
	}
	src, path := e.source(t, func(s *hookline.Source) {
		s.Routes = []hookline.Route{
			{ID: "fwd", Type: hookline.RouteForward, URL: "https://app.example/hooks"},
			{ID: "pub", Type: hookline.RoutePublish, App: "internal", EventType: "github.push"},
			{ID: "hold", Type: hookline.RouteHold},
		}
	})
	const sender = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	body := `{"ref":"refs/heads/main"}`
	h := githubHeaders(body, "d-1")
	h["Traceparent"] = sender
	if code, _ := e.post(t, "POST", path, body, h); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}

	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		spans[s.Name()] = s
		if strings.Contains(s.Name(), path[len("/in/"):]) {
			t.Errorf("span %q names the receive URL's token", s.Name())
		}
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.Emit(), path[len("/in/"):]) {
				t.Errorf("span %q attribute %s holds the receive URL's token", s.Name(), kv.Key)
			}
		}
	}
	req, ok := spans["POST /in/{token}"]
	if !ok {
		t.Fatalf("no span of the request among %v", keys(spans))
	}
	if got := req.Parent().SpanID().String(); got != "00f067aa0ba902b7" || req.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("request span's parent %s of trace %s, want the sender's", got, req.SpanContext().TraceID())
	}
	attrs := map[string]string{}
	for _, kv := range req.Attributes() {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	if attrs["hookline.source_id"] != src.ID || attrs["http.response.status_code"] != "200" || attrs["http.route"] != "/in/{token}" {
		t.Errorf("request span's attributes %v", attrs)
	}
	for _, name := range []string{"route forward", "route publish", "route hold"} {
		s, ok := spans[name]
		if !ok {
			t.Errorf("no span %q among %v", name, keys(spans))
			continue
		}
		if s.Parent().SpanID() != req.SpanContext().SpanID() {
			t.Errorf("span %q is not a child of the request's", name)
		}
	}

	tasks, err := e.st.DeliveryClaim(ctx, store.Claim{Now: time.Now().Add(time.Second), Limit: 10, LeaseUntil: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 {
		t.Fatalf("%d deliveries, want the forward's and the publish's", len(tasks))
	}
	for _, task := range tasks {
		route := map[string]string{"https://app.example/hooks": "route forward", "https://svc.example/hook": "route publish"}[task.Endpoint.URL]
		want := "00-" + spans[route].SpanContext().TraceID().String() + "-" + spans[route].SpanContext().SpanID().String() + "-01"
		if task.Message.TraceParent != want {
			t.Errorf("message of %q has traceparent %q, want its route span's %q", route, task.Message.TraceParent, want)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
