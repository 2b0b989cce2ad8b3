package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/internal/secret"
)

// A rotation written from an /auth answer must be a single cookie: ingress-nginx relays only
// the first Set-Cookie of an auth answer.
func TestSaveRotatedWritesOnlySingleCookies(t *testing.T) {
	clock := newTestClock()
	store := newTestStore(t, clock)
	tests := []struct {
		name      string
		sess      *Session
		wantSaved bool
	}{
		{name: "fits in one cookie", sess: testSession(clock.Now()), wantSaved: true},
		{name: "needs chunks", sess: bigSession(clock.Now()), wantSaved: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			saved, err := store.SaveRotated(w, requestWith(), tc.sess)
			if err != nil {
				t.Fatal(err)
			}
			cookies := w.Result().Cookies()
			if saved != tc.wantSaved || (saved && len(cookies) != 1) || (!saved && len(cookies) != 0) {
				t.Errorf("saved = %v with %d cookies; want saved %v and exactly one cookie or none", saved, len(cookies), tc.wantSaved)
			}
		})
	}
}

// The Redis store saves a rotation from /auth for the session the request's cookie names,
// without a Set-Cookie, and declines any other: a new cookie would not reach the browser
// behind ingress-nginx.
func TestRedisSaveRotatedWritesNoCookie(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	store := newRedisStore(t, srv, clock)
	sess := redisSession(t, clock.Now())
	cookies := saveTo(t, store, sess)
	other := redisSession(t, clock.Now())
	tests := []struct {
		name      string
		carries   []*http.Cookie
		sess      *Session
		wantSaved bool
	}{
		{name: "the request's session", carries: cookies, sess: sess, wantSaved: true},
		{name: "no cookie", sess: sess},
		{name: "another session", carries: cookies, sess: other},
	}
	stored := sess.RefreshToken // what Redis holds for the request's session
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rotated := *tc.sess
			rotated.RefreshToken = secret.String("rotated-" + tc.name)
			rec := httptest.NewRecorder()
			saved, err := store.SaveRotated(rec, requestWith(tc.carries...), &rotated)
			if err != nil || saved != tc.wantSaved {
				t.Fatalf("SaveRotated = %v, %v; want %v, nil", saved, err, tc.wantSaved)
			}
			if n := len(rec.Result().Cookies()); n != 0 {
				t.Errorf("SaveRotated set %d cookies; want none", n)
			}
			// Another replica reads Redis, not this one's copy in memory.
			got, err := newRedisStore(t, srv, clock).Load(context.Background(), requestWith(cookies...))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tc.wantSaved {
				stored = rotated.RefreshToken
			}
			if got.RefreshToken != stored {
				t.Errorf("Redis holds refresh token %q; want %q", got.RefreshToken.Reveal(), stored.Reveal())
			}
		})
	}
}

// The cookie store's cookie is sealed again at every save, never by ResealCookie, even when
// an older key opened it.
func TestCookieStoreResealCookieWritesNothing(t *testing.T) {
	clock := newTestClock()
	before := NewCookieStore(newTestCodec(t, clock, testKey(1)), CookieOptions{Domain: ".example.com"})
	during := NewCookieStore(newTestCodec(t, clock, testKey(2), testKey(1)), CookieOptions{Domain: ".example.com"})
	sess := testSession(clock.Now())
	r := requestWith(save(t, before, sess)...)
	loaded, err := during.Load(context.Background(), r)
	if err != nil {
		t.Fatalf("Load with the old key second: %v", err)
	}
	rec := httptest.NewRecorder()
	if during.ResealCookie(rec, r, loaded) || len(rec.Result().Cookies()) != 0 {
		t.Errorf("ResealCookie wrote %d cookies; want none and false", len(rec.Result().Cookies()))
	}
}
