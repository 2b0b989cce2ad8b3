package session

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

// TestTokenCacheShortLivedTokensNoStorm: a provider that issues tokens living less than the
// safety margin (an expires_in or exp of seconds) gets one refresh per token lifetime, not
// one per request (the margins shrink to the token's lifetime), and an expired token is
// never served.
func TestTokenCacheShortLivedTokensNoStorm(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(func(n int, _ secret.String) (idp.Token, error) {
		return idp.Token{AccessToken: secret.String(fmt.Sprintf("at-%d", n)), Expiry: clock.Now().Add(30 * time.Second)}, nil
	})
	c := newTestCache(t, r, clock, nil)
	sess := seededSession(clock)
	for range 20 {
		res, err := c.Get(context.Background(), sess, testScope)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if !clock.Now().Before(res.Token.Expiry) {
			t.Fatalf("Get served a token that expired at %v (now %v)", res.Token.Expiry, clock.Now())
		}
	}
	if n := len(r.Calls()); n != 1 {
		t.Fatalf("refresher called %d times for 20 requests within the refresh timeout; want 1", n)
	}
	clock.Advance(31 * time.Second) // past every token's expiry: a refresh, never the old token
	res, err := c.Get(context.Background(), sess, testScope)
	if err != nil || !clock.Now().Before(res.Token.Expiry) {
		t.Fatalf("Get = %v (expiry %v), %v; want a token valid now", res.Outcome, res.Token.Expiry, err)
	}
	if n := len(r.Calls()); n != 2 {
		t.Errorf("refresher called %d times over two token lifetimes; want 2", n)
	}
}
