package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
)

// Peek lets /auth skip a step's span when memory alone answers. It must agree with Load and
// Get exactly: were it to hand out another session or token than they would, turning
// tracing on would change whom a request acts as.

// peekCookies is a cookie store with three sealed sessions that no Load has opened yet.
type peekCookies struct {
	store *CookieStore
	clock *testClock
	a, b  *http.Cookie   // whole cookies of the sessions of user-a and user-b
	big   []*http.Cookie // the chunks of user-big's session
}

func newPeekCookies(t *testing.T, openedCacheBytes int64) *peekCookies {
	t.Helper()
	clock := newTestClock()
	s := NewCookieStore(newTestCodec(t, clock), CookieOptions{Domain: ".example.com", OpenedCacheBytes: openedCacheBytes})
	a, b, big := testSession(clock.Now()), testSession(clock.Now()), bigSession(clock.Now())
	a.ID, a.Subject = "session-a-0000000000000", "user-a"
	b.ID, b.Subject = "session-b-0000000000000", "user-b"
	big.ID, big.Subject = "session-big-00000000000", "user-big"
	chunks := save(t, s, big)
	if len(chunks) < 2 {
		t.Fatalf("big session saved as %s; want chunks", names(chunks))
	}
	return &peekCookies{store: s, clock: clock, a: save(t, s, a)[0], b: save(t, s, b)[0], big: chunks}
}

func TestCookieStorePeekAgreesWithLoad(t *testing.T) {
	g := &http.Cookie{Name: DefaultCookieName, Value: "garbage"}
	tests := []struct {
		name     string
		cacheOff bool
		opened   func(f *peekCookies) []*http.Cookie // loaded once before, as by an earlier /auth
		advance  time.Duration
		cookies  func(f *peekCookies) []*http.Cookie
		wantPeek string // subject Peek returns; "" for false
		wantLoad string // subject Load returns; "" for ErrNoSession
	}{
		{name: "no cookie", cookies: noCookies},
		{name: "whole cookie opened before", opened: onlyA, cookies: onlyA, wantPeek: "user-a", wantLoad: "user-a"},
		{name: "whole cookie not opened yet", cookies: onlyA, wantLoad: "user-a"},
		{name: "second whole cookie opened, first not: Load opens the first", opened: onlyB,
			cookies: func(f *peekCookies) []*http.Cookie { return []*http.Cookie{f.a, f.b} }, wantLoad: "user-a"},
		{name: "first whole cookie opened, second not", opened: onlyB,
			cookies:  func(f *peekCookies) []*http.Cookie { return []*http.Cookie{f.b, f.a} },
			wantPeek: "user-b", wantLoad: "user-b"},
		{name: "garbage before an opened whole cookie: Load decrypts the garbage first", opened: onlyB,
			cookies: func(f *peekCookies) []*http.Cookie { return []*http.Cookie{g, f.b} }, wantLoad: "user-b"},
		{name: "opened session in the fourth whole cookie", opened: onlyB,
			cookies: func(f *peekCookies) []*http.Cookie { return []*http.Cookie{g, g, g, f.b} }, wantLoad: "user-b"},
		{name: "opened session in the fifth whole cookie is past maxSingles", opened: onlyB,
			cookies: func(f *peekCookies) []*http.Cookie { return []*http.Cookie{g, g, g, g, f.b} }},
		{name: "chunks opened before", opened: bigChunks, cookies: bigChunks, wantPeek: "user-big", wantLoad: "user-big"},
		{name: "chunks in reverse order", opened: bigChunks,
			cookies:  func(f *peekCookies) []*http.Cookie { return []*http.Cookie{f.big[1], f.big[0]} },
			wantPeek: "user-big", wantLoad: "user-big"},
		{name: "chunks not opened yet", cookies: bigChunks, wantLoad: "user-big"},
		{name: "last chunk missing", opened: bigChunks,
			cookies: func(f *peekCookies) []*http.Cookie { return f.big[:len(f.big)-1] }},
		{name: "first chunk missing", opened: bigChunks,
			cookies: func(f *peekCookies) []*http.Cookie { return f.big[1:] }},
		{name: "whole cookie not opened beside opened chunks: Load opens the whole one", opened: bigChunks,
			cookies: func(f *peekCookies) []*http.Cookie { return append([]*http.Cookie{f.a}, f.big...) }, wantLoad: "user-a"},
		{name: "garbage whole cookie beside opened chunks", opened: bigChunks,
			cookies: func(f *peekCookies) []*http.Cookie { return append([]*http.Cookie{g}, f.big...) }, wantLoad: "user-big"},
		{name: "opened whole cookie beside chunks", opened: onlyB,
			cookies:  func(f *peekCookies) []*http.Cookie { return append([]*http.Cookie{f.b}, f.big...) },
			wantPeek: "user-b", wantLoad: "user-b"},
		{name: "opened session a second before its end", opened: onlyA, advance: 8*time.Hour - time.Second,
			cookies: onlyA, wantPeek: "user-a", wantLoad: "user-a"},
		{name: "opened session at its end", opened: onlyA, advance: 8 * time.Hour, cookies: onlyA},
		{name: "opened chunks at their end", opened: bigChunks, advance: 8 * time.Hour, cookies: bigChunks},
		{name: "opened cache off", cacheOff: true, opened: onlyA, cookies: onlyA, wantLoad: "user-a"},
		{name: "opened cache off, chunks", cacheOff: true, opened: bigChunks, cookies: bigChunks, wantLoad: "user-big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cacheBytes int64
			if tt.cacheOff {
				cacheBytes = -1
			}
			f := newPeekCookies(t, cacheBytes)
			if tt.opened != nil {
				if _, err := f.store.Load(context.Background(), requestWith(tt.opened(f)...)); err != nil {
					t.Fatalf("Load before: %v", err)
				}
			}
			f.clock.Advance(tt.advance)
			r := requestWith(tt.cookies(f)...)

			peeked, ok := f.store.Peek(r) // first: Load opens and remembers what it finds
			if got := subjectOf(peeked, ok); got != tt.wantPeek || ok != (peeked != nil) {
				t.Errorf("Peek = %q, %v; want %q", got, ok, tt.wantPeek)
			}
			loaded, err := f.store.Load(context.Background(), r)
			if tt.wantLoad == "" {
				if !errors.Is(err, ErrNoSession) {
					t.Errorf("Load = %q, %v; want ErrNoSession", subjectOf(loaded, true), err)
				}
			} else if err != nil || loaded.Subject != tt.wantLoad {
				t.Errorf("Load = %q, %v; want %q", subjectOf(loaded, err == nil), err, tt.wantLoad)
			}
			if ok && peeked != loaded {
				t.Errorf("Peek returned another *Session than Load; want the one Load takes from the opened sessions")
			}
		})
	}
}

func noCookies(*peekCookies) []*http.Cookie   { return nil }
func onlyA(f *peekCookies) []*http.Cookie     { return []*http.Cookie{f.a} }
func onlyB(f *peekCookies) []*http.Cookie     { return []*http.Cookie{f.b} }
func bigChunks(f *peekCookies) []*http.Cookie { return f.big }

// subjectOf names the session a Peek or Load returned; "" when it returned none.
func subjectOf(s *Session, ok bool) string {
	if s == nil || !ok {
		return ""
	}
	return s.Subject
}

// peekReplica is replica b, which read sess from Redis just now, and replica a, which
// signed it in.
type peekReplica struct {
	a, b    *RedisStore
	clock   *testClock
	sess    *Session
	cookies []*http.Cookie
}

func TestRedisStorePeek(t *testing.T) {
	srv := redistest.Start(t)
	tests := []struct {
		name     string
		lifetime time.Duration // of the session; 0 means testSession's 8h
		then     func(t *testing.T, f *peekReplica)
		wantPeek bool
		wantLoad bool // Load serves the session
	}{
		{name: "read from redis just now", wantPeek: true, wantLoad: true},
		{name: "a millisecond before CacheTTL", then: advance(testCacheTTL - time.Millisecond), wantPeek: true, wantLoad: true},
		{name: "at CacheTTL: Load asks redis", then: advance(testCacheTTL), wantLoad: true},
		{name: "never read on this replica", then: func(t *testing.T, f *peekReplica) {
			f.b = newRedisStore(t, srv, f.clock)
		}, wantLoad: true},
		{name: "no cookie", then: func(_ *testing.T, f *peekReplica) { f.cookies = nil }},
		{name: "tampered cookie", then: func(_ *testing.T, f *peekReplica) {
			f.cookies = []*http.Cookie{{Name: DefaultCookieName, Value: tamper(f.cookies[0].Value)}}
		}},
		{name: "signed out here", then: func(_ *testing.T, f *peekReplica) {
			f.b.Clear(httptest.NewRecorder(), requestWith(f.cookies...))
		}},
		{name: "signed out on another replica, within CacheTTL as Load", then: func(_ *testing.T, f *peekReplica) {
			f.a.Clear(httptest.NewRecorder(), requestWith(f.cookies...))
		}, wantPeek: true, wantLoad: true},
		{name: "signed out on another replica, at CacheTTL", then: func(t *testing.T, f *peekReplica) {
			f.a.Clear(httptest.NewRecorder(), requestWith(f.cookies...))
			f.clock.Advance(testCacheTTL)
		}},
		{name: "sid revoked here", then: func(t *testing.T, f *peekReplica) { revoke(t, f.b, f.sess.SID) }},
		{name: "sid revoked on another replica, at CacheTTL", then: func(t *testing.T, f *peekReplica) {
			revoke(t, f.a, f.sess.SID)
			f.clock.Advance(testCacheTTL)
		}},
		{name: "session ended within CacheTTL", lifetime: 2 * time.Second, then: advance(2 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			f := &peekReplica{a: newRedisStore(t, srv, clock), b: newRedisStore(t, srv, clock), clock: clock}
			f.sess = redisSession(t, clock.Now())
			f.sess.SID = "sid-" + f.sess.ID // the rows share one redis: one session per sid
			if tt.lifetime > 0 {
				f.sess.ExpiresAt = clock.Now().Add(tt.lifetime)
			}
			f.cookies = saveTo(t, f.a, f.sess)
			if _, err := f.b.Load(context.Background(), requestWith(f.cookies...)); err != nil {
				t.Fatalf("Load on b: %v", err)
			}
			if tt.then != nil {
				tt.then(t, f)
			}
			r := requestWith(f.cookies...)
			peeked, ok := f.b.Peek(r) // first: Load makes the copy fresh again
			if ok != tt.wantPeek || ok != (peeked != nil) {
				t.Errorf("Peek = %v, %v; want ok %v and a session exactly when ok", peeked != nil, ok, tt.wantPeek)
			}
			loaded, err := f.b.Load(context.Background(), r)
			if (err == nil) != tt.wantLoad {
				t.Errorf("Load error = %v; want served %v", err, tt.wantLoad)
			}
			if ok && !reflect.DeepEqual(peeked, loaded) {
				t.Errorf("Peek = %+v; want Load's %+v", peeked, loaded)
			}
		})
	}
}

func advance(d time.Duration) func(*testing.T, *peekReplica) {
	return func(_ *testing.T, f *peekReplica) { f.clock.Advance(d) }
}

func revoke(t *testing.T, s *RedisStore, sid string) {
	t.Helper()
	if n, err := s.RevokeSID(t.Context(), sid); err != nil || n != 1 {
		t.Fatalf("RevokeSID = %d, %v; want 1 session", n, err)
	}
}

// While redis is down Load serves the last copy it read, past CacheTTL; Peek must not, so
// that the outage (and its warning, and its span) stays visible.
func TestRedisStorePeekWhileRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	s := newRedisStore(t, srv, clock)
	sess := redisSession(t, clock.Now())
	r := requestWith(saveTo(t, s, sess)...)
	srv.Stop()

	if got, ok := s.Peek(r); !ok || !reflect.DeepEqual(got, sess) {
		t.Errorf("Peek within CacheTTL with redis down = %q, %v; want the fresh copy", subjectOf(got, ok), ok)
	}
	clock.Advance(testCacheTTL)
	for i := range 2 { // the stale answer must not make the copy fresh again
		if got, ok := s.Peek(r); ok || got != nil {
			t.Errorf("Peek %d past CacheTTL with redis down = %v, %v; want nil, false", i, got != nil, ok)
		}
		if got, err := s.Load(context.Background(), r); err != nil || !reflect.DeepEqual(got, sess) {
			t.Errorf("Load %d past CacheTTL with redis down = %q, %v; want the stale copy", i, subjectOf(got, err == nil), err)
		}
	}
}
