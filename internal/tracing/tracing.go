// Package tracing sets up OpenTelemetry tracing from the standard OTEL_*
// environment variables, and carries span contexts from a publish to its
// deliveries as W3C traceparent strings.
//
// Tracing is off unless the environment asks for it: then New returns no
// tracer, and the packages that trace take a nil trace.Tracer to mean that
// they start no spans at all, which costs them a nil check.
package tracing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName names the instrumentation scope of hookline's spans.
const ScopeName = "github.com/hookline/hookline"

// Provider exports the spans of a node's tracer. A nil *Provider is
// tracing turned off: its Tracer is nil and its Shutdown does nothing.
type Provider struct {
	tp *sdktrace.TracerProvider
}

// Tracer returns the tracer hookline's packages start their spans with,
// nil when tracing is off.
func (p *Provider) Tracer() trace.Tracer {
	if p == nil {
		return nil
	}
	return p.tp.Tracer(ScopeName)
}

// Shutdown exports the spans not sent yet and stops the exporter. Spans
// ended after it are dropped.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	if err := p.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush traces: %w", err)
	}
	return nil
}

// Options configure New beyond the environment.
type Options struct {
	// Version is hookline's version, reported as service.version.
	Version string
	// Exporter, when set, receives the spans in place of the OTLP
	// exporter the environment describes; tests use it. Tracing is then on
	// whatever the environment says, unless OTEL_SDK_DISABLED is true.
	Exporter sdktrace.SpanExporter
	// Logger, when set, receives the errors of exporting, such as a
	// collector that cannot be reached, in place of OpenTelemetry's
	// default of the standard log package. OpenTelemetry keeps one error
	// handler per process.
	Logger *slog.Logger
}

// New returns the tracing the environment, read with getenv, asks for:
// nil (off) unless OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set or OTEL_TRACES_EXPORTER is
// otlp; always nil when OTEL_SDK_DISABLED is true or OTEL_TRACES_EXPORTER
// is none. The exporter speaks OTLP over HTTP with protobuf bodies, or
// over gRPC when OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL is grpc. OTEL_SERVICE_NAME names the
// service (default hookline) and OTEL_TRACES_SAMPLER with
// OTEL_TRACES_SAMPLER_ARG chooses the sampler (default parentbased_always_on).
// The exporter reads its headers, timeout, compression and certificates
// from the process's environment, as OpenTelemetry's SDK does.
func New(ctx context.Context, getenv func(string) string, opts Options) (*Provider, error) {
	if on, err := boolEnv(getenv, "OTEL_SDK_DISABLED"); err != nil || on {
		return nil, err
	}
	exporter := opts.Exporter
	if exporter == nil {
		if on, err := enabled(getenv); err != nil || !on {
			return nil, err
		}
	}
	sampler, err := newSampler(getenv)
	if err != nil {
		return nil, err
	}
	// OTEL_RESOURCE_ATTRIBUTES comes after the default service name, so
	// that its service.name wins over it, and OTEL_SERVICE_NAME over both,
	// as the specification orders them.
	detectors := []resource.Option{
		resource.WithAttributes(semconv.ServiceName("hookline"), semconv.ServiceVersion(opts.Version)),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
	}
	if name := getenv("OTEL_SERVICE_NAME"); name != "" {
		detectors = append(detectors, resource.WithAttributes(semconv.ServiceName(name)))
	}
	res, err := resource.New(ctx, detectors...)
	if err != nil {
		return nil, fmt.Errorf("describe the service for traces: %w: give OTEL_RESOURCE_ATTRIBUTES as key=value pairs separated by commas", err)
	}
	if exporter == nil {
		if exporter, err = newExporter(ctx, getenv); err != nil {
			return nil, err
		}
	}
	if log := opts.Logger; log != nil {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("export traces", "err", err, "hint", "check that the collector at OTEL_EXPORTER_OTLP_ENDPOINT is up; spans that cannot be sent are dropped")
		}))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithSampler(sampler),
		sdktrace.WithResource(res),
	)
	return &Provider{tp: tp}, nil
}

// enabled says whether the environment turns tracing on.
func enabled(getenv func(string) string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))); v {
	case "otlp":
		return true, nil
	case "none":
		return false, nil
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "", nil
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%s is not supported: hookline exports traces over OTLP; set it to otlp, or to none to turn tracing off", v)
	}
}

// boolEnv reads a boolean variable: true or false in any case, or unset.
func boolEnv(getenv func(string) string, name string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(name))); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("%s=%s: set it to true or false", name, v)
	}
}

// newExporter returns the OTLP exporter the environment describes. The
// endpoints are passed on explicitly, so that what decided tracing is on
// also decides where the spans go.
func newExporter(ctx context.Context, getenv func(string) string) (sdktrace.SpanExporter, error) {
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	traces, base := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	for name, v := range map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": traces, "OTEL_EXPORTER_OTLP_ENDPOINT": base} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s=%s is not a URL: give it as http://host:port or https://host:port", name, v)
		}
	}
	switch strings.TrimSpace(protocol) {
	case "", "http/protobuf":
		var opts []otlptracehttp.Option
		switch {
		case traces != "":
			// The signal's own endpoint is used as it is.
			opts = append(opts, otlptracehttp.WithEndpointURL(traces))
		case base != "":
			u, _ := url.Parse(base)
			u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
			opts = append(opts, otlptracehttp.WithEndpointURL(u.String()))
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("start the OTLP/HTTP trace exporter: %w", err)
		}
		return exp, nil
	case "grpc":
		var opts []otlptracegrpc.Option
		if endpoint := cmp.Or(traces, base); endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(endpoint))
		}
		exp, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("start the OTLP/gRPC trace exporter: %w", err)
		}
		return exp, nil
	default:
		return nil, fmt.Errorf("OTLP protocol %q is not supported: set OTEL_EXPORTER_OTLP_PROTOCOL to http/protobuf (the default) or grpc", protocol)
	}
}

// newSampler returns the sampler OTEL_TRACES_SAMPLER names, with its
// ratio from OTEL_TRACES_SAMPLER_ARG for the ratio samplers (default 1).
func newSampler(getenv func(string) string) (sdktrace.Sampler, error) {
	name := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER")))
	ratio := 1.0
	if strings.HasSuffix(name, "traceidratio") {
		if arg := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG")); arg != "" {
			r, err := strconv.ParseFloat(arg, 64)
			if err != nil || r < 0 || r > 1 {
				return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%s: give the share of traces to sample, from 0 to 1", arg)
			}
			ratio = r
		}
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	}
	return nil, errors.New("OTEL_TRACES_SAMPLER=" + name + " is not supported: use always_on, always_off, traceidratio, " +
		"parentbased_always_on (the default), parentbased_always_off or parentbased_traceidratio")
}

// propagator reads and writes the W3C traceparent and tracestate headers.
var propagator = propagation.TraceContext{}

// Extract returns ctx with the remote span context of the traceparent
// header in h, if it has a valid one.
func Extract(ctx context.Context, h http.Header) context.Context {
	return propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// Inject sets the traceparent (and tracestate) headers of the span in
// ctx on h, replacing any there.
func Inject(ctx context.Context, h http.Header) {
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// TraceParent returns the W3C traceparent of sc, empty for an invalid
// span context.
func TraceParent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagator.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
	return c["traceparent"]
}

// WithTraceParent returns ctx with the remote span context of the
// traceparent tp, as TraceParent wrote it; ctx unchanged when tp is empty
// or not a valid traceparent.
func WithTraceParent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return propagator.Extract(ctx, propagation.MapCarrier{"traceparent": tp})
}

// Method returns an HTTP method as spans name it: the method when it is
// one of HTTP's own, else "_OTHER", so that a client sending made-up
// methods cannot make a span name or attribute value of each.
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// ServerAddress returns the attributes that name where a URL points,
// its scheme, host and port, and never its path or query, which may hold
// secrets (a receiver's token in its path, a key in its query).
func ServerAddress(rawURL string) []attribute.KeyValue {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil
	}
	attrs := []attribute.KeyValue{semconv.URLScheme(u.Scheme), semconv.ServerAddress(u.Hostname())}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(p))
	}
	return attrs
}
