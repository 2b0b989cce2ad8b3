package telemetry

import (
	"context"
	"errors"
	"net"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// redisTracerName is the instrumentation scope of the Redis client spans.
const redisTracerName = "github.com/tokengate/tokengate/redis"

// RedisHook makes a client span for every Redis command and pipeline of the session store,
// named after the command ("redis get", "redis pipeline"). Spans carry the command name and
// batch size only: never a key (a hash of the session id) or a value (a sealed session or
// token), and never Redis's error text.
func RedisHook(tp trace.TracerProvider) redis.Hook {
	return redisHook{tracer: tp.Tracer(redisTracerName)}
}

type redisHook struct{ tracer trace.Tracer }

var (
	attrDBSystem    = attribute.String("db.system.name", "redis")
	attrDBOperation = attribute.Key("db.operation.name")
	attrDBBatchSize = attribute.Key("db.operation.batch.size")
)

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ctx, span := h.tracer.Start(ctx, "redis connect", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attrDBSystem))
		defer span.End()
		conn, err := next(ctx, network, addr)
		if err != nil {
			span.SetStatus(codes.Error, "redis connect failed")
		}
		return conn, err
	}
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ctx, span := h.tracer.Start(ctx, "redis "+cmd.Name(), trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attrDBSystem, attrDBOperation.String(cmd.Name())))
		defer span.End()
		err := next(ctx, cmd)
		endRedisSpan(span, err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, span := h.tracer.Start(ctx, "redis pipeline", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attrDBSystem, attrDBBatchSize.Int(len(cmds))))
		defer span.End()
		err := next(ctx, cmds)
		endRedisSpan(span, err)
		return err
	}
}

// endRedisSpan marks failures; redis.Nil (no such key) is an answer, not a failure.
func endRedisSpan(span trace.Span, err error) {
	if err != nil && !errors.Is(err, redis.Nil) {
		span.SetStatus(codes.Error, "redis command failed")
	}
}
