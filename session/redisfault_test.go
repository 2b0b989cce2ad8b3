package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/redistest"
)

// Whatever Redis holds under our keys, and whether it holds anything at all, a request gets
// "sign in again" (ErrNoSession; ErrInvalidGrant from the token layer), never a 500 and never
// "unavailable": the value is not ours. An oversize value is refused before it is read.
func TestRedisFaultForeignValues(t *testing.T) {
	huge := strings.Repeat("A", MaxSealedLen+1)
	tests := []struct {
		name   string
		loadOK bool // the session itself is intact: only the token layer refuses
		plant  func(t *testing.T, srv *redistest.Server, s *RedisStore, sess *Session)
	}{
		{name: "garbage string", plant: func(t *testing.T, srv *redistest.Server, s *RedisStore, sess *Session) {
			do(t, srv, "SET", s.keys.session(sess.ID), "not-a-sealed-value")
		}},
		{name: "foreign type", plant: func(t *testing.T, srv *redistest.Server, s *RedisStore, sess *Session) {
			do(t, srv, "DEL", s.keys.session(sess.ID))
			do(t, srv, "RPUSH", s.keys.session(sess.ID), "a", "b")
		}},
		{name: "oversize value", plant: func(t *testing.T, srv *redistest.Server, s *RedisStore, sess *Session) {
			do(t, srv, "SET", s.keys.session(sess.ID), huge)
		}},
		{name: "foreign refresh state", loadOK: true, plant: func(t *testing.T, srv *redistest.Server, s *RedisStore, sess *Session) {
			do(t, srv, "SET", s.keys.refresh(sess.ID), "42")
		}},
		{name: "flushed", plant: func(t *testing.T, srv *redistest.Server, _ *RedisStore, _ *Session) {
			do(t, srv, "FLUSHALL")
		}},
	}
	srv := redistest.Start(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			r := newFakeRefresher(rotating(clock))
			a := newReplica(t, srv, clock, r, time.Second)
			sess, cookies := signedIn(t, a, clock)
			tt.plant(t, srv, a.store, sess)
			fresh := newReplica(t, srv, clock, r, time.Second) // nothing in memory
			_, err := fresh.store.Load(context.Background(), requestWith(cookies...))
			if tt.loadOK != (err == nil) || (err != nil && (!errors.Is(err, ErrNoSession) || errors.Is(err, ErrStoreUnavailable))) {
				t.Errorf("Load = %v; want ErrNoSession, or nil when the session is intact (%v)", err, tt.loadOK)
			}
			clock.Advance(time.Hour)
			if _, err := fresh.cache.Get(t.Context(), sess, testScope); !errors.Is(err, idp.ErrInvalidGrant) {
				t.Errorf("token Get = %v; want ErrInvalidGrant (sign in again)", err)
			}
			if n := len(r.Calls()); n != 0 {
				t.Errorf("%d refreshes for a session Redis does not hold; want 0", n)
			}
		})
	}
}

func do(t *testing.T, srv *redistest.Server, args ...string) {
	t.Helper()
	if _, err := srv.Do(args...); err != nil {
		t.Fatalf("redis %s: %v", args[0], err)
	}
}

// A Redis that takes seconds to answer (DEBUG SLEEP) keeps every call within redis.timeout:
// a session read answers "unavailable" in about Timeout, never after Redis wakes.
func TestRedisFaultSlowRedisBoundedByTimeout(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	s := newRedisStore(t, srv, clock) // Timeout 300ms
	sess := redisSession(t, clock.Now())
	cookies := saveTo(t, s, sess)
	other := newRedisStore(t, srv, clock) // nothing in memory: it must ask Redis
	slept := make(chan error, 1)
	go func() { _, err := srv.Do("DEBUG", "SLEEP", "1"); slept <- err }()
	// DEBUG SLEEP holds the server; wait until it does (a PING that takes long) without
	// sleeping on a guess.
	for {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := other.rdb.Ping(ctx).Err()
		cancel()
		if err != nil || time.Since(start) > 50*time.Millisecond {
			break
		}
	}
	start := time.Now()
	_, err := other.Load(context.Background(), requestWith(cookies...))
	if took := time.Since(start); !errors.Is(err, ErrStoreUnavailable) || took > time.Second {
		t.Errorf("Load against a sleeping Redis = %v after %s; want ErrStoreUnavailable within about the 300ms timeout", err, took)
	}
	if err := <-slept; err != nil {
		t.Fatalf("DEBUG SLEEP: %v", err)
	}
}

// roundTrips counts the commands and pipelines a client sends: its round trips to Redis.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// The fencing's cost: an uncontended refresh takes three round trips to Redis (read, start
// the flight, store the result), and a token cache hit none.
func TestRedisRoundTripsPerRefresh(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	a := newReplica(t, srv, clock, r, time.Second)
	sess, _ := signedIn(t, a, clock)
	trips := &roundTrips{}
	a.store.rdb.AddHook(trips)
	warm := func() { // load the scripts, as the first refresh after start does once
		clock.Advance(time.Hour)
		if _, err := a.cache.Get(t.Context(), sess, testScope); err != nil {
			t.Fatal(err)
		}
	}
	warm()
	trips.n.Store(0)
	clock.Advance(time.Hour)
	if res, err := a.cache.Get(t.Context(), sess, testScope); err != nil || res.Outcome != Refreshed {
		t.Fatalf("Get = %v, %v; want Refreshed", res.Outcome, err)
	}
	if n := trips.n.Load(); n != 3 {
		t.Errorf("a refresh took %d round trips to Redis; want 3", n)
	}
	trips.n.Store(0)
	for range 100 {
		if res, err := a.cache.Get(t.Context(), sess, testScope); err != nil || res.Outcome != Hit {
			t.Fatalf("Get = %v, %v; want Hit", res.Outcome, err)
		}
	}
	if n := trips.n.Load(); n != 0 {
		t.Errorf("100 cache hits took %d round trips to Redis; want 0", n)
	}
}

// A flight is cleared for the next one only when the refresh token was certainly not spent;
// anything the provider may have acted on keeps it recorded.
func TestNotSpent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "provider answered an error", err: fmt.Errorf("refresh: %w", &idp.ProviderError{Status: 503}), want: true},
		{name: "never sent", err: fmt.Errorf("refresh: %w: %w", idp.ErrUnavailable, idp.ErrNotSent), want: true},
		{name: "discovery not loaded", err: idp.ErrNotReady, want: true},
		{name: "timeout", err: fmt.Errorf("refresh: %w: %w", idp.ErrUnavailable, context.DeadlineExceeded), want: false},
		{name: "garbage answer", err: fmt.Errorf("%w: token response is not JSON", idp.ErrUnavailable), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notSpent(tt.err); got != tt.want {
				t.Errorf("notSpent(%v) = %v; want %v", tt.err, got, tt.want)
			}
		})
	}
}
