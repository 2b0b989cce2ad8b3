package session

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

// hourTokens answers every refresh with a ~1 KiB token valid for an hour.
func hourTokens(clock *testClock) *fakeRefresher {
	return newFakeRefresher(func(n int, _ secret.String) (idp.Token, error) {
		return idp.Token{AccessToken: secret.String(fmt.Sprintf("at-%d-%s", n+1, strings.Repeat("x", 1000))),
			Expiry: clock.Now().Add(time.Hour)}, nil
	})
}

// Sessions going round-robin over a cache too small for them: evictions and refetches are
// counted and one warning names token.cacheMaxBytes with a larger size. Sized for them: none.
func TestThrashIsVisible(t *testing.T) {
	tests := []struct {
		name     string
		maxBytes int64
		wantWarn bool
	}{
		{name: "undersized", maxBytes: 64 << 10, wantWarn: true},
		{name: "sized", maxBytes: 4 << 20, wantWarn: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			r := hourTokens(clock)
			var logs bytes.Buffer
			c, err := NewTokenCache(r, CacheOptions{
				SafetyMargin: time.Minute, RefreshAhead: 5 * time.Minute, MaxBytes: tt.maxBytes,
				Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			const sessions = 400 // ~500 KiB of tokens: eight times the undersized cache
			for round := range 3 {
				for i := range sessions {
					sess := testSession(clock.Now())
					sess.ID = fmt.Sprintf("session-%04d", i)
					if _, err := c.Get(t.Context(), sess, testScope); err != nil {
						t.Fatalf("round %d, session %d: %v", round, i, err)
					}
				}
				c.cache.Wait()
			}
			s := c.Stats()
			warned := strings.Count(logs.String(), "raise token.cacheMaxBytes")
			if !tt.wantWarn {
				if s.Refetches != 0 || warned != 0 || len(r.Calls()) != sessions {
					t.Errorf("stats %+v, %d warnings, %d refreshes; want no refetch, no warning, %d refreshes",
						s, warned, len(r.Calls()), sessions)
				}
				return
			}
			if s.Evictions+s.Rejections == 0 || s.Refetches < sessions {
				t.Errorf("stats %+v; want drops and at least %d refetches", s, sessions)
			}
			if warned != 1 {
				t.Fatalf("%d thrash warnings; want exactly 1:\n%s", warned, logs.String())
			}
			var suggested int64
			for _, f := range strings.Fields(logs.String()) {
				if v, ok := strings.CutPrefix(f, "suggested_token_cache_bytes="); ok {
					fmt.Sscan(v, &suggested)
				}
			}
			if suggested <= tt.maxBytes {
				t.Errorf("suggested %d bytes; want more than the %d configured", suggested, tt.maxBytes)
			}
		})
	}
}
