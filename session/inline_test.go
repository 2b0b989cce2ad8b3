package session

import (
	"context"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
)

// With InlineRefresh (a provider with reuse detection, on the cookie store), a token in the
// refresh-ahead window is refreshed inside the request: the rotated refresh token comes back
// in that answer, for its Set-Cookie, and nothing runs after the answer. Without it, the
// refresh runs in the background and the answer carries the old token.
func TestInlineRefreshKeepsTheRotationInTheAnswer(t *testing.T) {
	tests := []struct {
		name        string
		inline      bool
		wantOutcome Outcome
		wantRT      string
	}{
		{name: "inline", inline: true, wantOutcome: Refreshed, wantRT: "rt-0"},
		{name: "background", inline: false, wantOutcome: RefreshAhead, wantRT: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			r := newFakeRefresher(rotating(clock))
			gate := make(chan struct{})
			r.gate = gate // a background refresh would block here, after the answer
			c, err := NewTokenCache(r, CacheOptions{SafetyMargin: testMargin, RefreshAhead: testAhead, MaxBytes: 1 << 20,
				RefreshTimeout: testTimeout, Now: clock.Now, InlineRefresh: tt.inline})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			defer close(gate)
			sess := seededSession(clock)
			c.Seed(sess, testScope, seedToken(clock))
			clock.Advance(time.Hour - testMargin - testAhead/2) // inside the refresh-ahead window
			if tt.inline {
				go func() { <-r.started; gate <- struct{}{} }() // the provider answers
			}
			res, err := c.Get(context.Background(), sess, testScope)
			if err != nil || res.Outcome != tt.wantOutcome || res.Token.RefreshToken.Reveal() != tt.wantRT {
				t.Errorf("Get = %v, refresh token %q, %v; want %v with %q", res.Outcome, res.Token.RefreshToken.Reveal(), err, tt.wantOutcome, tt.wantRT)
			}
		})
	}
}

// An inline refresh that fails transiently serves the still-fresh token and does not ask
// the provider again on every request until RefreshTimeout has passed.
func TestInlineRefreshProviderDown(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(failing(idp.ErrUnavailable))
	c, err := NewTokenCache(r, CacheOptions{SafetyMargin: testMargin, RefreshAhead: testAhead, MaxBytes: 1 << 20,
		RefreshTimeout: testTimeout, Now: clock.Now, InlineRefresh: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess := seededSession(clock)
	c.Seed(sess, testScope, seedToken(clock))
	clock.Advance(time.Hour - testMargin - testAhead/2)
	for range 3 {
		if res, err := c.Get(context.Background(), sess, testScope); err != nil || res.Outcome != RefreshAhead {
			t.Errorf("Get with the provider down = %v, %v; want the seed, RefreshAhead", res.Outcome, err)
		}
	}
	if n := len(r.Calls()); n != 1 {
		t.Errorf("%d refresh calls; want 1 until RefreshTimeout passed", n)
	}
}

// A short-lived token gets margins scaled to its lifetime, and is then not "born inside its
// safety margin": the configured 60s margin exceeds a 15s token's whole life, yet its inline
// refresh-ahead runs on time instead of being held back for a refresh timeout.
func TestInlineRefreshShortLivedTokenOnTime(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	r.started = make(chan struct{}, 2)
	c, err := NewTokenCache(r, CacheOptions{SafetyMargin: testMargin, RefreshAhead: testAhead, MaxBytes: 1 << 20,
		RefreshTimeout: testTimeout, Now: clock.Now, InlineRefresh: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const lifetime = 15 * time.Second // margins scale to 2.5s and 5s: fresh for 7.5s
	sess := seededSession(clock)
	c.Seed(sess, testScope, idp.Token{AccessToken: "at-seed", RefreshToken: "rt-seed", Expiry: clock.Now().Add(lifetime)})
	clock.Advance(8 * time.Second) // in the refresh-ahead window, within a refresh timeout of the seed
	res, err := c.Get(context.Background(), sess, testScope)
	if err != nil || res.Outcome != Refreshed {
		t.Errorf("Get in the refresh-ahead window = %v, %v; want Refreshed inline", res.Outcome, err)
	}
}
