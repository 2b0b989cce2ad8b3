package session

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/tokengate/tokengate/internal/redistest"
)

// storeWithKeys is a replica whose cookie.secrets are keys, the first sealing.
func storeWithKeys(t *testing.T, srv *redistest.Server, clock *testClock, keys ...[]byte) *RedisStore {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, ContextTimeoutEnabled: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	t.Cleanup(func() { rdb.Close() })
	s, err := NewRedisStore(rdb, newTestCodec(t, clock, keys...), RedisOptions{Timeout: 300 * time.Millisecond, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Rotating cookie.secrets: a new key goes first, one request per user follows, the old key is
// removed; the user is still signed in. The request re-seals both the cookie (in its answer,
// one Set-Cookie) and the session value in Redis.
func TestRedisKeyRotationSignsNobodyOut(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	oldKey, newKey := testKey(1), testKey(2)
	before := storeWithKeys(t, srv, clock, oldKey)
	sess := redisSession(t, clock.Now())
	cookies := saveTo(t, before, sess)
	if rec := httptest.NewRecorder(); before.ResealCookie(rec, requestWith(cookies...), sess) || len(rec.Result().Cookies()) != 0 {
		t.Fatal("ResealCookie with one key set a cookie; want none")
	}

	during := storeWithKeys(t, srv, clock, newKey, oldKey)
	loaded, err := during.Load(context.Background(), requestWith(cookies...))
	if err != nil {
		t.Fatalf("Load during the rotation: %v", err)
	}
	rec := httptest.NewRecorder()
	if !during.ResealCookie(rec, requestWith(cookies...), loaded) {
		t.Fatal("ResealCookie of a cookie sealed with the old key set nothing")
	}
	resealed := live(rec.Result().Cookies())
	if len(resealed) != 1 || resealed[0].Name != DefaultCookieName || !resealed[0].Secure || !resealed[0].HttpOnly {
		t.Fatalf("re-sealed cookies %v; want exactly one secure session cookie", resealed)
	}
	if rec := httptest.NewRecorder(); during.ResealCookie(rec, requestWith(resealed...), loaded) {
		t.Error("ResealCookie of a cookie sealed with the primary key set another")
	}

	after := storeWithKeys(t, srv, clock, newKey) // the old key is gone
	if _, err := after.Load(context.Background(), requestWith(resealed...)); err != nil {
		t.Errorf("Load after the old key was removed = %v; want the session", err)
	}
	if _, err := after.Load(context.Background(), requestWith(cookies...)); err == nil {
		t.Error("the cookie sealed with the removed key still opens")
	}
}
