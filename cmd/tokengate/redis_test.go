package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/forward"
	"github.com/tokengate/tokengate/internal/secret"
	"github.com/tokengate/tokengate/session"
)

// Sign in on replica A, /auth on replica B: B finds the session and A's token in Redis and
// hands out the same token without a refresh. The cookie holds no token.
func TestRedisSignInOnOneReplicaAuthOnAnother(t *testing.T) {
	c := newRedisCluster(t, 2, false)
	c.signIn("alice")
	onA := c.wantStatus("after sign-in", 0, http.StatusOK).Header.Get("Authorization")
	onB := c.wantStatus("on the other replica", 1, http.StatusOK).Header.Get("Authorization")
	if onA == "" || onA != onB {
		t.Errorf("replica B sent another token than A (or none); want A's shared token")
	}
	if got := c.idp.TokenCalls("refresh_token"); got != 0 {
		t.Errorf("refreshes = %d; want 0: B takes A's token from Redis", got)
	}
	for _, ck := range c.cookies() {
		if ck.Name == c.cfg.Cookie.Name && len(ck.Value) > 120 {
			t.Errorf("session cookie is %d bytes; want only a sealed session id", len(ck.Value))
		}
	}
	if dump := c.redis.Dump(); strings.Contains(dump, strings.TrimPrefix(onA, "Bearer ")) {
		t.Error("redis holds the access token in clear text")
	}
	// Every replica reports the live sessions of the shared store.
	resp, err := c.replicas[1].srv.Client().Get(c.replicas[1].srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\ntokengate_sessions_active 1\n") {
		t.Errorf("/metrics of replica B lacks tokengate_sessions_active 1")
	}
}

// After expiry, concurrent /auth on both replicas refresh exactly once, again and again,
// with a provider that revokes the whole sign-in if one refresh token is spent twice, in
// the foreground (expired) and in the background (refresh-ahead window).
func TestRedisConcurrentRefreshOnceWithRotation(t *testing.T) {
	c := newRedisCluster(t, 2, true)
	c.signIn("alice")
	c.wantStatus("on B before any refresh", 1, http.StatusOK)
	ahead := testTokenLifetime - c.cfg.Token.SafetyMargin - c.cfg.Token.RefreshAhead/2
	for round := 1; round <= 4; round++ {
		if round%2 == 1 {
			c.clock.Advance(testTokenLifetime) // expired: every caller waits for one refresh
		} else {
			c.clock.Advance(ahead) // refresh-ahead: served at once, refreshed behind
		}
		c.hammer(t, 16)
		waitFor(t, "the refresh of this round", func() bool { return c.idp.TokenCalls("refresh_token") >= round })
		// Both replicas now agree on the new token, which no further round refreshes.
		c.hammer(t, 4)
		if got := c.idp.TokenCalls("refresh_token"); got != round {
			t.Fatalf("round %d: %d refresh calls in all; want exactly %d (one per round, across replicas)", round, got, round)
		}
	}
	if got := c.idp.RefreshTokenReuses(); got != 0 {
		t.Fatalf("the provider saw %d refresh tokens spent twice; want 0", got)
	}
	c.clock.Advance(testTokenLifetime)
	c.wantStatus("after all rounds, on A", 0, http.StatusOK)
	c.wantStatus("after all rounds, on B", 1, http.StatusOK)
}

// hammer sends n concurrent /auth to each replica and fails on any answer but 200.
func (c *redisCluster) hammer(t *testing.T, n int) {
	t.Helper()
	var wg sync.WaitGroup
	statuses := make(chan int, n*len(c.replicas))
	for i := range n * len(c.replicas) {
		wg.Go(func() { statuses <- c.auth(i % len(c.replicas)).Status })
	}
	wg.Wait()
	close(statuses)
	failed := 0
	for s := range statuses {
		if s != http.StatusOK {
			t.Errorf("concurrent /auth = %d; want 200", s)
			failed++
		}
	}
	if failed > 0 {
		logs := c.logs.String()
		t.Logf("end of the replicas' log:\n%s", logs[max(0, len(logs)-4000):])
	}
}

// Sign-out on A revokes: the old cookie, replayed, gets 401 on A at once and on B within
// redis.sessionCacheTTL.
func TestRedisSignOutRevokesOnEveryReplica(t *testing.T) {
	c := newRedisCluster(t, 2, false)
	c.signIn("alice")
	stolen := c.cookies()
	c.wantStatus("before sign-out", 1, http.StatusOK)

	page, err := c.browser.Fetch(http.MethodGet, c.replicas[0].srv.URL+"/oauth2/sign_out", nil)
	if err != nil || page.Status != http.StatusFound {
		t.Fatalf("sign-out = %v, %v; want 302", page, err)
	}
	if got := c.authWith(0, stolen).Status; got != http.StatusUnauthorized {
		t.Errorf("replayed cookie on A after sign-out = %d; want 401 at once", got)
	}
	if got := c.authWith(1, stolen).Status; got != http.StatusOK {
		t.Errorf("replayed cookie on B inside the bound = %d; want 200 (its copy is fresh)", got)
	}
	c.clock.Advance(testCacheTTL)
	if got := c.authWith(1, stolen).Status; got != http.StatusUnauthorized {
		t.Errorf("replayed cookie on B after %s = %d; want 401", testCacheTTL, got)
	}
	// Nothing of the session stays: its tokens, refresh state, sid index and gauge entry.
	if keys, err := c.redis.Do("KEYS", "*"); err != nil || keys != "" {
		t.Errorf("redis keys after sign-out: %q (%v); want none", keys, err)
	}
}

// Entra's front-channel logout (no cookies, just the sid) ends the session on all replicas.
func TestRedisFrontChannelLogout(t *testing.T) {
	c := newRedisCluster(t, 2, false)
	c.signIn("alice")
	sid := c.session().SID
	if sid == "" {
		t.Fatal("session has no sid; the id_token should carry one")
	}
	c.wantStatus("before logout", 1, http.StatusOK)
	tests := []struct {
		name   string
		query  string
		status int
	}{
		{name: "missing sid", query: "", status: http.StatusBadRequest},
		{name: "unknown sid answers like a known one", query: "?sid=00000000-0000-0000-0000-000000000000", status: http.StatusOK},
		{name: "the user's sid", query: "?sid=" + url.QueryEscape(sid), status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := c.get(1, "/oauth2/frontchannel_logout"+tt.query)
			if page.Status != tt.status {
				t.Fatalf("status = %d %s; want %d", page.Status, page.Body, tt.status)
			}
			if page.Status == http.StatusOK && (len(page.Body) != 0 || page.Header.Get("Cache-Control") != "no-store") {
				t.Errorf("body %q, Cache-Control %q; want empty and no-store", page.Body, page.Header.Get("Cache-Control"))
			}
		})
	}
	c.clock.Advance(testCacheTTL)
	c.wantStatus("after front-channel logout", 0, http.StatusUnauthorized)
	c.wantStatus("after front-channel logout", 1, http.StatusUnauthorized)
}

// With the cookie store there is nothing to end by sid: 200 for Entra, a note for the operator.
func TestFrontChannelLogoutWithCookieStore(t *testing.T) {
	h := newHarness(t, nil)
	resp, err := h.auth.Client().Get(h.auth.URL + "/oauth2/frontchannel_logout?sid=abc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d; want 200", resp.StatusCode)
	}
	if !strings.Contains(h.logs.String(), "front-channel logout needs session.store redis") {
		t.Error("no log line tells the operator that front-channel logout needs the Redis store")
	}
}

// Redis stopped mid-run: tokens still valid in memory keep being served, the rest is 503
// (never a sign-in loop), readiness turns false and liveness stays true; when Redis is back
// everything works again without a restart.
func TestRedisOutageAndRecovery(t *testing.T) {
	c := newRedisCluster(t, 2, false)
	c.signIn("alice")
	c.wantStatus("before the outage", 0, http.StatusOK)
	c.redis.Save()
	c.redis.Stop()
	cold := len(c.replicas)
	c.addReplica() // started during the outage: knows nothing

	c.clock.Advance(testCacheTTL + time.Second) // the in-memory session is no longer fresh
	c.wantStatus("outage, token valid in memory", 0, http.StatusOK)
	page := c.wantStatus("outage, nothing in memory", cold, http.StatusServiceUnavailable)
	if !strings.Contains(string(page.Body), "session store unavailable") {
		t.Errorf("503 reason %q; want it to name the session store", page.Body)
	}
	if got := c.get(0, "/readyz").Status; got != http.StatusServiceUnavailable {
		t.Errorf("readyz during the outage = %d; want 503", got)
	}
	if got := c.get(0, "/healthz").Status; got != http.StatusOK {
		t.Errorf("healthz during the outage = %d; want 200", got)
	}
	c.clock.Advance(testTokenLifetime) // the token in memory has expired too
	c.wantStatus("outage, token expired", 0, http.StatusServiceUnavailable)
	if got := c.idp.TokenCalls("refresh_token"); got != 0 {
		t.Errorf("%d refreshes during the outage; want 0 (a rotated token could not be stored)", got)
	}

	c.redis.Restart()
	c.wantStatus("after recovery", 0, http.StatusOK)
	c.wantStatus("after recovery, the replica started during the outage", cold, http.StatusOK)
	if got := c.get(cold, "/readyz").Status; got != http.StatusOK {
		t.Errorf("readyz after recovery = %d; want 200", got)
	}
}

// Started while Redis is down: alive, not ready, and ready as soon as Redis answers.
func TestRedisDownAtStart(t *testing.T) {
	c := newRedisCluster(t, 1, false)
	c.redis.Stop()
	late := len(c.replicas)
	c.addReplica()
	if got := c.get(late, "/healthz").Status; got != http.StatusOK {
		t.Errorf("healthz = %d; want 200", got)
	}
	if got := c.get(late, "/readyz").Status; got != http.StatusServiceUnavailable {
		t.Errorf("readyz with redis down = %d; want 503", got)
	}
	c.redis.Restart()
	if got := c.get(late, "/readyz").Status; got != http.StatusOK {
		t.Errorf("readyz once redis answers = %d; want 200", got)
	}
}

// Credentials Redis refuses stop the start with an error that names the keys to fix, and
// /readyz of a running replica says so once Redis starts refusing them: waiting on an
// "unreachable" Redis would never fix a wrong password.
func TestRedisAuthRefusedFailsFast(t *testing.T) {
	c := newRedisCluster(t, 1, false)
	// On one connection: set the password, then drop every other connection (those
	// already authenticated would stay so); the replica's next ones are refused.
	rdb := redis.NewClient(&redis.Options{Addr: c.redis.Addr()})
	defer rdb.Close()
	admin := rdb.Conn()
	defer admin.Close()
	if err := admin.ConfigSet(t.Context(), "requirepass", "right-password-7c1e").Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(t.Context(), "CLIENT", "KILL", "TYPE", "normal").Err(); err != nil {
		t.Fatal(err)
	}
	if page := c.get(0, "/readyz"); page.Status != http.StatusServiceUnavailable || !strings.Contains(string(page.Body), "redis.password") {
		t.Errorf("readyz of a running replica after the password changed = %d %q; want 503 naming redis.password", page.Status, page.Body)
	}
	for _, password := range []string{"", "wrong-password"} {
		cfg := *c.cfg
		cfg.Redis.Password = secret.String(password)
		_, err := newAppWith(&cfg, slog.New(slog.DiscardHandler), c.clock.Now, &http.Client{Timeout: time.Second}, nil)
		if !errors.Is(err, errUsage) || !errors.Is(err, session.ErrStoreAuth) || !strings.Contains(err.Error(), "redis.password") {
			t.Errorf("start with password %q = %v; want a usage error naming redis.password", password, err)
		}
		if err != nil && strings.Contains(err.Error(), "right-password") {
			t.Errorf("start error reveals the password: %v", err)
		}
	}
}

// Rotating cookie.secrets with the Redis store: the new key goes first, each user makes one
// request, the old key is removed, and the user is still signed in. The one request answers
// with one Set-Cookie sealed with the new key; the next carries none.
func TestRedisKeyRotationKeepsUsersSignedIn(t *testing.T) {
	c, oldCookies, newKey := rotatingKeys(t)
	during := len(c.replicas)
	c.addReplica()
	page := c.wantStatus("during the rotation", during, http.StatusOK)
	if n := len(page.Header.Values("Set-Cookie")); n != 1 {
		t.Fatalf("/auth with a cookie sealed with the old key set %d cookies; want exactly 1", n)
	}
	resealed := (&http.Response{Header: page.Header}).Cookies()
	if again := c.authWith(during, resealed); again.Status != http.StatusOK || len(again.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("/auth with the re-sealed cookie = %d with %d Set-Cookie; want 200 and none", again.Status, len(again.Header.Values("Set-Cookie")))
	}
	c.cfg.Cookie.Secrets = []secret.String{newKey}
	after := len(c.replicas)
	c.addReplica()
	if got := c.authWith(after, resealed).Status; got != http.StatusOK {
		t.Errorf("/auth after the old key was removed = %d; want 200: the user stays signed in", got)
	}
	if got := c.authWith(after, oldCookies).Status; got != http.StatusUnauthorized {
		t.Errorf("/auth with a cookie sealed with the removed key = %d; want 401", got)
	}
}

// Behind Caddy (forwardAuth.mode caddy), which drops a 200's headers, a page navigation whose
// cookie an older key opened is sent back to the same page with the re-sealed cookie. An API
// call or a form post is answered 200 (its Set-Cookie is lost, which is harmless), and a
// second navigation within a minute is not redirected again, so a browser that does not keep
// the cookie never loops.
func TestRedisKeyRotationRedirectsCaddyNavigations(t *testing.T) {
	c, oldCookies, _ := rotatingKeys(t)
	c.cfg.ForwardAuth.Mode = forward.ModeCaddy
	i := len(c.replicas)
	c.addReplica()
	page := http.Header{"Accept": {"text/html"}, "Sec-Fetch-Mode": {"navigate"}}
	dashboard := c.dashboard.URL + "/ui/?tab=pods"

	if got := c.authAs(i, oldCookies, "POST", "/ui/", page); got.Status != http.StatusOK {
		t.Errorf("form post with the old cookie = %d; want 200, never a redirect that drops the body", got.Status)
	}
	if got := c.authAs(i, oldCookies, "GET", "/api/v1/pods", http.Header{"Accept": {"application/json"}}); got.Status != http.StatusOK {
		t.Errorf("API call with the old cookie = %d; want 200", got.Status)
	}
	nav := c.authAs(i, oldCookies, "GET", "/ui/?tab=pods", page)
	if nav.Status != http.StatusFound || nav.Header.Get("Location") != dashboard || len(nav.Header.Values("Set-Cookie")) != 1 {
		t.Fatalf("navigation with the old cookie = %d Location %q with %d Set-Cookie; want 302 to %s with one",
			nav.Status, nav.Header.Get("Location"), len(nav.Header.Values("Set-Cookie")), dashboard)
	}
	if got := c.authWith(i, (&http.Response{Header: nav.Header}).Cookies()); got.Status != http.StatusOK || len(got.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("/auth with the re-sealed cookie = %d with %d Set-Cookie; want 200 and none", got.Status, len(got.Header.Values("Set-Cookie")))
	}
	if again := c.authAs(i, oldCookies, "GET", "/ui/", page); again.Status != http.StatusOK {
		t.Errorf("second navigation with the old cookie within a minute = %d; want 200, not another redirect", again.Status)
	}
}

// rotatingKeys signs alice in on one replica, then puts a new primary cookie key before the
// old one for the replicas started next, as the first step of a key rotation. It returns
// alice's cookies, sealed with the old key, and the new key.
func rotatingKeys(t *testing.T) (*redisCluster, []*http.Cookie, secret.String) {
	c := newRedisCluster(t, 1, false)
	c.signIn("alice")
	oldCookies := c.cookies()
	newKey := secret.String(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	c.cfg.Cookie.Secrets = []secret.String{newKey, c.cfg.Cookie.Secrets[0]}
	return c, oldCookies, newKey
}
