package telemetry

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokengate/tokengate/internal/redistest"
)

// Redis calls of the session store appear as client spans named after the command, and no
// key or value (hashed session ids, sealed sessions) reaches a span.
func TestRedisHookSpans(t *testing.T) {
	srv := redistest.Start(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	rdb.AddHook(RedisHook(tp))

	const key, value = "tokengate:sess:secret-key-name", "sealed-session-value-secret"
	ctx, parent := tp.Tracer("test").Start(context.Background(), "session.load")
	if err := rdb.Set(ctx, key, value, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Get(ctx, "tokengate:missing").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET missing = %v; want redis.Nil", err)
	}
	if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, key)
		p.Expire(ctx, key, 0)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	parent.End()

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range exp.GetSpans().Snapshots() {
		byName[s.Name()] = s
		for _, a := range s.Attributes() {
			if v := a.Value.String(); strings.Contains(v, "secret") {
				t.Errorf("span %s attribute %s carries a key or value: %q", s.Name(), a.Key, v)
			}
		}
		if strings.Contains(s.Status().Description, "secret") {
			t.Errorf("span %s status carries a key or value", s.Name())
		}
	}
	for _, name := range []string{"redis set", "redis get", "redis pipeline"} {
		s, ok := byName[name]
		if !ok {
			t.Errorf("no span %q; got %v", name, keys(byName))
			continue
		}
		if s.SpanKind() != trace.SpanKindClient || s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %q: kind %v, parent %v; want a client span under session.load", name, s.SpanKind(), s.Parent().SpanID())
		}
	}
	if s := byName["redis get"]; s != nil && s.Status().Code == codes.Error {
		t.Error("a missing key (redis.Nil) marked the span as an error")
	}
}

func keys(m map[string]sdktrace.ReadOnlySpan) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
