package tracing

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestNewOnOff(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		vars map[string]string
		on   bool
	}{
		{"nothing set", nil, false},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true},
		{"exporter otlp", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{"exporter otlp over grpc", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true},
		{"exporter none wins over an endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, false},
		{"sdk disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, false},
		{"sdk disabled in capitals", map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, false},
		{"sdk not disabled", map[string]string{"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(context.Background(), env(tt.vars), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			if on := p.Tracer() != nil; on != tt.on {
				t.Errorf("tracing on = %v, want %v", on, tt.on)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		vars map[string]string
		want string // in the error
	}{
		{"unknown exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "set it to otlp"},
		{"json protocol", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "http/protobuf (the default) or grpc"},
		{"endpoint not a URL", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4318"}, "http://host:port"},
		{"unknown sampler", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "sometimes"}, "parentbased_always_on (the default)"},
		{"ratio out of range", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, "from 0 to 1"},
		{"disabled not a boolean", map[string]string{"OTEL_SDK_DISABLED": "yes"}, "true or false"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(context.Background(), env(tt.vars), Options{})
			if err == nil {
				p.Shutdown(context.Background())
				t.Fatal("New accepted the environment")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// TestSampler shows that OTEL_TRACES_SAMPLER decides which traces are
// recorded, and that the default follows the caller's decision.
func TestSampler(t *testing.T) {
	t.Parallel()
	sampledParent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true})
	unsampledParent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, Remote: true})
	for _, tt := range []struct {
		sampler, arg                   string
		root, sampledKid, unsampledKid bool
	}{
		{"", "", true, true, false},
		{"always_off", "", false, false, false},
		{"always_on", "", true, true, true},
		{"parentbased_always_off", "", false, true, false},
		{"traceidratio", "0", false, false, false},
		{"parentbased_traceidratio", "0", false, true, false},
	} {
		t.Run(tt.sampler, func(t *testing.T) {
			t.Parallel()
			rec := tracetest.NewInMemoryExporter()
			p, err := New(context.Background(), env(map[string]string{"OTEL_TRACES_SAMPLER": tt.sampler, "OTEL_TRACES_SAMPLER_ARG": tt.arg}), Options{Exporter: rec})
			if err != nil {
				t.Fatal(err)
			}
			tr := p.Tracer()
			sampled := func(parent trace.SpanContext) bool {
				ctx := context.Background()
				if parent.IsValid() {
					ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
				}
				_, span := tr.Start(ctx, "x")
				defer span.End()
				return span.SpanContext().IsSampled()
			}
			got := []bool{sampled(trace.SpanContext{}), sampled(sampledParent), sampled(unsampledParent)}
			if diff := cmp.Diff([]bool{tt.root, tt.sampledKid, tt.unsampledKid}, got); diff != "" {
				t.Errorf("sampled [root, child of sampled, child of unsampled] (-want +got):\n%s", diff)
			}
			must(t, p.Shutdown(context.Background()))
		})
	}
}

// keeper is an exporter that keeps what it was sent past its Shutdown,
// which tracetest's in-memory exporter forgets.
type keeper struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (k *keeper) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.spans = append(k.spans, spans...)
	return nil
}

func (k *keeper) Shutdown(context.Context) error { return nil }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestServiceName shows the resource's service name: hookline by default,
// OTEL_SERVICE_NAME when set, and the spans reach the exporter at
// shutdown.
func TestServiceName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ set, want string }{{"", "hookline"}, {"billing-hooks", "billing-hooks"}} {
		rec := &keeper{}
		p, err := New(context.Background(), env(map[string]string{"OTEL_SERVICE_NAME": tt.set}), Options{Version: "1.2.3", Exporter: rec})
		must(t, err)
		_, span := p.Tracer().Start(context.Background(), "x")
		span.End()
		must(t, p.Shutdown(context.Background()))
		spans := rec.spans
		if len(spans) != 1 {
			t.Fatalf("exported %d spans, want 1 flushed by Shutdown", len(spans))
		}
		attrs := map[attribute.Key]string{}
		for _, kv := range spans[0].Resource().Attributes() {
			attrs[kv.Key] = kv.Value.Emit()
		}
		if attrs["service.name"] != tt.want || attrs["service.version"] != "1.2.3" {
			t.Errorf("OTEL_SERVICE_NAME=%q: service.name %q, service.version %q; want %q, 1.2.3", tt.set, attrs["service.name"], attrs["service.version"], tt.want)
		}
	}
}

func TestNilProvider(t *testing.T) {
	t.Parallel()
	var p *Provider
	if p.Tracer() != nil {
		t.Error("a nil provider has a tracer")
	}
	must(t, p.Shutdown(context.Background()))
}

func TestTraceParentRoundTrip(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider()
	_, span := tp.Tracer("t").Start(context.Background(), "x")
	sc := span.SpanContext()
	s := TraceParent(sc)
	if want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"; s != want {
		t.Fatalf("TraceParent = %q, want %q", s, want)
	}
	back := trace.SpanContextFromContext(WithTraceParent(context.Background(), s))
	if back.TraceID() != sc.TraceID() || back.SpanID() != sc.SpanID() || !back.IsRemote() || !back.IsSampled() {
		t.Errorf("WithTraceParent(%q) = %v, want the remote span context of %v", s, back, sc)
	}
	if TraceParent(trace.SpanContext{}) != "" {
		t.Error("an invalid span context has a traceparent")
	}
	for _, bad := range []string{"", "00-garbage", "00-00000000000000000000000000000000-0000000000000000-01"} {
		if sc := trace.SpanContextFromContext(WithTraceParent(context.Background(), bad)); sc.IsValid() {
			t.Errorf("WithTraceParent(%q) gave the valid span context %v", bad, sc)
		}
	}

	h := http.Header{"Traceparent": {"00-" + strings.Repeat("a", 32) + "-" + strings.Repeat("b", 16) + "-01"}}
	Inject(trace.ContextWithSpanContext(context.Background(), sc), h)
	if got := h.Values("Traceparent"); len(got) != 1 || got[0] != s {
		t.Errorf("Inject left traceparent %q, want only %q", got, s)
	}
	if got := trace.SpanContextFromContext(Extract(context.Background(), h)); got.SpanID() != sc.SpanID() {
		t.Errorf("Extract found span %v, want %v", got.SpanID(), sc.SpanID())
	}
}

func TestServerAddress(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		url  string
		want map[string]string
	}{
		{"https://hooks.example.com/t/s3cr3t?key=s3cr3t", map[string]string{"url.scheme": "https", "server.address": "hooks.example.com", "server.port": "443"}},
		{"http://127.0.0.1:8080/x", map[string]string{"url.scheme": "http", "server.address": "127.0.0.1", "server.port": "8080"}},
		{"http://[::1]/x", map[string]string{"url.scheme": "http", "server.address": "::1", "server.port": "80"}},
		{"not a url", map[string]string{}},
	} {
		got := map[string]string{}
		for _, kv := range ServerAddress(tt.url) {
			got[string(kv.Key)] = kv.Value.Emit()
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ServerAddress(%q) (-want +got):\n%s", tt.url, diff)
		}
	}
}

func TestMethod(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"GET": "GET", "POST": "POST", "DELETE": "DELETE", "get": "_OTHER", "BREW": "_OTHER", "": "_OTHER"} {
		if got := Method(in); got != want {
			t.Errorf("Method(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestResourceAttributesRefused shows that a malformed
// OTEL_RESOURCE_ATTRIBUTES, which the SDK reads from the process's
// environment, stops New rather than being dropped unseen.
func TestResourceAttributesRefused(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment")
	p, err := New(context.Background(), env(nil), Options{Exporter: &keeper{}})
	if err == nil {
		p.Shutdown(context.Background())
		t.Fatal("New accepted a malformed OTEL_RESOURCE_ATTRIBUTES")
	}
	if !strings.Contains(err.Error(), "OTEL_RESOURCE_ATTRIBUTES") {
		t.Errorf("error %q does not name OTEL_RESOURCE_ATTRIBUTES", err)
	}
}

// TestServiceNameFromResourceAttributes shows that a service.name in
// OTEL_RESOURCE_ATTRIBUTES names the service when OTEL_SERVICE_NAME is
// unset, and that OTEL_SERVICE_NAME wins when both are set.
func TestServiceNameFromResourceAttributes(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes,deployment.environment=test")
	for _, tt := range []struct{ set, want string }{{"", "from-attributes"}, {"from-name", "from-name"}} {
		rec := &keeper{}
		p, err := New(context.Background(), env(map[string]string{"OTEL_SERVICE_NAME": tt.set}), Options{Exporter: rec})
		must(t, err)
		_, span := p.Tracer().Start(context.Background(), "x")
		span.End()
		must(t, p.Shutdown(context.Background()))
		attrs := map[attribute.Key]string{}
		for _, kv := range rec.spans[0].Resource().Attributes() {
			attrs[kv.Key] = kv.Value.Emit()
		}
		if attrs["service.name"] != tt.want || attrs["deployment.environment"] != "test" {
			t.Errorf("OTEL_SERVICE_NAME=%q: service.name %q, deployment.environment %q; want %q, test", tt.set, attrs["service.name"], attrs["deployment.environment"], tt.want)
		}
	}
}
