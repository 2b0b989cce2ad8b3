package e2e

import (
	"net/http"
	"testing"
	"time"
)

// The auth-cache recipe of deploy/examples/ingress-nginx-auth-cache: NGINX caches /auth
// answers per cookie and host for 30s, but tokengate's X-Accel-Expires caps that at what the
// token has left, so a cached answer never hands the dashboard an expired token.
func TestAuthCacheNeverOutlivesTheToken(t *testing.T) {
	t.Parallel()
	const (
		lifetime  = 6 * time.Second
		margin    = time.Second
		streamFor = 8 * time.Second
		every     = 200 * time.Millisecond
	)
	s := newStack(t, stackOptions{Proxy: "nginx", Mode: "ingress-nginx", TokenLifetime: lifetime,
		SafetyMargin: margin, RefreshAhead: time.Second, CacheTTL: time.Minute})
	b := s.newBrowser()
	s.signIn(b, https(headlamp, "/"), "alice")
	mark, firstHit := s.tap.Mark(), len(s.dashboards[headlamp].Hits())

	requests := 0
	for start := time.Now(); time.Since(start) < streamFor; requests++ {
		page, err := b.Fetch(http.MethodGet, https(headlamp, "/api/v1/pods"), xhrHeaders)
		mustf(t, err, "request %d", requests)
		if page.Status != http.StatusOK {
			t.Fatalf("request %d got %d; want 200", requests, page.Status)
		}
		time.Sleep(every) // pacing the traffic, not waiting for an expiry
	}

	asked := len(s.tap.Since(mark))
	if asked >= requests/2 {
		t.Errorf("/auth was asked %d times for %d requests; want the cache to answer most of them", asked, requests)
	}
	if asked < 2 {
		t.Errorf("/auth was asked %d times over %s with %s tokens; the cache outlived a token", asked, streamFor, lifetime)
	}
	tokens := 0
	for _, h := range s.dashboards[headlamp].Hits()[firstHit:] {
		exp := verifyBearer(t, s.idp, h.Header.Get("Authorization")).Expiry()
		if !h.At.Before(exp) {
			t.Errorf("the dashboard received a token expired at %s at %s: a cached answer outlived it", exp.Format(time.RFC3339Nano), h.At.Format(time.RFC3339Nano))
		}
		tokens++
	}
	t.Logf("%d requests, %d reached /auth, %d reached the dashboard", requests, asked, tokens)
}
