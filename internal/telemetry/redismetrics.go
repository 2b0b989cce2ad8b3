package telemetry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// redisBuckets span a loopback round trip (~0.1 ms) to redis.timeout's upper bound (10 s).
var redisBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}

// Outcomes of a refresh-lock attempt, the values of the outcome label.
const (
	LockAcquired      = "acquired"       // this replica refreshes
	LockHeldElsewhere = "held_elsewhere" // another replica refreshes; this one waits for its token
	LockError         = "error"          // Redis did not answer
)

// RedisMetrics records what scaling out depends on: how long the session store's Redis
// commands take (failovers and overload show here first) and how often replicas contend
// for a session's refresh lock.
type RedisMetrics struct {
	duration metric.Float64Histogram
	locks    metric.Int64Counter
}

// Redis creates the Redis instruments on m's meter provider.
func (m *Metrics) Redis() (*RedisMetrics, error) {
	meter := m.provider.Meter(meterName)
	duration, err := meter.Float64Histogram("tokengate.redis.command.duration",
		metric.WithUnit("s"), metric.WithDescription("Time of a Redis command or pipeline of the session store, by command and outcome."),
		metric.WithExplicitBucketBoundaries(redisBuckets...))
	if err != nil {
		return nil, fmt.Errorf("create redis instruments: %w", err)
	}
	locks, err := meter.Int64Counter("tokengate.refresh_lock.attempts",
		metric.WithUnit("{attempt}"), metric.WithDescription("Refresh-lock attempts by outcome: acquired, held_elsewhere, error."))
	if err != nil {
		return nil, fmt.Errorf("create redis instruments: %w", err)
	}
	return &RedisMetrics{duration: duration, locks: locks}, nil
}

// Lock counts one refresh-lock attempt with outcome (LockAcquired, LockHeldElsewhere,
// LockError).
func (r *RedisMetrics) Lock(ctx context.Context, outcome string) {
	r.locks.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
}

// Hook times every command and pipeline. Labels are the command name ("pipeline" for a
// batch) and ok or error; a missing key (redis.Nil) is ok.
func (r *RedisMetrics) Hook() redis.Hook { return redisMetricsHook{r} }

type redisMetricsHook struct{ r *RedisMetrics }

func (h redisMetricsHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisMetricsHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.record(ctx, cmd.Name(), start, err)
		return err
	}
}

func (h redisMetricsHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.record(ctx, "pipeline", start, err)
		return err
	}
}

func (h redisMetricsHook) record(ctx context.Context, command string, start time.Time, err error) {
	outcome := "ok"
	if err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, redis.TxFailedErr) {
		outcome = "error"
	}
	h.r.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(
		attribute.String("command", command), attribute.String("outcome", outcome)))
}
