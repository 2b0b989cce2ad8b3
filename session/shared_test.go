package session

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/redistest"
)

// replica is one tokengate's view of the shared layer: its own store, client and L1 cache.
type replica struct {
	store *RedisStore
	cache *TokenCache
}

func newReplica(t *testing.T, srv *redistest.Server, clock *testClock, r Refresher, timeout time.Duration) replica {
	t.Helper()
	store := newRedisStore(t, srv, clock)
	c, err := NewTokenCache(r, CacheOptions{
		SafetyMargin: testMargin, RefreshAhead: testAhead, MaxBytes: 1 << 20,
		RefreshTimeout: timeout, Now: clock.Now, Shared: store, SharedPoll: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("NewTokenCache: %v", err)
	}
	t.Cleanup(c.Close)
	return replica{store: store, cache: c}
}

// signedIn saves a session on a and seeds its token, as the callback does.
func signedIn(t *testing.T, a replica, clock *testClock) (*Session, []*http.Cookie) {
	t.Helper()
	sess := redisSession(t, clock.Now())
	sess.RefreshToken = "rt-seed"
	cookies := saveTo(t, a.store, sess)
	a.cache.Seed(sess, testScope, seedToken(clock))
	return sess, cookies
}

// Concurrent Gets on two replicas after expiry: one refresh in all, every caller gets its
// token, and the rotated refresh token is in Redis for the next refresh, on either replica.
func TestSharedOneRefreshAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	a, b := newReplica(t, srv, clock, r, testTimeout), newReplica(t, srv, clock, r, testTimeout)
	sess, cookies := signedIn(t, a, clock)

	// b has nothing in memory: it takes the shared seed without refreshing.
	res, err := b.cache.Get(t.Context(), sess, testScope)
	if err != nil || res.Token.AccessToken != "at-seed" {
		t.Fatalf("Get on b = %v, %v; want the shared seed", res.Token.AccessToken, err)
	}
	clock.Advance(time.Hour - testMargin) // past the margin: a refresh is due everywhere
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		rep := []replica{a, b}[i%2]
		wg.Go(func() {
			res, err := rep.cache.Get(t.Context(), sess, testScope)
			if err == nil && res.Token.AccessToken != "at-0" {
				err = errors.New("got " + res.Token.AccessToken.Reveal() + "; want at-0")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if calls := r.Calls(); len(calls) != 1 || calls[0].rt != "rt-seed" {
		t.Fatalf("refresh calls %+v; want exactly one, with rt-seed", calls)
	}
	// The rotation reached Redis with the token: a third replica reads rt-0.
	stored, err := newRedisStore(t, srv, clock).Load(context.Background(), requestWith(cookies...))
	if err != nil || stored.RefreshToken != "rt-0" {
		t.Fatalf("stored refresh token = %v (%v); want rt-0", stored, err)
	}
	// The next refresh, on b whose session value still says rt-seed, spends rt-0.
	clock.Advance(time.Hour - testMargin)
	if _, err := b.cache.Get(t.Context(), sess, testScope); err != nil {
		t.Fatalf("second refresh: %v", err)
	}
	if calls := r.Calls(); len(calls) != 2 || calls[1].rt != "rt-0" {
		t.Errorf("refresh calls %+v; want the second with rt-0", calls)
	}
	if res.Token.RefreshToken != "" {
		t.Errorf("Get surfaced a refresh token with a shared layer; the store already has it")
	}
}

// While another replica holds the lock, a replica never refreshes: it waits for the token,
// and when none comes it serves its still-valid token Stale, or fails as unavailable.
func TestSharedWaitsForTheLockHolder(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	a := newReplica(t, srv, clock, r, 200*time.Millisecond)
	sess, _ := signedIn(t, a, clock)
	seen, err := a.store.Get(t.Context(), sess, testScope)
	if err != nil {
		t.Fatal(err)
	}
	stuck, err := a.store.Lock(t.Context(), sess, seen) // a stuck replica elsewhere
	if err != nil || stuck == nil {
		t.Fatalf("Lock = %v, %v; want it taken", stuck, err)
	}
	if again, err := a.store.Lock(t.Context(), sess, seen); again != nil || err != nil {
		t.Fatalf("second Lock = %v, %v; want it refused while held", again, err)
	}

	clock.Advance(time.Hour - testMargin + time.Second)
	res, err := a.cache.Get(t.Context(), sess, testScope)
	if err != nil || res.Outcome != Stale {
		t.Errorf("Get while locked = %v, %v; want the seed served Stale", res.Outcome, err)
	}
	clock.Advance(testMargin)
	if _, err := a.cache.Get(t.Context(), sess, testScope); !errors.Is(err, idp.ErrUnavailable) {
		t.Errorf("Get while locked, token expired = %v; want ErrUnavailable", err)
	}
	if n := len(r.Calls()); n != 0 {
		t.Fatalf("%d refreshes while another replica held the lock; want 0", n)
	}
	stuck.Release(t.Context(), &idp.ProviderError{Status: 503}) // it failed without spending
	if _, err := a.cache.Get(t.Context(), sess, testScope); err != nil || len(r.Calls()) != 1 {
		t.Errorf("Get after unlock = %v with %d refreshes; want one refresh", err, len(r.Calls()))
	}
}

// Redis down: tokens in memory keep being served, nothing is refreshed (the rotated refresh
// token could not be stored), and everything works again once Redis is back.
func TestSharedRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	a := newReplica(t, srv, clock, r, time.Second)
	sess, _ := signedIn(t, a, clock)
	srv.Save()
	srv.Stop()

	if res, err := a.cache.Get(t.Context(), sess, testScope); err != nil || res.Outcome != Hit {
		t.Errorf("Get of a fresh token with redis down = %v, %v; want a Hit", res.Outcome, err)
	}
	clock.Advance(time.Hour - testMargin + time.Second)
	if res, err := a.cache.Get(t.Context(), sess, testScope); err != nil || res.Outcome != Stale {
		t.Errorf("Get past the margin with redis down = %v, %v; want Stale", res.Outcome, err)
	}
	clock.Advance(testMargin)
	if _, err := a.cache.Get(t.Context(), sess, testScope); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("Get of an expired token with redis down = %v; want ErrStoreUnavailable", err)
	}
	if n := len(r.Calls()); n != 0 {
		t.Fatalf("%d refreshes with redis down; want 0", n)
	}
	srv.Restart()
	if res, err := a.cache.Get(t.Context(), sess, testScope); err != nil || res.Outcome != Refreshed {
		t.Errorf("Get after redis came back = %v, %v; want Refreshed", res.Outcome, err)
	}
}

// A session signed out on one replica gets no token on another, even one with the token
// shared: the shared layer hands tokens out only for sessions it still holds.
func TestSharedSignedOutSession(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	a, b := newReplica(t, srv, clock, r, time.Second), newReplica(t, srv, clock, r, time.Second)
	sess, cookies := signedIn(t, a, clock)
	a.store.Clear(noopWriter{}, requestWith(cookies...))
	if _, err := b.cache.Get(t.Context(), sess, testScope); !errors.Is(err, idp.ErrInvalidGrant) {
		t.Errorf("Get on b after sign-out = %v; want ErrInvalidGrant (sign in again)", err)
	}
	if n := len(r.Calls()); n != 0 {
		t.Errorf("%d refreshes for a signed-out session; want 0", n)
	}
}

// noopWriter discards a response.
type noopWriter struct{}

func (noopWriter) Header() http.Header         { return http.Header{} }
func (noopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (noopWriter) WriteHeader(int)             {}

// An outage leaves no goroutine behind: every refresh attempt, wait and Redis call ends,
// and closing the cache and the client returns to where the test started.
func TestSharedOutageLeaksNoGoroutines(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	before := runtime.NumGoroutine()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true, DialerRetries: 1,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	// The timeout only has to let the Save before the outage through on a loaded machine: with
	// Redis stopped every call is refused at once, so it does not bound the test's run time.
	store, err := NewRedisStore(rdb, newTestCodec(t, clock), RedisOptions{Timeout: 5 * time.Second, CacheTTL: testCacheTTL, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r := newFakeRefresher(rotating(clock))
	cache, err := NewTokenCache(r, CacheOptions{MaxBytes: 1 << 20, RefreshTimeout: time.Second, Now: clock.Now, Shared: store})
	if err != nil {
		t.Fatal(err)
	}
	sess := redisSession(t, clock.Now())
	cookies := saveTo(t, store, sess)
	srv.Stop()
	clock.Advance(time.Hour)
	for range 5 {
		_, _ = store.Load(context.Background(), requestWith(cookies...))
		_, _ = cache.Get(t.Context(), sess, testScope)
	}
	cache.Close()
	rdb.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after close; %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
