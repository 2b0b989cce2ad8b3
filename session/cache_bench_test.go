package session_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
	"github.com/tokengate/tokengate/session"
)

// Entra-sized values: an AKS access token is about 2.5 KB with a few groups; a refresh
// token about 1.4 KB. The cache keeps both per session (the refresh token so that a
// rotation never reaches the cookie late).
const (
	accessTokenBytes  = 2500
	refreshTokenBytes = 1400
	scaleSessions     = 100_000
	scaleScope        = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"
)

var scaleNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// BenchmarkTokenCacheScale seeds 100 000 sessions and reports what a
// cached token really costs in heap, next to what the cache charges it against MaxBytes.
// "fits" has room for all of them; "bounded" sets MaxBytes to a third of what they need and
// checks that the cache keeps within it. The timed loop is a Get over all sessions.
func BenchmarkTokenCacheScale(b *testing.B) {
	perEntry := int64(len(scaleKey(0)) + accessTokenBytes + refreshTokenBytes + 128)
	need := perEntry * scaleSessions
	tests := []struct {
		name     string
		maxBytes int64
	}{
		{name: "fits", maxBytes: 2 * need},
		{name: "bounded", maxBytes: need / 3},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			ids := make([]string, scaleSessions)
			for i := range ids {
				ids[i] = scaleKey(i)
			}
			before := heapInUse()
			c, err := session.NewTokenCache(failRefresh{}, session.CacheOptions{MaxBytes: tt.maxBytes, Now: func() time.Time { return scaleNow }})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			for i, id := range ids {
				// Fresh strings per session, as decoding each sign-in's cookie makes them.
				sess := &session.Session{ID: id, RefreshToken: secret.String(filled("1.AR", refreshTokenBytes, i))}
				c.Seed(sess, scaleScope, idp.Token{AccessToken: secret.String(filled("eyJ0", accessTokenBytes, i)), Expiry: scaleNow.Add(time.Hour)})
			}
			heap := heapInUse() - before
			kept := countHits(b, c, ids)
			if kept == 0 {
				b.Fatalf("no session kept")
			}
			costMiB := float64(int64(kept)*perEntry) / (1 << 20)
			heapMiB := float64(heap) / (1 << 20)
			maxMiB := float64(tt.maxBytes) / (1 << 20)
			if int64(kept)*perEntry > tt.maxBytes {
				b.Errorf("cache keeps %d entries charged %.1f MiB; MaxBytes is %.1f MiB", kept, costMiB, maxMiB)
			}
			// MaxBytes bounds what the cache charges, not the heap: ristretto's own
			// bookkeeping comes on top. Measured at about 1.1×; more means the cost is wrong.
			if tt.name == "bounded" && heap > tt.maxBytes*5/4 {
				b.Errorf("heap %.1f MiB with MaxBytes %.1f MiB; want at most 1.25×", heapMiB, maxMiB)
			}
			if tt.name == "fits" && kept < scaleSessions*99/100 {
				b.Errorf("cache kept %d of %d with room for twice that; want nearly all", kept, scaleSessions)
			}
			ctx := context.Background()
			sess := &session.Session{}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				sess.ID = ids[i%scaleSessions]
				_, _ = c.Get(ctx, sess, scaleScope) // misses (bounded) fail fast: failRefresh
				i++
			}
			// Reported after the loop: b.Loop's first call resets the timer and the metrics.
			b.ReportMetric(float64(kept), "kept")
			b.ReportMetric(float64(perEntry), "charged-B/token")
			b.ReportMetric(float64(heap)/float64(kept), "heap-B/token")
			b.ReportMetric(heapMiB, "heap-MiB")
			b.ReportMetric(maxMiB, "maxBytes-MiB")
		})
	}
}

// countHits asks for every session's token; a miss goes to failRefresh and errors.
func countHits(b *testing.B, c *session.TokenCache, ids []string) int {
	b.Helper()
	ctx := context.Background()
	kept := 0
	for _, id := range ids {
		res, err := c.Get(ctx, &session.Session{ID: id, RefreshToken: "x"}, scaleScope)
		if err == nil && res.Outcome == session.Hit {
			kept++
		}
	}
	return kept
}

func scaleKey(i int) string { return fmt.Sprintf("sess%018d", i) } // 22 chars, as session.NewID

// filled is an n-byte value unique to i, so no two entries share memory.
func filled(prefix string, n, i int) string {
	id := fmt.Sprintf("%s%010d.", prefix, i)
	return id + strings.Repeat("A", n-len(id))
}

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// failRefresh answers every refresh with invalid_grant: in these benchmarks a miss must not
// put anything back into the cache.
type failRefresh struct{}

func (failRefresh) Refresh(context.Context, secret.String, string) (idp.Token, error) {
	return idp.Token{}, idp.ErrInvalidGrant
}
