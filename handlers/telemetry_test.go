package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tokengate/tokengate/handlers"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/telemetry"
	"github.com/tokengate/tokengate/session"
)

// middlewareNames lists the global middleware of the engine New builds.
func middlewareNames(t *testing.T, tracing *telemetry.Tracing) []string {
	t.Helper()
	cfg := config.Defaults()
	cfg.PublicURL = "https://auth.example.com"
	engine, ok := handlers.New(handlers.Deps{Config: &cfg, Tracing: tracing}).(*gin.Engine)
	if !ok {
		t.Fatalf("New did not return a gin engine")
	}
	var names []string
	for _, h := range engine.Handlers {
		names = append(names, runtime.FuncForPC(reflect.ValueOf(h).Pointer()).Name())
	}
	return names
}

// Tracing off must cost nothing: no traceServer middleware, not even one with a no-op provider.
func TestTracingMiddleware(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewInMemoryExporter()))
	defer tp.Shutdown(context.Background())
	tests := []struct {
		name        string
		tracing     *telemetry.Tracing
		wantTracing bool
	}{
		{name: "nil tracing", tracing: nil},
		{name: "tracing off", tracing: &telemetry.Tracing{Propagator: telemetry.NewPropagator()}},
		{name: "tracing on", tracing: telemetry.NewTracingWith(tp), wantTracing: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := middlewareNames(t, tt.tracing)
			got := len(names) > 0 && strings.Contains(names[0], "traceServer")
			if got != tt.wantTracing {
				t.Errorf("middleware %v; want traceServer first: %v", names, tt.wantTracing)
			}
			for _, n := range names[1:] {
				if strings.Contains(n, "traceServer") {
					t.Errorf("traceServer installed twice or late: %v", names)
				}
			}
		})
	}
}

// BenchmarkAuthTelemetry measures the cost of telemetry on the /auth cache hit:
// all cores, tracing off (metrics only, as tokengate always runs) against no telemetry at
// all, and tracing on, sampled at 100% and batch-exported over OTLP/HTTP to a local sink,
// with the default tracing.stepSpans (auto: the server span alone) and with always.
//
//	go test ./handlers -run '^$' -bench AuthTelemetry -count 6 | benchstat -col /telemetry -
func BenchmarkAuthTelemetry(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer sink.Close()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(sink.URL+"/v1/traces"))
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	defer tp.Shutdown(context.Background())
	metrics, err := telemetry.NewMetrics("bench", []string{"default"})
	if err != nil {
		b.Fatal(err)
	}
	tests := []struct {
		name  string
		tweak func(*handlers.Deps)
	}{
		{name: "telemetry=none", tweak: func(*handlers.Deps) {}},
		{name: "telemetry=metrics", tweak: func(d *handlers.Deps) { d.Metrics = metrics }},
		{name: "telemetry=metrics+tracing", tweak: func(d *handlers.Deps) { d.Metrics = metrics; d.Tracing = telemetry.NewTracingWith(tp) }},
		{name: "telemetry=metrics+tracing+stepspans", tweak: func(d *handlers.Deps) {
			d.Metrics, d.Tracing = metrics, telemetry.NewTracingWith(tp)
			d.Config.Tracing.StepSpans = config.StepSpansAlways
		}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			h, req := newBenchAuthWith(b, 1, tt.tweak)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &resetWriter{header: http.Header{}}
				r := req.Clone(context.Background())
				for pb.Next() {
					w.reset()
					h.ServeHTTP(w, r)
					if w.status != http.StatusOK {
						b.Errorf("/auth answered %d; want 200", w.status)
						return
					}
				}
			})
		})
	}

}

// panickingSessions panics in every method, as a bug in a store would.
type panickingSessions struct{ handlers.SessionStore }

func (panickingSessions) Load(context.Context, *http.Request) (*session.Session, error) {
	panic("store bug")
}

// A panic inside /auth still ends its server span as the 500 the recovery middleware sends,
// an error of the span, instead of a span without status or attributes.
func TestAuthSpanOfAPanic(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	h, req := newBenchAuthWith(t, 1, func(d *handlers.Deps) {
		d.Tracing = telemetry.NewTracingWith(tp)
		d.Sessions = panickingSessions{d.Sessions}
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("/auth with a panicking store = %d; want 500", rec.Code)
	}
	var span tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "GET /auth" {
			span = s
		}
	}
	if span.Name == "" {
		t.Fatalf("no server span GET /auth among %d spans", len(exp.GetSpans()))
	}
	if span.Status.Code != codes.Error {
		t.Errorf("span status %v; want Error", span.Status)
	}
	want := map[string]string{"http.response.status_code": "500", "http.route": "/auth", "http.request.method": "GET"}
	for _, a := range span.Attributes {
		if v, ok := want[string(a.Key)]; ok && a.Value.String() == v {
			delete(want, string(a.Key))
		}
	}
	if len(want) > 0 {
		t.Errorf("span attributes %v lack %v", span.Attributes, want)
	}
}
