package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/tokengate/tokengate/internal/redistest"
)

const testCacheTTL = 5 * time.Second

// newRedisStore returns a store on srv with its own client, as one replica would have.
func newRedisStore(t testing.TB, srv *redistest.Server, clock *testClock) *RedisStore {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{
		Addr: srv.Addr(), DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond, ContextTimeoutEnabled: true, MaxRetries: -1,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	t.Cleanup(func() { rdb.Close() })
	s, err := NewRedisStore(rdb, newTestCodec(t, clock), RedisOptions{
		Cookie: CookieOptions{Domain: ".example.com"}, Timeout: 300 * time.Millisecond,
		CacheTTL: testCacheTTL, LockTTL: 5 * time.Second, Now: clock.Now, ReuseDetection: true,
	})
	if err != nil {
		t.Fatalf("NewRedisStore: %v", err)
	}
	return s
}

// redisSession is testSession with a real 256-bit id.
func redisSession(t testing.TB, now time.Time) *Session {
	t.Helper()
	s := testSession(now)
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	s.ID = id
	return s
}

// saveTo saves sess with a request carrying have and returns the live Set-Cookies.
func saveTo(t *testing.T, s *RedisStore, sess *Session, have ...*http.Cookie) []*http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := s.Save(rec, requestWith(have...), sess); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return live(rec.Result().Cookies())
}

func TestRedisStoreRoundTripRevealsNothing(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	s := newRedisStore(t, srv, clock)
	sess := redisSession(t, clock.Now())
	cookies := saveTo(t, s, sess)
	if len(cookies) != 1 || cookies[0].Name != DefaultCookieName || len(cookies[0].Value) > 120 {
		t.Fatalf("Save set %v; want one short %s cookie holding only the sealed id", cookies, DefaultCookieName)
	}
	if c := cookies[0]; !c.Secure || !c.HttpOnly || c.Domain != "example.com" || c.MaxAge != int(8*time.Hour/time.Second) {
		t.Errorf("cookie attributes %+v; want Secure, HttpOnly, the domain and the session's lifetime", c)
	}
	// Another replica (its own client and memory) opens it.
	got, err := newRedisStore(t, srv, clock).Load(context.Background(), requestWith(cookies...))
	if err != nil {
		t.Fatalf("Load on another replica: %v", err)
	}
	if !reflect.DeepEqual(got, sess) {
		t.Errorf("Load = %+v; want %+v", got, sess)
	}
	dump := srv.Dump()
	for name, v := range map[string]string{"refresh token": sess.RefreshToken.Reveal(), "session id": sess.ID, "sid": sess.SID, "e-mail": sess.Email} {
		if strings.Contains(dump, v) {
			t.Errorf("redis holds the %s in clear text", name)
		}
	}
	ttl, err := srv.Do("TTL", s.keys.session(sess.ID))
	if n, _ := strconv.Atoi(ttl); err != nil || n < 8*3600-5 || n > 8*3600 {
		t.Errorf("session TTL = %q (%v); want the session's 8h", ttl, err)
	}
	// Saving again with the cookie only updates Redis: no new Set-Cookie.
	sess.RefreshToken = "rt-rotated"
	if again := saveTo(t, s, sess, cookies...); len(again) != 0 {
		t.Errorf("second Save set %v; want no cookie", again)
	}
}

func TestRedisStoreLoadRejects(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	s := newRedisStore(t, srv, clock)
	victim, attacker := redisSession(t, clock.Now()), redisSession(t, clock.Now())
	victimCookie := saveTo(t, s, victim)[0]
	attackerCookie := saveTo(t, s, attacker)[0]
	// Someone who can write Redis copies the victim's sealed session under their own key.
	sealed, err := srv.Do("GET", s.keys.session(victim.ID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do("SET", s.keys.session(attacker.ID), sealed); err != nil {
		t.Fatal(err)
	}
	cookieStoreValue := save(t, NewCookieStore(s.codec, CookieOptions{}), victim)[0]
	tests := []struct {
		name   string
		cookie *http.Cookie
	}{
		{name: "no cookie"},
		{name: "tampered", cookie: &http.Cookie{Name: DefaultCookieName, Value: tamper(victimCookie.Value)}},
		{name: "a cookie-store session under the same name", cookie: cookieStoreValue},
		{name: "a session moved to another key", cookie: attackerCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fresh := newRedisStore(t, srv, clock)
			var have []*http.Cookie
			if tt.cookie != nil {
				have = append(have, tt.cookie)
			}
			if _, err := fresh.Load(context.Background(), requestWith(have...)); !errors.Is(err, ErrNoSession) {
				t.Errorf("Load = %v; want ErrNoSession", err)
			}
		})
	}
}

// Sign-out on one replica ends the session on the others within CacheTTL, and not later.
func TestRedisStoreRevocationBound(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	a, b := newRedisStore(t, srv, clock), newRedisStore(t, srv, clock)
	sess := redisSession(t, clock.Now())
	cookies := saveTo(t, a, sess)
	if _, err := b.Load(context.Background(), requestWith(cookies...)); err != nil {
		t.Fatalf("Load on b: %v", err)
	}
	a.Clear(httptest.NewRecorder(), requestWith(cookies...))
	if _, err := a.Load(context.Background(), requestWith(cookies...)); !errors.Is(err, ErrNoSession) {
		t.Errorf("Load on a after Clear = %v; want ErrNoSession at once", err)
	}
	clock.Advance(testCacheTTL - time.Millisecond)
	if _, err := b.Load(context.Background(), requestWith(cookies...)); err != nil {
		t.Errorf("Load on b inside the bound = %v; want the cached session", err)
	}
	clock.Advance(time.Millisecond)
	if _, err := b.Load(context.Background(), requestWith(cookies...)); !errors.Is(err, ErrNoSession) {
		t.Errorf("Load on b at the bound = %v; want ErrNoSession", err)
	}
	// A late save from a request still carrying the cookie does not bring it back.
	err := b.Save(httptest.NewRecorder(), requestWith(cookies...), sess)
	if !errors.Is(err, ErrNoSession) {
		t.Errorf("Save after sign-out = %v; want ErrNoSession", err)
	}
}

func TestRedisStoreRevokeSID(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	a, b := newRedisStore(t, srv, clock), newRedisStore(t, srv, clock)
	first, second, other := redisSession(t, clock.Now()), redisSession(t, clock.Now()), redisSession(t, clock.Now())
	other.SID = "another-sid"
	var cookies [][]*http.Cookie
	for _, s := range []*Session{first, second, other} {
		c := saveTo(t, a, s)
		cookies = append(cookies, c)
		if _, err := b.Load(context.Background(), requestWith(c...)); err != nil {
			t.Fatalf("Load on b: %v", err)
		}
	}
	n, err := b.RevokeSID(t.Context(), first.SID)
	if err != nil || n != 2 {
		t.Fatalf("RevokeSID = %d, %v; want 2 sessions", n, err)
	}
	if n, err := b.RevokeSID(t.Context(), "unknown"); err != nil || n != 0 {
		t.Errorf("RevokeSID(unknown) = %d, %v; want 0, nil", n, err)
	}
	clock.Advance(testCacheTTL)
	for i, want := range []bool{false, false, true} {
		for _, s := range []*RedisStore{a, b} {
			_, err := s.Load(context.Background(), requestWith(cookies[i]...))
			if got := err == nil; got != want {
				t.Errorf("session %d alive = %v (%v); want %v", i, got, err, want)
			}
		}
	}
	if _, err := srv.Do("GET", a.keys.sid(first.SID)); err != nil {
		t.Errorf("sid index: %v", err)
	}
}

// With Redis down a session seen before keeps being served from memory; one never seen is
// ErrStoreUnavailable (503), not ErrNoSession (sign in again). It recovers without a restart.
func TestRedisStoreUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	s := newRedisStore(t, srv, clock)
	seen, unseen := redisSession(t, clock.Now()), redisSession(t, clock.Now())
	seenCookies, unseenCookies := saveTo(t, s, seen), saveTo(t, s, unseen)
	if _, err := s.Load(context.Background(), requestWith(seenCookies...)); err != nil {
		t.Fatal(err)
	}
	cold := newRedisStore(t, srv, clock)
	srv.Save()
	srv.Stop()
	clock.Advance(time.Hour) // far past CacheTTL: only the outage keeps the copy in use

	if _, err := s.Load(context.Background(), requestWith(seenCookies...)); err != nil {
		t.Errorf("Load of a known session with redis down = %v; want it from memory", err)
	}
	_, err := cold.Load(context.Background(), requestWith(unseenCookies...))
	if !errors.Is(err, ErrStoreUnavailable) || errors.Is(err, ErrNoSession) {
		t.Errorf("Load of an unknown session with redis down = %v; want ErrStoreUnavailable only", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("Ping with redis down = %v; want ErrStoreUnavailable", err)
	}
	if err := s.Save(httptest.NewRecorder(), requestWith(), redisSession(t, clock.Now())); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("Save with redis down = %v; want ErrStoreUnavailable", err)
	}

	srv.Restart()
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping after restart = %v", err)
	}
	if _, err := cold.Load(context.Background(), requestWith(unseenCookies...)); err != nil {
		t.Errorf("Load after restart = %v; want the session", err)
	}
}

func TestRedisStoreSaveRefusesShortIDs(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	s := newRedisStore(t, srv, clock)
	sess := testSession(clock.Now()) // a 128-bit id
	if err := s.Save(httptest.NewRecorder(), requestWith(), sess); err == nil {
		t.Error("Save of a 128-bit id succeeded; want an error")
	}
}
