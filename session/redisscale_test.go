package session

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/internal/secret"
)

// scaleSessions is how many sessions BenchmarkRedisMemoryPerSession signs in.
const scaleSessions = 100_000

// Entra-sized secrets: a refresh token of about 1.8 KB and an AKS access token with a few
// groups of about 2 KB (both vary with the tenant and the user's claims).
const (
	entraRefreshTokenBytes = 1800
	entraAccessTokenBytes  = 2000
)

// BenchmarkRedisMemoryPerSession signs in scaleSessions sessions (5 groups, an Entra-sized
// refresh token, a sid each) on a real redis-server, then shares one access token for each,
// and reports Redis's used_memory per session and per token. Run it once:
//
//	go test -run '^$' -bench RedisMemoryPerSession -benchtime 1x ./session
func BenchmarkRedisMemoryPerSession(b *testing.B) {
	srv := redistest.Start(b)
	clock := newTestClock()
	s := newRedisStore(b, srv, clock)
	sessions := make([]*Session, scaleSessions)
	for i := range sessions {
		sess := redisSession(b, clock.Now())
		sess.Groups = groupIDs(5)
		sess.RefreshToken = secret.String(randomText(entraRefreshTokenBytes))
		sess.SID = randomText(24)
		sessions[i] = sess
	}
	for b.Loop() {
		_, _ = srv.Do("FLUSHALL")
		base := usedMemory(b, srv)
		parallel(b, sessions, func(sess *Session) error {
			return s.put(b.Context(), sess, sess.ExpiresAt.Sub(clock.Now()), false)
		})
		withSessions := usedMemory(b, srv)
		parallel(b, sessions, func(sess *Session) error {
			tok := idp.Token{AccessToken: secret.String(randomText(entraAccessTokenBytes)), Expiry: clock.Now().Add(time.Hour)}
			return s.Set(b.Context(), sess, testScope, tok)
		})
		withTokens := usedMemory(b, srv)
		b.ReportMetric(float64(withSessions-base)/scaleSessions, "bytes/session")
		b.ReportMetric(float64(withTokens-withSessions)/scaleSessions, "bytes/token")
		b.ReportMetric(float64(withTokens-base)/(1<<20), "MiB-total")
	}
}

// parallel runs op for every session on 8 goroutines and fails on the first error.
func parallel(b *testing.B, sessions []*Session, op func(*Session) error) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < len(sessions); i += 8 {
				if err := op(sessions[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// usedMemory is INFO memory's used_memory in bytes.
func usedMemory(b *testing.B, srv *redistest.Server) int64 {
	b.Helper()
	info, err := srv.Do("INFO", "memory")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("INFO memory has no used_memory")
	return 0
}

// randomText is n characters of base64url, as tokens are.
func randomText(n int) string {
	raw := make([]byte, n*3/4+1)
	_, _ = rand.Read(raw)
	return base64.RawURLEncoding.EncodeToString(raw)[:n]
}
