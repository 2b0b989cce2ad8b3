package telemetry

import "testing"

func TestObserveTokenCache(t *testing.T) {
	m, err := NewMetrics("test", nil)
	if err != nil {
		t.Fatal(err)
	}
	counts := TokenCacheCounts{Evictions: 7, Rejections: 3, Refetches: 5, LimitedCalls: 11, ProviderThrottled: 2}
	if err := m.ObserveTokenCache(func() TokenCacheCounts { return counts }); err != nil {
		t.Fatal(err)
	}
	families := scrape(t, m)
	tests := []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{family: "tokengate_token_cache_evictions_total", labels: map[string]string{"reason": "capacity"}, want: 7},
		{family: "tokengate_token_cache_evictions_total", labels: map[string]string{"reason": "admission"}, want: 3},
		{family: "tokengate_token_cache_refetch_total", want: 5},
		{family: "tokengate_idp_limited_total", want: 11},
		{family: "tokengate_idp_throttled_total", want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.family, func(t *testing.T) {
			if got, ok := value(families, tt.family, tt.labels); !ok || got != tt.want {
				t.Errorf("%s%v = %v (present %v); want %v", tt.family, tt.labels, got, ok, tt.want)
			}
		})
	}
}
