package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokengate/tokengate/internal/telemetry"
)

// With the Redis store, a replica that has to read the session from Redis shows the read as
// a client span under session.load; while its copy is fresh (redis.sessionCacheTTL) and the
// token is cached, /auth is the server span alone.
func TestRedisTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	c := newRedisClusterWith(t, 2, false, telemetry.NewTracingWith(tp))
	c.signIn("alice")

	steps := []struct {
		name        string
		before      func()
		wantLoad    bool // a session.load span with a Redis call under it
		wantOnlyOne bool // the server span alone
	}{
		{name: "first /auth on the other replica reads Redis", wantLoad: true},
		{name: "then its fresh copy and cached token answer", wantOnlyOne: true},
		{name: "past the session cache TTL it reads Redis again",
			before: func() { c.clock.Advance(testCacheTTL) }, wantLoad: true},
	}
	for _, step := range steps {
		if step.before != nil {
			step.before()
		}
		exp.Reset()
		if page := c.auth(1); page.Status != http.StatusOK {
			t.Fatalf("%s: /auth = %d; want 200", step.name, page.Status)
		}
		spans := exp.GetSpans()
		server := spanNamed(t, spans, "GET /auth")
		if attrOf(server, "tokengate.decision") != "allow" {
			t.Errorf("%s: decision %q; want allow", step.name, attrOf(server, "tokengate.decision"))
		}
		if step.wantOnlyOne && len(spans) != 1 {
			t.Errorf("%s: spans %v; want the server span alone", step.name, spanNames(spans))
		}
		if !step.wantLoad {
			continue
		}
		load := spanNamed(t, spans, "session.load")
		if load.Parent.SpanID() != server.SpanContext.SpanID() || attrOf(load, "tokengate.session.found") != "true" {
			t.Errorf("%s: session.load not under the server span, or found=%s", step.name, attrOf(load, "tokengate.session.found"))
		}
		call := childOf(t, spans, load, trace.SpanKindClient)
		if !strings.HasPrefix(call.Name, "redis ") {
			t.Errorf("%s: session.load's client span is %q; want a redis command", step.name, call.Name)
		}
	}
}
