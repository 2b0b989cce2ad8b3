package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/redistest"
)

// With a shared layer, InlineRefresh changes nothing: the layer keeps the rotation before the
// refresh ends, so a token in the refresh-ahead window is answered at once and refreshed in
// the background, and the answer hands no refresh token back.
func TestSharedRefreshAheadStaysInBackground(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	gate := make(chan struct{})
	r.gate = gate // the background refresh waits here until the answer has been checked
	store := newRedisStore(t, srv, clock)
	c, err := NewTokenCache(r, CacheOptions{SafetyMargin: testMargin, RefreshAhead: testAhead, MaxBytes: 1 << 20,
		RefreshTimeout: testTimeout, Now: clock.Now, Shared: store, SharedPoll: 5 * time.Millisecond, InlineRefresh: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	released := false
	defer func() { // before Close, which waits for the refresh held here
		if !released {
			close(gate)
		}
	}()
	sess, _ := signedIn(t, replica{store: store, cache: c}, clock)
	clock.Advance(time.Hour - testMargin - testAhead/2) // inside the refresh-ahead window

	// An inline refresh would wait on the gate until this deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	res, err := c.Get(ctx, sess, testScope)
	if err != nil || res.Outcome != RefreshAhead || !res.Token.RefreshToken.IsEmpty() {
		t.Fatalf("Get = %v, refresh token %q, %v; want RefreshAhead with none", res.Outcome, res.Token.RefreshToken.Reveal(), err)
	}
	close(gate)
	released = true
	c.work.Wait()
	sh, err := store.Get(t.Context(), sess, testScope)
	if err != nil || sh.RefreshToken != "rt-0" {
		t.Errorf("shared refresh token after the background refresh = %q, %v; want rt-0", sh.RefreshToken.Reveal(), err)
	}
}

// A session without a refresh token cannot be renewed, but nothing ended it: the token it
// was seeded with keeps being served through the refresh-ahead window, and only a Get that
// must refresh fails.
func TestTokenCacheNoRefreshTokenServesCached(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	c := newTestCache(t, r, clock, nil)
	sess := seededSession(clock)
	sess.RefreshToken = ""
	tok := seedToken(clock)
	tok.RefreshToken = "" // a provider that issued none
	c.Seed(sess, testScope, tok)
	clock.Advance(time.Hour - testMargin - testAhead/2) // inside the refresh-ahead window

	for i := range 2 {
		res, err := c.Get(t.Context(), sess, testScope)
		if err != nil || res.Outcome != RefreshAhead || res.Token.AccessToken != "at-seed" {
			t.Fatalf("Get %d = %v, %v; want at-seed, RefreshAhead", i, res.Outcome, err)
		}
		c.work.Wait() // the background refresh has failed
	}
	clock.Advance(testAhead) // past the safety margin: a refresh is due now
	if _, err := c.Get(t.Context(), sess, testScope); !errors.Is(err, idp.ErrInvalidGrant) {
		t.Errorf("Get past the safety margin: %v; want idp.ErrInvalidGrant", err)
	}
	if n := len(r.Calls()); n != 0 {
		t.Errorf("%d refresh calls; want 0", n)
	}
}
