// Package telemetry is how tokengate is seen from outside: a tracer provider configured by the
// standard OTEL_* environment variables, a meter provider exported to Prometheus with the
// instruments tokengate records, and structured logs that carry the trace of their request.
//
// Nothing here is global: the command builds one Tracing and one Metrics and hands them to
// whoever records. Tracing is off unless configured, and then costs nothing: callers see a nil
// Provider and install no middleware.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the service.name of tokengate's telemetry unless OTEL_SERVICE_NAME (or
// service.name in OTEL_RESOURCE_ATTRIBUTES) says otherwise.
const ServiceName = "tokengate"

// Environment variables of the OpenTelemetry specification ("Environment Variable
// Specification", "General SDK Configuration" and "OTLP Exporter") that decide whether and
// where traces go. The exporters read the rest themselves (headers, timeout, certificates).
//
// These five are read here rather than by go.opentelemetry.io/contrib/exporters/autoexport:
// its init registers the OTLP metric and log exporters and the log SDK too, so linking it
// adds 52 packages and 1.0 MB to the binary (BENCHMARKS.md, "Binary") for the same trace
// exporters. It would also take one name only in OTEL_TRACES_EXPORTER, name no variable in
// its errors ("unknown exporter or metrics producer") and write console spans to os.Stdout.
const (
	envTracesExporter = "OTEL_TRACES_EXPORTER"
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
)

// Tracing is the trace pipeline of one process.
type Tracing struct {
	// Provider makes tracers. It is nil when tracing is off, so that callers skip their
	// instrumentation entirely rather than paying for no-op spans on the hot path.
	Provider trace.TracerProvider
	// Propagator reads and writes W3C traceparent/tracestate and baggage, so a trace started
	// by ingress-nginx or Traefik is continued.
	Propagator propagation.TextMapPropagator
	// Exporters names what traces go to, for the start-up log: "otlp/grpc",
	// "otlp/http/protobuf", "console". Empty when tracing is off.
	Exporters []string

	sdk *sdktrace.TracerProvider
}

// NewPropagator is W3C Trace Context plus W3C Baggage, the propagation ingress-nginx's and
// Traefik's OpenTelemetry modules speak.
func NewPropagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// NewTracing builds the tracer provider the process environment asks for, as an
// OpenTelemetry SDK would: OTEL_TRACES_EXPORTER (otlp, console, none; a comma-separated list),
// OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL (http/protobuf, the specification's default, or grpc),
// OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, and the
// sampler from OTEL_TRACES_SAMPLER/_ARG (read by the SDK itself; default parentbased_always_on).
//
// Unlike the specification's default of otlp, tracing is off when neither an exporter nor an
// endpoint is named: a forward-auth service must not retry a collector that was never there.
// console writes spans as JSON to console.
func NewTracing(ctx context.Context, version string, console io.Writer) (*Tracing, error) {
	t := &Tracing{Propagator: NewPropagator()}
	names, err := exporterNames()
	if err != nil || len(names) == 0 {
		return t, err
	}
	res, err := newResource(ctx, version)
	if err != nil {
		return nil, err
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	for _, name := range names {
		exp, label, err := newExporter(ctx, name, console)
		if err != nil {
			return nil, errors.Join(err, shutdownExporters(ctx, opts))
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
		t.Exporters = append(t.Exporters, label)
	}
	t.sdk = sdktrace.NewTracerProvider(opts...)
	t.Provider = t.sdk
	return t, nil
}

// NewTracingWith wraps a tracer provider the caller built (tests: an in-memory exporter).
func NewTracingWith(tp trace.TracerProvider) *Tracing {
	return &Tracing{Provider: tp, Propagator: NewPropagator(), Exporters: []string{"custom"}}
}

// Enabled reports whether spans are made at all.
func (t *Tracing) Enabled() bool { return t != nil && t.Provider != nil }

// Shutdown exports the spans still buffered and stops the exporters. ctx bounds the wait.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.sdk == nil {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down the tracer provider: %w", err)
	}
	return nil
}

// exporterNames reads which exporters to run; none means tracing is off.
func exporterNames() ([]string, error) {
	raw := strings.ToLower(strings.TrimSpace(os.Getenv(envTracesExporter)))
	if raw == "" {
		if os.Getenv(envEndpoint) == "" && os.Getenv(envTracesEndpoint) == "" {
			return nil, nil
		}
		return []string{"otlp"}, nil
	}
	var names []string
	for part := range strings.SplitSeq(raw, ",") {
		name := strings.TrimSpace(part)
		switch name {
		case "none":
			// The specification: "none" means no automatically configured exporter.
			return nil, nil
		case "otlp", "console":
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		default:
			return nil, fmt.Errorf("%s: %q is not one of otlp, console, none", envTracesExporter, name)
		}
	}
	return names, nil
}

// newExporter builds one span exporter and names it for the start-up log.
func newExporter(ctx context.Context, name string, console io.Writer) (sdktrace.SpanExporter, string, error) {
	if name == "console" {
		exp, err := stdouttrace.New(stdouttrace.WithWriter(console))
		if err != nil {
			return nil, "", fmt.Errorf("console trace exporter: %w", err)
		}
		return exp, "console", nil
	}
	protocol := strings.TrimSpace(os.Getenv(envTracesProtocol))
	if protocol == "" {
		protocol = strings.TrimSpace(os.Getenv(envProtocol))
	}
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		protocol = "http/protobuf"
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, "", fmt.Errorf("%s: %q is not one of grpc, http/protobuf", envProtocol, protocol)
	}
	if err != nil {
		return nil, "", fmt.Errorf("OTLP trace exporter (%s): %w", protocol, err)
	}
	return exp, "otlp/" + protocol, nil
}

// shutdownExporters stops the exporters built before a later one failed.
func shutdownExporters(ctx context.Context, opts []sdktrace.TracerProviderOption) error {
	if len(opts) <= 1 {
		return nil
	}
	return sdktrace.NewTracerProvider(opts...).Shutdown(ctx)
}

// newResource describes this process: service.name "tokengate" and service.version, which
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES may override (later detectors win).
func newResource(ctx context.Context, version string) (*resource.Resource, error) {
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(ServiceName), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry resource (check OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	return res, nil
}
