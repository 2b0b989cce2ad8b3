package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

const testScope = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"

// fakeRefresher answers refreshes with answer, optionally holding each call until gate closes.
type fakeRefresher struct {
	mu      sync.Mutex
	calls   []refreshCall
	gate    chan struct{}
	started chan struct{}
	answer  func(n int, rt secret.String) (idp.Token, error)
}

type refreshCall struct {
	rt, scope string
	ctxErr    error // the refresh context's error once the call was released
}

func newFakeRefresher(answer func(n int, rt secret.String) (idp.Token, error)) *fakeRefresher {
	return &fakeRefresher{answer: answer, started: make(chan struct{}, 100)}
}

func (f *fakeRefresher) Refresh(ctx context.Context, rt secret.String, scope string) (idp.Token, error) {
	f.mu.Lock()
	n := len(f.calls)
	f.calls = append(f.calls, refreshCall{rt: rt.Reveal(), scope: scope})
	f.mu.Unlock()
	select { // a signal for tests that wait on a start; never a block for those that do not
	case f.started <- struct{}{}:
	default:
	}
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	f.calls[n].ctxErr = ctx.Err()
	f.mu.Unlock()
	return f.answer(n, rt)
}

func (f *fakeRefresher) Calls() []refreshCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]refreshCall(nil), f.calls...)
}

// rotating answers call n with access token "at-n" and refresh token "rt-n", valid for an hour.
func rotating(clock *testClock) func(int, secret.String) (idp.Token, error) {
	return func(n int, _ secret.String) (idp.Token, error) {
		return idp.Token{
			AccessToken:  secret.String(fmt.Sprintf("at-%d", n)),
			RefreshToken: secret.String(fmt.Sprintf("rt-%d", n)),
			Expiry:       clock.Now().Add(time.Hour),
		}, nil
	}
}

func failing(err error) func(int, secret.String) (idp.Token, error) {
	return func(int, secret.String) (idp.Token, error) {
		return idp.Token{}, fmt.Errorf("token endpoint: %w", err)
	}
}

// Test timings: a seeded token lives an hour; it is fresh for 50 minutes, refreshed ahead
// from 50 to 55 minutes, refreshed now (or served Stale) from 55 to 60.
const (
	testMargin  = 5 * time.Minute
	testAhead   = 5 * time.Minute
	testTimeout = 10 * time.Second
)

func newTestCache(t testing.TB, r Refresher, clock *testClock, logger *slog.Logger) *TokenCache {
	t.Helper()
	c, err := NewTokenCache(r, CacheOptions{
		SafetyMargin:   testMargin,
		RefreshAhead:   testAhead,
		MaxBytes:       1 << 20,
		RefreshTimeout: testTimeout,
		Now:            clock.Now,
		Logger:         logger,
	})
	if err != nil {
		t.Fatalf("NewTokenCache: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func seedToken(clock *testClock) idp.Token {
	return idp.Token{AccessToken: "at-seed", RefreshToken: "rt-seed", Expiry: clock.Now().Add(time.Hour)}
}

// seededSession is a session whose refresh token is the seed's, as after sign-in.
func seededSession(clock *testClock) *Session {
	s := testSession(clock.Now())
	s.RefreshToken = "rt-seed"
	return s
}

func TestNewTokenCacheRejectsBadOptions(t *testing.T) {
	r := newFakeRefresher(nil)
	tests := []struct {
		name string
		r    Refresher
		opts CacheOptions
	}{
		{name: "no refresher", opts: CacheOptions{MaxBytes: 1 << 20}},
		{name: "no MaxBytes", r: r},
		{name: "negative margin", r: r, opts: CacheOptions{MaxBytes: 1 << 20, SafetyMargin: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := NewTokenCache(tt.r, tt.opts); err == nil {
				c.Close()
				t.Error("NewTokenCache succeeded; want an error")
			}
		})
	}
}

func TestTokenCacheGet(t *testing.T) {
	tests := []struct {
		name        string
		seed        bool
		scope       string
		advance     time.Duration
		wantAccess  string
		wantOutcome Outcome
		wantCalls   int
	}{
		{name: "fresh hit", seed: true, advance: 49 * time.Minute, wantAccess: "at-seed", wantOutcome: Hit},
		{name: "missing", wantAccess: "at-0", wantOutcome: Refreshed, wantCalls: 1},
		{name: "other scope is another entry", seed: true, scope: "User.Read", wantAccess: "at-0", wantOutcome: Refreshed, wantCalls: 1},
		{name: "inside safety margin", seed: true, advance: 55 * time.Minute, wantAccess: "at-0", wantOutcome: Refreshed, wantCalls: 1},
		{name: "expired", seed: true, advance: 2 * time.Hour, wantAccess: "at-0", wantOutcome: Refreshed, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			r := newFakeRefresher(rotating(clock))
			c := newTestCache(t, r, clock, nil)
			sess := seededSession(clock)
			if tt.seed {
				c.Seed(sess, testScope, seedToken(clock))
			}
			clock.Advance(tt.advance)
			scope := testScope
			if tt.scope != "" {
				scope = tt.scope
			}
			res, err := c.Get(context.Background(), sess, scope)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got := res.Token.AccessToken.Reveal(); got != tt.wantAccess || res.Outcome != tt.wantOutcome {
				t.Errorf("Get = %s, %v; want %s, %v", got, res.Outcome, tt.wantAccess, tt.wantOutcome)
			}
			calls := r.Calls()
			if len(calls) != tt.wantCalls {
				t.Fatalf("refresher called %d times; want %d", len(calls), tt.wantCalls)
			}
			if len(calls) > 0 && (calls[0].rt != "rt-seed" || calls[0].scope != scope) {
				t.Errorf("refreshed with %+v; want the session's refresh token and scope %s", calls[0], scope)
			}
		})
	}
}

func TestTokenCacheRefreshAhead(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	r.gate = make(chan struct{})
	c := newTestCache(t, r, clock, nil)
	sess := seededSession(clock)
	c.Seed(sess, testScope, seedToken(clock))
	clock.Advance(52 * time.Minute)

	for i := range 10 {
		res, err := c.Get(context.Background(), sess, testScope)
		if err != nil || res.Token.AccessToken.Reveal() != "at-seed" || res.Outcome != RefreshAhead {
			t.Fatalf("Get %d = %s, %v, %v; want the seeded token, RefreshAhead", i, res.Token.AccessToken.Reveal(), res.Outcome, err)
		}
	}
	close(r.gate)
	c.work.Wait()
	if n := len(r.Calls()); n != 1 {
		t.Fatalf("refresher called %d times; want 1 background refresh", n)
	}
	res, err := c.Get(context.Background(), sess, testScope)
	if err != nil || res.Token.AccessToken.Reveal() != "at-0" || res.Outcome != Hit {
		t.Errorf("Get after background refresh = %s, %v, %v; want at-0, Hit", res.Token.AccessToken.Reveal(), res.Outcome, err)
	}
}

func TestTokenCacheConcurrentRefreshIsShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newTestClock()
		r := newFakeRefresher(rotating(clock))
		r.gate = make(chan struct{})
		c := newTestCache(t, r, clock, nil)
		sess := seededSession(clock)
		c.Seed(sess, testScope, seedToken(clock))
		clock.Advance(time.Hour)

		results := make([]Result, 50)
		errs := make([]error, 50)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() { results[i], errs[i] = c.Get(context.Background(), sess, testScope) })
		}
		synctest.Wait() // every Get is now waiting on the one refresh
		close(r.gate)
		wg.Wait()
		if n := len(r.Calls()); n != 1 {
			t.Errorf("50 concurrent Gets made %d refreshes; want 1", n)
		}
		for i, res := range results {
			if errs[i] != nil || res.Token.AccessToken.Reveal() != "at-0" || res.Outcome != Refreshed {
				t.Errorf("Get %d = %s, %v, %v; want at-0, Refreshed", i, res.Token.AccessToken.Reveal(), res.Outcome, errs[i])
			}
		}
	})
}

func TestTokenCacheRefreshFailures(t *testing.T) {
	tests := []struct {
		name        string
		seed        bool
		advance     time.Duration
		err         error
		wantOutcome Outcome // when no error is wanted
		wantErr     error
	}{
		{name: "unavailable, token still valid", seed: true, advance: 57 * time.Minute, err: idp.ErrUnavailable, wantOutcome: Stale},
		{name: "unavailable, token expired", seed: true, advance: time.Hour, err: idp.ErrUnavailable, wantErr: idp.ErrUnavailable},
		{name: "unavailable, nothing cached", err: idp.ErrUnavailable, wantErr: idp.ErrUnavailable},
		{name: "invalid grant, token still valid", seed: true, advance: 57 * time.Minute, err: idp.ErrInvalidGrant, wantErr: idp.ErrInvalidGrant},
		{name: "invalid client, token still valid", seed: true, advance: 57 * time.Minute, err: idp.ErrInvalidClient, wantErr: idp.ErrInvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			c := newTestCache(t, newFakeRefresher(failing(tt.err)), clock, nil)
			sess := seededSession(clock)
			if tt.seed {
				c.Seed(sess, testScope, seedToken(clock))
			}
			clock.Advance(tt.advance)
			res, err := c.Get(context.Background(), sess, testScope)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Get = %v, %v; want an error wrapping %v", res.Outcome, err, tt.wantErr)
				}
				return
			}
			if err != nil || res.Outcome != tt.wantOutcome || res.Token.AccessToken.Reveal() != "at-seed" {
				t.Errorf("Get = %s, %v, %v; want at-seed, %v", res.Token.AccessToken.Reveal(), res.Outcome, err, tt.wantOutcome)
			}
		})
	}
}

func TestTokenCacheStaleBacksOff(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(failing(idp.ErrUnavailable))
	c := newTestCache(t, r, clock, nil)
	sess := seededSession(clock)
	c.Seed(sess, testScope, seedToken(clock))
	clock.Advance(57 * time.Minute)
	for range 5 {
		if res, err := c.Get(context.Background(), sess, testScope); err != nil || res.Outcome != Stale {
			t.Fatalf("Get = %v, %v; want Stale", res.Outcome, err)
		}
	}
	if n := len(r.Calls()); n != 1 {
		t.Errorf("refresher called %d times within the back-off; want 1", n)
	}
	clock.Advance(testTimeout)
	if _, err := c.Get(context.Background(), sess, testScope); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if n := len(r.Calls()); n != 2 {
		t.Errorf("refresher called %d times after the back-off; want 2", n)
	}
}

func TestTokenCacheInvalidGrantDropsEntry(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(failing(idp.ErrInvalidGrant))
	c := newTestCache(t, r, clock, nil)
	sess := seededSession(clock)
	c.Seed(sess, testScope, seedToken(clock))
	start := clock.Now()
	clock.Advance(57 * time.Minute)
	if _, err := c.Get(context.Background(), sess, testScope); !errors.Is(err, idp.ErrInvalidGrant) {
		t.Fatalf("Get error = %v; want ErrInvalidGrant", err)
	}
	clock.Set(start) // the old token would be fresh again, were it still cached
	if _, err := c.Get(context.Background(), sess, testScope); !errors.Is(err, idp.ErrInvalidGrant) {
		t.Errorf("Get after invalid_grant = %v; want a new refresh failing with ErrInvalidGrant", err)
	}
	if n := len(r.Calls()); n != 2 {
		t.Errorf("refresher called %d times; want 2 (the entry must be dropped)", n)
	}
}

func TestTokenCacheRotatedRefreshToken(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	c := newTestCache(t, r, clock, nil)
	behind := seededSession(clock) // its cookie never received a rotated token
	c.Seed(behind, testScope, seedToken(clock))
	get := func(sess *Session) Result {
		t.Helper()
		res, err := c.Get(context.Background(), sess, testScope)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		return res
	}

	if rt := get(behind).Token.RefreshToken; !rt.IsEmpty() {
		t.Errorf("hit after sign-in surfaced a refresh token; want none (the session has it)")
	}
	clock.Advance(time.Hour)
	if rt := get(behind).Token.RefreshToken.Reveal(); rt != "rt-0" {
		t.Errorf("first refresh surfaced %q; want rt-0", rt)
	}
	if rt := get(behind).Token.RefreshToken.Reveal(); rt != "rt-0" {
		t.Errorf("hit for a session still behind surfaced %q; want rt-0 again", rt)
	}
	clock.Advance(time.Hour)
	if rt := get(behind).Token.RefreshToken.Reveal(); rt != "rt-1" {
		t.Errorf("second refresh surfaced %q; want rt-1", rt)
	}
	caughtUp := seededSession(clock)
	caughtUp.RefreshToken = "rt-1"
	if rt := get(caughtUp).Token.RefreshToken; !rt.IsEmpty() {
		t.Errorf("session holding the newest token was given one again")
	}
	movedOn := seededSession(clock)
	movedOn.RefreshToken = "rt-elsewhere" // rotated by another replica
	clock.Advance(time.Hour)
	if rt := get(movedOn).Token.RefreshToken.Reveal(); rt != "rt-2" {
		t.Errorf("third refresh surfaced %q; want rt-2", rt)
	}
	var used []string
	for _, call := range r.Calls() {
		used = append(used, call.rt)
	}
	if got, want := fmt.Sprint(used), "[rt-seed rt-0 rt-elsewhere]"; got != want {
		t.Errorf("refreshed with %s; want %s (the newest known each time)", got, want)
	}
}

func TestTokenCacheUnrotatedRefreshKeepsNewest(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(func(n int, rt secret.String) (idp.Token, error) {
		tok := idp.Token{AccessToken: secret.String(fmt.Sprint("at-", n)), Expiry: clock.Now().Add(time.Hour)}
		if n == 0 {
			tok.RefreshToken = "rt-rotated"
		}
		return tok, nil
	})
	c := newTestCache(t, r, clock, nil)
	sess := seededSession(clock)
	for i := range 2 {
		res, err := c.Get(context.Background(), sess, testScope)
		if err != nil || res.Token.RefreshToken.Reveal() != "rt-rotated" {
			t.Fatalf("Get %d surfaced %q, %v; want rt-rotated", i, res.Token.RefreshToken.Reveal(), err)
		}
		clock.Advance(time.Hour)
	}
	if got := r.Calls()[1].rt; got != "rt-rotated" {
		t.Errorf("second refresh used %q; want rt-rotated", got)
	}
}

func TestTokenCacheCallerCancelDoesNotCancelRefresh(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	r.gate = make(chan struct{})
	c := newTestCache(t, r, clock, nil)
	sess := seededSession(clock)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, sess, testScope)
		errc <- err
	}()
	<-r.started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Get error = %v; want context.Canceled", err)
	}
	close(r.gate)
	c.work.Wait()
	if calls := r.Calls(); calls[0].ctxErr != nil {
		t.Errorf("refresh context ended with %v; want it detached from the caller", calls[0].ctxErr)
	}
	res, err := c.Get(context.Background(), sess, testScope)
	if err != nil || res.Outcome != Hit {
		t.Errorf("Get = %v, %v; want a Hit on the token the abandoned refresh cached", res.Outcome, err)
	}
}

func TestTokenCacheBackgroundFailureIsLoggedWithoutSecrets(t *testing.T) {
	clock := newTestClock()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	c := newTestCache(t, newFakeRefresher(failing(idp.ErrUnavailable)), clock, logger)
	sess := seededSession(clock)
	c.Seed(sess, testScope, seedToken(clock))
	clock.Advance(52 * time.Minute)
	if res, err := c.Get(context.Background(), sess, testScope); err != nil || res.Outcome != RefreshAhead {
		t.Fatalf("Get = %v, %v; want RefreshAhead", res.Outcome, err)
	}
	c.work.Wait()
	out := logs.String()
	if !bytes.Contains(logs.Bytes(), []byte("background token refresh failed")) {
		t.Errorf("log = %q; want the background failure", out)
	}
	for _, secretValue := range []string{"at-seed", "rt-seed", sess.ID} {
		if bytes.Contains(logs.Bytes(), []byte(secretValue)) {
			t.Errorf("log %q contains %q", out, secretValue)
		}
	}
}

func TestTokenCacheRefusesSessionWithoutID(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	c := newTestCache(t, r, clock, nil)
	sess := seededSession(clock)
	sess.ID = ""
	c.Seed(sess, testScope, seedToken(clock))
	if res, err := c.Get(context.Background(), sess, testScope); !errors.Is(err, errNoID) {
		t.Errorf("Get = %s, %v; want errNoID", res.Token.AccessToken.Reveal(), err)
	}
	if n := len(r.Calls()); n != 0 {
		t.Errorf("refresher called %d times; want 0", n)
	}
}

func TestTokenCacheForget(t *testing.T) {
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	c := newTestCache(t, r, clock, nil)
	sess := seededSession(clock)
	c.Seed(sess, testScope, seedToken(clock))
	c.Forget(sess, testScope)
	if res, err := c.Get(context.Background(), sess, testScope); err != nil || res.Outcome != Refreshed {
		t.Errorf("Get after Forget = %v, %v; want Refreshed", res.Outcome, err)
	}
}

func TestTokenCacheCloseWaitsForBackgroundWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newTestClock()
		r := newFakeRefresher(rotating(clock))
		r.gate = make(chan struct{})
		c := newTestCache(t, r, clock, nil)
		sess := seededSession(clock)
		c.Seed(sess, testScope, seedToken(clock))
		clock.Advance(52 * time.Minute)
		if _, err := c.Get(context.Background(), sess, testScope); err != nil {
			t.Fatalf("Get: %v", err)
		}
		closed := make(chan struct{})
		go func() {
			c.Close()
			close(closed)
		}()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned while a background refresh was running")
		default:
		}
		close(r.gate)
		<-closed
		if n := len(r.Calls()); n != 1 {
			t.Errorf("refresher called %d times; want 1", n)
		}
		clock.Advance(time.Hour)
		if _, err := c.Get(context.Background(), sess, testScope); !errors.Is(err, errClosed) {
			t.Errorf("Get after Close = %v; want errClosed", err)
		}
	})
}

func BenchmarkCacheHit(b *testing.B) {
	clock := newTestClock()
	c := newTestCache(b, newFakeRefresher(rotating(clock)), clock, nil)
	sess := seededSession(clock)
	c.Seed(sess, testScope, seedToken(clock))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res, err := c.Get(ctx, sess, testScope); err != nil || res.Outcome != Hit {
			b.Fatalf("Get = %v, %v; want Hit", res.Outcome, err)
		}
	}
}
