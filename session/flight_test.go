package session

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/redistest"
)

// The interleavings of a refresh across replicas, each on a real redis-server and the
// development provider with rotating refresh tokens and reuse detection: a refresh token
// spent twice revokes the sign-in, which these tests would see as RefreshTokenReuses > 0.

// signedInAt signs alice in at r and saves her session on a, as the callback does.
func signedInAt(t *testing.T, a replica, clock *testClock, r *reuseIdP) (*Session, []*http.Cookie) {
	t.Helper()
	rt, tok, who := r.signIn(t)
	sess := redisSession(t, clock.Now())
	sess.RefreshToken, sess.Subject, sess.Issuer = rt, who.Subject, who.Issuer
	cookies := saveTo(t, a.store, sess)
	a.cache.Seed(sess, aksScope, tok)
	return sess, cookies
}

// getAsync runs rep's Get in the background and hands its error over.
func getAsync(t *testing.T, rep replica, sess *Session) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := rep.cache.Get(t.Context(), sess, aksScope)
		done <- err
	}()
	return done
}

// waitAnswered returns once the provider answered a refresh, and fails if the Get that
// should have made it ended first.
func waitAnswered(t *testing.T, r *reuseIdP, done <-chan error) {
	t.Helper()
	select {
	case <-r.answered:
	case err := <-done:
		t.Fatalf("Get ended (%v) without a refresh at the provider", err)
	}
}

func wantNoReuse(t *testing.T, r *reuseIdP, wantCalls int) {
	t.Helper()
	if n := r.p.RefreshTokenReuses(); n != 0 {
		t.Errorf("the provider saw %d reuses of a refresh token; want 0", n)
	}
	if n := r.refreshCalls(); n != wantCalls {
		t.Errorf("%d refresh calls at the provider; want %d", n, wantCalls)
	}
}

// Replica a's refresh was answered, then a pauses past its lock (a GC pause, a frozen VM):
// the lock lapses. b must not spend the old refresh token; it waits for a's result, which
// a stores although it no longer holds the lock.
func TestFlightLockLapsesUnderItsHolder(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := newReuseIdP(t, clock)
	a, b := newReplica(t, srv, clock, r, 5*time.Second), newReplica(t, srv, clock, r, 200*time.Millisecond)
	sess, _ := signedInAt(t, a, clock, r)
	clock.Advance(time.Hour)

	release := r.holdAfterAnswer()
	defer release()
	aDone := getAsync(t, a, sess)
	waitAnswered(t, r, aDone) // the provider rotated; a has not stored the result
	if _, err := srv.Do("DEL", a.store.keys.lock(sess.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.cache.Get(t.Context(), sess, aksScope); !errors.Is(err, idp.ErrUnavailable) {
		t.Fatalf("Get on b while a's flight is paused = %v; want it to wait, then ErrUnavailable", err)
	}
	release()
	if err := <-aDone; err != nil {
		t.Fatalf("Get on a after its pause = %v", err)
	}
	aTok, _ := a.cache.Peek(sess, aksScope)
	bRes, err := b.cache.Get(t.Context(), sess, aksScope)
	if err != nil || bRes.Token.AccessToken != aTok.Token.AccessToken {
		t.Fatalf("Get on b after a stored = %v; want a's token", err)
	}
	wantNoReuse(t, r, 1)
	clock.Advance(time.Hour) // the next refresh, on b, spends the rotated token
	if _, err := b.cache.Get(t.Context(), sess, aksScope); err != nil {
		t.Fatalf("next refresh on b = %v", err)
	}
	wantNoReuse(t, r, 2)
}

// Redis stalls (SIGSTOP), or stops and comes back, after the provider rotated and before a
// stored the result: a still answers with the new token, b waits rather than spend the old
// one, and a's next read of the session stores the result it kept.
func TestFlightRedisFailsBeforeTheWrite(t *testing.T) {
	tests := []struct {
		name         string
		fail, revive func(srv *redistest.Server)
	}{
		{name: "stalled", fail: (*redistest.Server).Pause, revive: (*redistest.Server).Resume},
		{name: "stopped", fail: func(srv *redistest.Server) { srv.Save(); srv.Stop() }, revive: (*redistest.Server).Restart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			clock := newTestClock()
			r := newReuseIdP(t, clock)
			a, b := newReplica(t, srv, clock, r, 5*time.Second), newReplica(t, srv, clock, r, 200*time.Millisecond)
			sess, _ := signedInAt(t, a, clock, r)
			clock.Advance(time.Hour)

			release := r.holdAfterAnswer()
			defer release()
			aDone := getAsync(t, a, sess)
			waitAnswered(t, r, aDone)
			tt.fail(srv)
			release()
			if err := <-aDone; err != nil {
				t.Fatalf("Get on a with redis %s after the rotation = %v; want the new token", tt.name, err)
			}
			tt.revive(srv)
			if _, err := b.cache.Get(t.Context(), sess, aksScope); !errors.Is(err, idp.ErrUnavailable) {
				t.Fatalf("Get on b while a's result is not stored = %v; want it to wait, then ErrUnavailable", err)
			}
			if sh, err := a.store.Get(t.Context(), sess, aksScope); err != nil || sh.Generation != 1 {
				t.Fatalf("a's next read = generation %d, %v; want its pending result stored (generation 1)", sh.Generation, err)
			}
			aTok, _ := a.cache.Peek(sess, aksScope)
			if res, err := b.cache.Get(t.Context(), sess, aksScope); err != nil || res.Token.AccessToken != aTok.Token.AccessToken {
				t.Fatalf("Get on b after a stored = %v; want a's token", err)
			}
			wantNoReuse(t, r, 1)
		})
	}
}

// A flight whose replica died after its refresh went out (its lock lapsed, nothing was
// stored) may have spent the refresh token: past the abandon bound the session ends, and
// nobody presents the token again.
func TestFlightAbandonedEndsTheSession(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := newReuseIdP(t, clock)
	a, b := newReplica(t, srv, clock, r, 5*time.Second), newReplica(t, srv, clock, r, 200*time.Millisecond)
	sess, _ := signedInAt(t, a, clock, r)
	clock.Advance(time.Hour)
	vanishedFlight(t, srv, a, sess, aksScope)
	if _, err := b.cache.Get(t.Context(), sess, aksScope); !errors.Is(err, idp.ErrUnavailable) {
		t.Fatalf("Get on b within the abandon bound = %v; want ErrUnavailable", err)
	}
	clock.Advance(b.store.abandonAfter())
	if _, err := b.cache.Get(t.Context(), sess, aksScope); !errors.Is(err, idp.ErrInvalidGrant) {
		t.Fatalf("Get on b past the abandon bound = %v; want ErrInvalidGrant (sign in again)", err)
	}
	wantNoReuse(t, r, 0)
	wantNoKeys(t, srv)
}

// The provider refuses the refresh token (invalid_grant) while 60 requests on 3 replicas
// wait on the same refresh: every one gets ErrInvalidGrant, from one call to the provider.
func TestFlightInvalidGrantEndsItOnEveryReplica(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := newReuseIdP(t, clock)
	reps := []replica{
		newReplica(t, srv, clock, r, 5*time.Second), newReplica(t, srv, clock, r, 5*time.Second),
		newReplica(t, srv, clock, r, 5*time.Second),
	}
	sess, _ := signedInAt(t, reps[0], clock, r)
	r.p.RevokeUser("alice")
	clock.Advance(time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, 60)
	for i := range errs {
		wg.Go(func() { _, errs[i] = reps[i%3].cache.Get(t.Context(), sess, aksScope) })
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, idp.ErrInvalidGrant) {
			t.Errorf("Get %d = %v; want ErrInvalidGrant", i, err)
		}
	}
	if n := r.refreshCalls(); n != 1 {
		t.Errorf("%d refresh calls at the provider; want exactly 1", n)
	}
	wantNoKeys(t, srv)
}

// A sign-out on b while a's refresh is in flight: the refresh that finishes afterwards
// brings the session back neither in Redis nor in a's memory.
func TestFlightSignOutRacesARefresh(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := newReuseIdP(t, clock)
	a, b := newReplica(t, srv, clock, r, 5*time.Second), newReplica(t, srv, clock, r, 5*time.Second)
	sess, cookies := signedInAt(t, a, clock, r)
	clock.Advance(time.Hour)

	release := r.holdAfterAnswer()
	defer release()
	aDone := getAsync(t, a, sess)
	waitAnswered(t, r, aDone)
	b.store.Clear(noopWriter{}, requestWith(cookies...))
	release()
	if err := <-aDone; !errors.Is(err, idp.ErrInvalidGrant) {
		t.Fatalf("Get on a, refresh finished after the sign-out = %v; want ErrInvalidGrant", err)
	}
	if _, err := a.store.Load(context.Background(), requestWith(cookies...)); !errors.Is(err, ErrNoSession) {
		t.Errorf("Load on a after the sign-out = %v; want ErrNoSession", err)
	}
	if _, ok := a.cache.Peek(sess, aksScope); ok {
		t.Error("a still serves a token for the signed-out session")
	}
	wantNoKeys(t, srv)
}

// vanishedFlight starts a flight for sess on rep and leaves it as a replica that vanished
// mid-refresh does: nothing renews its lock, which is gone, and nothing ends the flight.
func vanishedFlight(t *testing.T, srv *redistest.Server, rep replica, sess *Session, scope string) Flight {
	t.Helper()
	seen, err := rep.store.Get(t.Context(), sess, scope)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := rep.store.Lock(t.Context(), sess, seen)
	if err != nil || fl == nil {
		t.Fatalf("Lock = %v, %v; want a flight", fl, err)
	}
	fl.(*redisFlight).stopRenew()
	do(t, srv, "DEL", rep.store.keys.lock(sess.ID))
	return fl
}

// wantNoKeys fails when Redis still holds any key: after a sign-out or an ended session,
// nothing of it may stay (tokens, refresh state, lock, sid index, gauge).
func wantNoKeys(t *testing.T, srv *redistest.Server) {
	t.Helper()
	if keys, err := srv.Do("KEYS", "*"); err != nil || keys != "" {
		t.Errorf("redis keys left: %q (%v); want none", keys, err)
	}
}

// A refresh whose id_token names another subject or issuer than the session (OIDC Core
// 12.2) ends the session on every replica; its tokens are neither stored nor served.
func TestFlightRefreshForAnotherUserEndsTheSession(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *Session)
	}{
		{name: "other subject", change: func(s *Session) { s.Subject = "00000000-0000-0000-0000-0000000000ff" }},
		{name: "other issuer", change: func(s *Session) { s.Issuer = "https://login.example.com/other/v2.0" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			clock := newTestClock()
			r := newReuseIdP(t, clock)
			a, b := newReplica(t, srv, clock, r, 5*time.Second), newReplica(t, srv, clock, r, 5*time.Second)
			rt, tok, who := r.signIn(t)
			sess := redisSession(t, clock.Now())
			sess.RefreshToken, sess.Subject, sess.Issuer = rt, who.Subject, who.Issuer
			tt.change(sess)
			saveTo(t, a.store, sess)
			a.cache.Seed(sess, aksScope, tok)
			clock.Advance(time.Hour)
			if _, err := a.cache.Get(t.Context(), sess, aksScope); !errors.Is(err, idp.ErrInvalidGrant) {
				t.Fatalf("Get = %v; want ErrInvalidGrant", err)
			}
			if _, err := b.cache.Get(t.Context(), sess, aksScope); !errors.Is(err, idp.ErrInvalidGrant) {
				t.Errorf("Get on b = %v; want ErrInvalidGrant", err)
			}
			wantNoReuse(t, r, 1)
			wantNoKeys(t, srv)
		})
	}
}

// Without reuse detection (Entra keeps a redeemed refresh token valid), a flight that may
// have spent its token, or whose replica vanished, does not end the session: the next flight
// presents the same token again, and a late result of the vanished one is not stored over it.
func TestFlightWithoutReuseDetectionRetries(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	r := newFakeRefresher(rotating(clock))
	a, b := newReplica(t, srv, clock, r, time.Second), newReplica(t, srv, clock, r, time.Second)
	a.store.opts.ReuseDetection, b.store.opts.ReuseDetection = false, false
	sess, _ := signedIn(t, a, clock)
	clock.Advance(time.Hour)

	stalled := vanishedFlight(t, srv, a, sess, testScope)
	clock.Advance(b.store.abandonAfter())
	res, err := b.cache.Get(t.Context(), sess, testScope)
	if err != nil || res.Outcome != Refreshed {
		t.Fatalf("Get on b past the abandon bound = %v, %v; want a refresh that took over", res.Outcome, err)
	}
	if calls := r.Calls(); len(calls) != 1 || calls[0].rt != "rt-seed" {
		t.Fatalf("refresh calls %+v; want one, with rt-seed", calls)
	}
	late := stalled.Commit(t.Context(), testScope, seedToken(clock))
	if !errors.Is(late, errOvertaken) {
		t.Errorf("late Commit of the overtaken flight = %v; want errOvertaken", late)
	}
	if sh, err := b.store.Get(t.Context(), sess, testScope); err != nil || sh.RefreshToken != "rt-0" || sh.Generation != 1 {
		t.Errorf("stored = %q at generation %d (%v); want b's rt-0 at 1", sh.RefreshToken.Reveal(), sh.Generation, err)
	}
}
