package session

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/internal/secret"
)

// With the Redis store, a token evicted from a replica's memory is taken from Redis, not
// from the identity provider, while it is valid: an undersized L1 costs Redis reads only.
func TestSharedEvictedTokenComesFromRedis(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := hourTokens(clock)
	store := newRedisStore(t, srv, clock)
	c, err := NewTokenCache(r, CacheOptions{
		SafetyMargin: time.Minute, RefreshAhead: 5 * time.Minute, MaxBytes: 64 << 10,
		RefreshTimeout: testTimeout, Now: clock.Now, Shared: store, SharedPoll: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	const sessions = 200 // ~220 KiB of tokens: over three times the cache
	all := make([]*Session, sessions)
	for i := range all {
		sess := redisSession(t, clock.Now())
		sess.RefreshToken = secret.String(fmt.Sprintf("rt-%d", i))
		saveTo(t, store, sess)
		c.Seed(sess, testScope, idp.Token{AccessToken: secret.String(fmt.Sprintf("at-%d-%s", i, strings.Repeat("y", 1000))),
			Expiry: clock.Now().Add(time.Hour)})
		all[i] = sess
	}
	for round := range 3 {
		clock.Advance(time.Minute)
		for i, sess := range all {
			res, err := c.Get(t.Context(), sess, testScope)
			if err != nil {
				t.Fatalf("round %d, session %d: %v", round, i, err)
			}
			if want := fmt.Sprintf("at-%d-", i); !strings.HasPrefix(res.Token.AccessToken.Reveal(), want) {
				t.Fatalf("round %d, session %d: got another token", round, i)
			}
		}
		c.cache.Wait()
	}
	if n := len(r.Calls()); n != 0 {
		t.Errorf("%d identity provider calls; want 0: Redis holds every valid token", n)
	}
	if s := c.Stats(); s.Refetches == 0 {
		t.Errorf("stats %+v; want refetches (the L1 is too small), served from Redis", s)
	}
}
