package session

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
)

// The active-sessions gauge counts live sessions: ended and signed-out ones drop out.
func TestRedisStoreActiveSessions(t *testing.T) {
	srv := redistest.Start(t)
	clock := newTestClock()
	s := newRedisStore(t, srv, clock)
	count := func() int64 {
		t.Helper()
		n, err := s.ActiveSessions(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	short := redisSession(t, clock.Now())
	short.ExpiresAt = clock.Now().Add(time.Hour)
	long := redisSession(t, clock.Now())
	saveTo(t, s, short)
	longCookies := saveTo(t, s, long)
	if got := count(); got != 2 {
		t.Fatalf("active after two sign-ins = %d; want 2", got)
	}
	saveTo(t, s, long, longCookies...) // a rotation rewrites the session: still one
	if got := count(); got != 2 {
		t.Fatalf("active after a rewrite = %d; want 2", got)
	}
	clock.Advance(time.Hour + time.Second)
	if got := count(); got != 1 {
		t.Fatalf("active after one session ended = %d; want 1", got)
	}
	s.Clear(httptest.NewRecorder(), requestWith(longCookies...))
	if got := count(); got != 0 {
		t.Fatalf("active after sign-out = %d; want 0", got)
	}
}
