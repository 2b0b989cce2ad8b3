package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// TokenCacheCounts are the token cache's and the token-endpoint limiter's totals since
// start, read at every scrape.
type TokenCacheCounts struct {
	// Evictions are valid tokens dropped for room; Rejections valid tokens refused
	// admission; Refetches misses for a token dropped while it would still be valid.
	Evictions, Rejections, Refetches int64
	// LimitedCalls are token-endpoint calls refused by the per-replica limiter;
	// ProviderThrottled the provider's own throttling answers (429, AADSTS50196, 90055).
	LimitedCalls, ProviderThrottled int64
}

// ObserveTokenCache adds the counters tokengate_token_cache_evictions_total{reason},
// tokengate_token_cache_refetch_total, tokengate_idp_limited_total and
// tokengate_idp_throttled_total, read from counts at every scrape. A refetch is the cost of
// an undersized cache: a call to Redis or the identity provider a larger cache would save.
func (m *Metrics) ObserveTokenCache(counts func() TokenCacheCounts) error {
	if m == nil {
		return nil
	}
	meter := m.provider.Meter(meterName)
	var errs [4]error
	var ins [4]metric.Int64ObservableCounter
	ins[0], errs[0] = meter.Int64ObservableCounter("tokengate.token_cache.evictions",
		metric.WithUnit("{token}"), metric.WithDescription("Still-valid tokens the cache dropped: reason capacity (evicted for room) or admission (refused by the admission policy)."))
	ins[1], errs[1] = meter.Int64ObservableCounter("tokengate.token_cache.refetch",
		metric.WithUnit("{token}"), metric.WithDescription("Cache misses for a token dropped while still valid, fetched again from Redis or the identity provider."))
	ins[2], errs[2] = meter.Int64ObservableCounter("tokengate.idp.limited",
		metric.WithUnit("{call}"), metric.WithDescription("Token-endpoint calls refused by this replica's limit (token.idpCallsPerSecond, token.idpBurst) or held back during the provider's Retry-After."))
	ins[3], errs[3] = meter.Int64ObservableCounter("tokengate.idp.throttled",
		metric.WithUnit("{answer}"), metric.WithDescription("Throttling answers of the identity provider: 429, Entra loop detection or tenant throttling."))
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("create token cache counters: %w", err)
		}
	}
	capacity := metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "capacity")))
	admission := metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "admission")))
	_, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		c := counts()
		o.ObserveInt64(ins[0], c.Evictions, capacity)
		o.ObserveInt64(ins[0], c.Rejections, admission)
		o.ObserveInt64(ins[1], c.Refetches)
		o.ObserveInt64(ins[2], c.LimitedCalls)
		o.ObserveInt64(ins[3], c.ProviderThrottled)
		return nil
	}, ins[0], ins[1], ins[2], ins[3])
	if err != nil {
		return fmt.Errorf("register token cache counters: %w", err)
	}
	return nil
}
