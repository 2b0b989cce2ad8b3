package main

import (
	"context"
	"log/slog"
	"runtime/debug"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/membudget"
)

// cacheBudget sizes the token cache and the opened-sessions cache from the memory limit
// (membudget), unless token.cacheMaxBytes is set: an explicit setting wins. It logs the
// figures and where they came from once, at start, so an operator sizing a pod sees them.
func cacheBudget(ctx context.Context, cfg *config.Config, logger *slog.Logger) membudget.Budget {
	limit, err := membudget.Detect(membudget.DefaultFiles)
	if err != nil {
		// An unreadable cgroup file is not worth refusing to start for: the fixed defaults
		// are what earlier releases used.
		logger.LogAttrs(ctx, slog.LevelWarn, "could not read the memory limit; using fixed cache sizes", slog.Any("error", err))
		limit = membudget.Limit{Source: "none"}
	}
	if soft, ok := membudget.RuntimeLimit(limit); ok {
		// Without GOMEMLIMIT the garbage collector does not know the container's limit and
		// lets the heap grow to twice the live data (GOGC=100): a pod whose caches are sized
		// to its limit would be OOM-killed instead of collecting.
		debug.SetMemoryLimit(soft)
	}
	b := membudget.For(limit)
	from := "memory limit"
	if cfg.Token.CacheMaxBytes > 0 {
		b.TokenCacheBytes, from = cfg.Token.CacheMaxBytes, "token.cacheMaxBytes"
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "cache sizes",
		slog.Int64("memory_limit_bytes", limit.Bytes), slog.String("memory_limit_source", limit.Source),
		slog.Int64("token_cache_bytes", b.TokenCacheBytes), slog.String("token_cache_from", from),
		slog.Int64("opened_sessions_bytes", b.OpenedCacheBytes),
		slog.Int64("go_memory_limit_bytes", debug.SetMemoryLimit(-1)))
	return b
}
