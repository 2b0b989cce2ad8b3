package session

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

func TestTokenCachePeekAgreesWithGet(t *testing.T) {
	tests := []struct {
		name     string
		advance  time.Duration
		scope    string // default testScope, the one seeded
		noID     bool
		wantPeek bool
	}{
		{name: "fresh", advance: 49 * time.Minute, wantPeek: true},
		{name: "last instant before refresh-ahead", advance: 50*time.Minute - time.Nanosecond, wantPeek: true},
		{name: "refresh-ahead window opens", advance: 50 * time.Minute},
		{name: "inside refresh-ahead window", advance: 52 * time.Minute},
		{name: "past the safety margin", advance: 55 * time.Minute},
		{name: "past the safety margin, still valid", advance: 59 * time.Minute},
		{name: "expired", advance: 2 * time.Hour},
		{name: "missing entry", scope: "User.Read"},
		{name: "session without id", noID: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			r := newFakeRefresher(rotating(clock))
			c := newTestCache(t, r, clock, nil)
			sess := seededSession(clock)
			c.Seed(sess, testScope, seedToken(clock))
			if tt.noID {
				// An entry under the key an id-less session maps to: only the id check
				// keeps Peek from handing it out (Seed refuses to create it).
				sess.ID = ""
				c.store(cacheKey(sess, testScope), sess.RefreshToken, seedToken(clock))
			}
			scope := testScope
			if tt.scope != "" {
				scope = tt.scope
			}
			clock.Advance(tt.advance)

			peeked, ok := c.Peek(sess, scope)
			c.work.Wait()
			if n := len(r.Calls()); n != 0 {
				t.Fatalf("Peek called the refresher %d times; want 0", n)
			}
			if ok != tt.wantPeek || (!ok && peeked != (Result{})) {
				t.Fatalf("Peek = %+v, %v; want ok %v", peeked, ok, tt.wantPeek)
			}
			got, err := c.Get(context.Background(), sess, scope)
			if tt.noID {
				if !errors.Is(err, errNoID) {
					t.Errorf("Get = %v, %v; want errNoID", got.Outcome, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if (got.Outcome == Hit) != ok {
				t.Errorf("Get = %v while Peek = %v; want Peek exactly when Get hits", got.Outcome, ok)
			}
			if ok && !reflect.DeepEqual(peeked, got) {
				t.Errorf("Peek = %+v; want Get's %+v", peeked, got)
			}
		})
	}
}

// A session whose cookie missed a rotation gets the rotated refresh token from Peek as from
// Get, so that /auth saves it either way.
func TestTokenCachePeekCarriesTheRotatedRefreshToken(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	c := newTestCache(t, r, clock, nil)
	behind := seededSession(clock)
	c.Seed(behind, testScope, seedToken(clock))
	clock.Advance(time.Hour)
	if res, err := c.Get(context.Background(), behind, testScope); err != nil || res.Token.RefreshToken.Reveal() != "rt-0" {
		t.Fatalf("Get = %+v, %v; want a refresh that rotated to rt-0", res, err)
	}
	clock.Advance(10 * time.Minute) // fresh: Get answers Hit and starts nothing

	shared := &countingShared{}
	withShared, err := NewTokenCache(r, CacheOptions{
		SafetyMargin: testMargin, RefreshAhead: testAhead, MaxBytes: 1 << 20, Now: clock.Now, Shared: shared,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(withShared.Close)
	withShared.store(cacheKey(behind, testScope), "rt-seed", idp.Token{AccessToken: "at-0", RefreshToken: "rt-0", Expiry: clock.Now().Add(50 * time.Minute)})

	at := func(rt string) *Session { s := seededSession(clock); s.RefreshToken = secret.String(rt); return s }
	tests := []struct {
		name   string
		cache  *TokenCache
		sess   *Session
		wantRT string
	}{
		{name: "session behind the cache", cache: c, sess: at("rt-seed"), wantRT: "rt-0"},
		{name: "session caught up", cache: c, sess: at("rt-0")},
		{name: "session rotated by another replica", cache: c, sess: at("rt-elsewhere")},
		{name: "shared layer holds the newest: never handed out", cache: withShared, sess: at("rt-seed")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peeked, ok := tt.cache.Peek(tt.sess, testScope)
			if !ok || peeked.Token.RefreshToken.Reveal() != tt.wantRT || peeked.Outcome != Hit {
				t.Errorf("Peek = %q, %v, %v; want refresh token %q, Hit", peeked.Token.RefreshToken.Reveal(), peeked.Outcome, ok, tt.wantRT)
			}
			got, err := tt.cache.Get(context.Background(), tt.sess, testScope)
			if err != nil || got.Outcome != Hit {
				t.Fatalf("Get = %v, %v; want Hit", got.Outcome, err)
			}
			if !reflect.DeepEqual(peeked, got) {
				t.Errorf("Peek = %+v; want Get's %+v", peeked, got)
			}
		})
	}
	c.work.Wait()
	withShared.work.Wait()
	if n := len(r.Calls()); n != 1 {
		t.Errorf("refresher called %d times; want only the rotation's", n)
	}
	if n := shared.calls.Load(); n != 0 {
		t.Errorf("shared layer called %d times on hits; want 0", n)
	}
}

// countingShared counts calls to a shared layer that should never be asked.
type countingShared struct{ calls atomic.Int32 }

func (s *countingShared) Get(context.Context, *Session, string) (SharedToken, error) {
	s.calls.Add(1)
	return SharedToken{}, ErrStoreUnavailable
}

func (s *countingShared) Set(context.Context, *Session, string, idp.Token) error {
	s.calls.Add(1)
	return ErrStoreUnavailable
}

func (s *countingShared) Lock(context.Context, *Session, SharedToken) (Flight, error) {
	s.calls.Add(1)
	return nil, ErrStoreUnavailable
}
