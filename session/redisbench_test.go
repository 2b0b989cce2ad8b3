package session

import (
	"testing"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/internal/secret"
)

// BenchmarkRedisFencedRefresh is one uncontended refresh through the shared layer on a
// loopback redis-server, with a provider that answers at once: what the fencing (read,
// start the flight, store the result) adds to the provider's own latency.
func BenchmarkRedisFencedRefresh(b *testing.B) {
	b.Run("one server", func(b *testing.B) {
		clock := newTestClock()
		benchFencedRefresh(b, newRedisStore(b, redistest.Start(b), clock), clock)
	})
	// With redis.lockReplicas 1 the start-flight script waits for the replica (WAIT) in the
	// same round trip.
	b.Run("sentinel lockReplicas 1", func(b *testing.B) {
		clock := newTestClock()
		benchFencedRefresh(b, newSentinelStore(b, redistest.StartSentinel(b), clock, 1), clock)
	})
}

func benchFencedRefresh(b *testing.B, store *RedisStore, clock *testClock) {
	r := newFakeRefresher(func(n int, _ secret.String) (idp.Token, error) {
		// Expired on arrival, on a clock that stands still: never cached here nor adopted from
		// Redis, so every Get is a fenced refresh. (A short lifetime no longer does it: its
		// margins shrink with it, margins.go.)
		return idp.Token{AccessToken: "at", RefreshToken: "rt", Expiry: clock.Now()}, nil
	})
	r.started = make(chan struct{}, b.N+1)
	c, err := NewTokenCache(r, CacheOptions{MaxBytes: 1 << 20, Now: clock.Now, Shared: store, SafetyMargin: testMargin})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	sess := redisSession(b, clock.Now())
	rec := noopWriter{}
	if err := store.Save(rec, requestWith(), sess); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if res, err := c.Get(b.Context(), sess, testScope); err != nil || res.Outcome != Refreshed {
			b.Fatalf("Get = %v, %v; want Refreshed", res.Outcome, err)
		}
	}
}
