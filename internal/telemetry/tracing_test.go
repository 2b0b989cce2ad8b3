package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// clearOTelEnv unsets every variable NewTracing reads, so the machine's environment does not
// leak into a test.
func clearOTelEnv(t *testing.T) {
	for _, k := range []string{envTracesExporter, envEndpoint, envTracesEndpoint, envProtocol, envTracesProtocol,
		"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
		"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		t.Setenv(k, "")
	}
}

func TestNewTracingExporters(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    []string // nil: tracing off
		wantErr string
	}{
		{name: "nothing configured is off"},
		{name: "none is off even with an endpoint", env: map[string]string{envTracesExporter: "none", envEndpoint: "http://127.0.0.1:4318"}},
		{name: "endpoint alone means otlp over http/protobuf", env: map[string]string{envEndpoint: "http://127.0.0.1:4318"}, want: []string{"otlp/http/protobuf"}},
		{name: "traces endpoint alone", env: map[string]string{envTracesEndpoint: "http://127.0.0.1:4318/v1/traces"}, want: []string{"otlp/http/protobuf"}},
		{name: "otlp grpc", env: map[string]string{envTracesExporter: "otlp", envProtocol: "grpc"}, want: []string{"otlp/grpc"}},
		{name: "traces protocol wins", env: map[string]string{envTracesExporter: "otlp", envProtocol: "grpc", envTracesProtocol: "http/protobuf"}, want: []string{"otlp/http/protobuf"}},
		{name: "console", env: map[string]string{envTracesExporter: "console"}, want: []string{"console"}},
		{name: "list", env: map[string]string{envTracesExporter: "otlp, console,otlp"}, want: []string{"otlp/http/protobuf", "console"}},
		{name: "unknown exporter", env: map[string]string{envTracesExporter: "zipkin"}, wantErr: `"zipkin"`},
		{name: "unknown protocol", env: map[string]string{envTracesExporter: "otlp", envProtocol: "http/json"}, wantErr: `"http/json"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tr, err := NewTracing(t.Context(), "dev", &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewTracing = %v; want an error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewTracing = %v", err)
			}
			defer tr.Shutdown(context.Background())
			if got := tr.Enabled(); got != (tt.want != nil) {
				t.Errorf("Enabled() = %v; want %v", got, tt.want != nil)
			}
			if !slices.Equal(tr.Exporters, tt.want) {
				t.Errorf("Exporters = %v; want %v", tr.Exporters, tt.want)
			}
			if tr.Propagator == nil {
				t.Errorf("no propagator")
			}
		})
	}
}

// consoleSpans starts and ends one span through a console-exporting NewTracing and returns the
// exported span as JSON.
func consoleSpan(t *testing.T) map[string]any {
	t.Helper()
	var out bytes.Buffer
	tr, err := NewTracing(t.Context(), "v9.9.9", &out)
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Provider.Tracer("test").Start(context.Background(), "op")
	span.End()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.NewDecoder(&out).Decode(&got); err != nil {
		t.Fatalf("console output is not a JSON span: %v: %q", err, out.String())
	}
	return got
}

func resourceAttr(span map[string]any, key string) string {
	attrs, _ := span["Resource"].([]any)
	for _, a := range attrs {
		kv, _ := a.(map[string]any)
		if kv["Key"] == key {
			v, _ := kv["Value"].(map[string]any)
			s, _ := v["Value"].(string)
			return s
		}
	}
	return ""
}

func TestNewTracingResource(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantService string
		wantTeam    string
	}{
		{name: "default service name", wantService: "tokengate"},
		{name: "OTEL_SERVICE_NAME", env: map[string]string{"OTEL_SERVICE_NAME": "auth-edge"}, wantService: "auth-edge"},
		{name: "OTEL_RESOURCE_ATTRIBUTES", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs,team=platform"}, wantService: "from-attrs", wantTeam: "platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			t.Setenv(envTracesExporter, "console")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			span := consoleSpan(t)
			if got := resourceAttr(span, "service.name"); got != tt.wantService {
				t.Errorf("service.name = %q; want %q", got, tt.wantService)
			}
			if got := resourceAttr(span, "service.version"); got != "v9.9.9" {
				t.Errorf("service.version = %q; want v9.9.9", got)
			}
			if got := resourceAttr(span, "team"); got != tt.wantTeam {
				t.Errorf("team = %q; want %q", got, tt.wantTeam)
			}
		})
	}
}

// The SDK reads OTEL_TRACES_SAMPLER itself; this pins that it does, and that the default
// follows the ingress's sampling decision.
func TestNewTracingSampler(t *testing.T) {
	parent := func(sampled bool) context.Context {
		flags := trace.TraceFlags(0)
		if sampled {
			flags = trace.FlagsSampled
		}
		tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0" + flags.String()[1:]
		return NewPropagator().Extract(context.Background(), propagation.MapCarrier{"traceparent": tp})
	}
	tests := []struct {
		name    string
		sampler string
		parent  context.Context
		want    bool
	}{
		{name: "default samples a root", parent: context.Background(), want: true},
		{name: "default follows a sampled parent", parent: parent(true), want: true},
		{name: "default follows an unsampled parent", parent: parent(false), want: false},
		{name: "always_off", sampler: "always_off", parent: context.Background(), want: false},
		{name: "always_on ignores the parent", sampler: "always_on", parent: parent(false), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			t.Setenv(envTracesExporter, "console")
			t.Setenv("OTEL_TRACES_SAMPLER", tt.sampler)
			tr, err := NewTracing(t.Context(), "dev", &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Shutdown(context.Background())
			_, span := tr.Provider.Tracer("test").Start(tt.parent, "op")
			defer span.End()
			if got := span.SpanContext().IsSampled(); got != tt.want {
				t.Errorf("sampled = %v; want %v", got, tt.want)
			}
		})
	}
}

// TestNewTracingOTLPHeaders: OTEL_EXPORTER_OTLP_HEADERS, how a collector behind
// authentication is reached, is read by the exporter itself, not by NewTracing; this pins
// that it still reaches the collector.
func TestNewTracingOTLPHeaders(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	clearOTelEnv(t)
	t.Setenv(envEndpoint, collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Basic%20dGVzdA==,x-scope-orgid=platform")
	tr, err := NewTracing(t.Context(), "dev", &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Provider.Tracer("test").Start(context.Background(), "op")
	span.End()
	if err := tr.Shutdown(context.Background()); err != nil { // flushes the batch
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got == nil {
		t.Fatal("the collector received no export")
	}
	if a, o := got.Get("Authorization"), got.Get("X-Scope-Orgid"); a != "Basic dGVzdA==" || o != "platform" {
		t.Errorf("Authorization = %q, X-Scope-OrgID = %q; want %q, %q", a, o, "Basic dGVzdA==", "platform")
	}
}
