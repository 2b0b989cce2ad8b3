package main

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/devidp"
)

// The whole product in one test: sign in through the proxy, the dashboard gets the AKS
// token, the cache answers without the provider, refresh-ahead and expiry refresh, sign-out.
func TestSignInAuthRefreshSignOut(t *testing.T) {
	h := newHarness(t, nil)
	h.signIn("alice")

	if got := h.idp.AuthorizeCalls(); got != 1 {
		t.Errorf("authorize calls = %d; want 1", got)
	}
	if got := h.idp.TokenCalls("authorization_code"); got != 1 {
		t.Errorf("code redemptions = %d; want 1", got)
	}
	first, claims := h.bearer()
	if claims["aud"] != config.AKSServerAppID {
		t.Errorf("aud = %v; want the AKS server app %s", claims["aud"], config.AKSServerAppID)
	}
	if claims["iss"] != h.idp.AccessTokenIssuer() || claims["ver"] != "1.0" {
		t.Errorf("iss, ver = %v, %v; want the v1 issuer %s and 1.0", claims["iss"], claims["ver"], h.idp.AccessTokenIssuer())
	}
	if got := h.upstream.Last().Get("X-Auth-Request-User"); got != "alice@contoso.example" {
		t.Errorf("X-Auth-Request-User = %q; want alice@contoso.example", got)
	}
	if got := h.upstream.Last().Get("X-Auth-Request-Email"); got != "alice@contoso.example" {
		t.Errorf("X-Auth-Request-Email = %q; want alice@contoso.example", got)
	}
	if got := h.upstream.Last().Get("X-Auth-Request-Groups"); got != "" {
		t.Errorf("X-Auth-Request-Groups = %q; want none unless headers.passGroups", got)
	}
	if got := h.upstream.Last().Get("Cookie"); got != "" {
		t.Errorf("dashboard received the session cookie: proxy must strip it")
	}

	// Cache hits: no provider call.
	for i := 0; i < 5; i++ {
		if page := h.authRequest(nil); page.Status != http.StatusOK {
			t.Fatalf("/auth = %d; want 200", page.Status)
		}
	}
	if got := h.idp.TokenCalls("refresh_token"); got != 0 {
		t.Fatalf("refreshes after cache hits = %d; want 0", got)
	}

	// Inside the refresh-ahead window: the cached token is served, one refresh runs behind.
	h.clock.Advance(testTokenLifetime - h.cfg.Token.SafetyMargin - h.cfg.Token.RefreshAhead/2)
	page := h.authRequest(nil)
	if page.Status != http.StatusOK || page.Header.Get("Authorization") != "Bearer "+first {
		t.Fatalf("refresh-ahead answer = %d, same token %v; want 200 with the cached token", page.Status, page.Header.Get("Authorization") == "Bearer "+first)
	}
	waitFor(t, "background refresh", func() bool { return h.idp.TokenCalls("refresh_token") == 1 })
	waitFor(t, "refreshed token in cache", func() bool {
		return h.authRequest(nil).Header.Get("Authorization") != "Bearer "+first
	})

	// Past expiry: a synchronous refresh, and the dashboard gets a token that is not expired.
	h.clock.Advance(testTokenLifetime + time.Minute)
	if _, err := h.browser.Navigate(h.dashboard.URL + "/"); err != nil {
		t.Fatal(err)
	}
	_, claims = h.bearer()
	if exp, _ := claims["exp"].(float64); time.Unix(int64(exp), 0).Before(h.clock.Now()) {
		t.Errorf("dashboard got an expired token (exp %v, now %v)", exp, h.clock.Now())
	}
	if got := h.idp.TokenCalls("refresh_token"); got != 2 {
		t.Errorf("refreshes = %d; want 2 (one ahead, one after expiry)", got)
	}

	// Sign-out: through the provider's logout back to the dashboard, which asks to sign in.
	page, err := h.browser.Navigate(h.auth.URL + "/oauth2/sign_out?rd=" + url.QueryEscape(h.dashboard.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(h.browser.Hops, " "), "/oauth2/v2.0/logout") {
		t.Errorf("sign-out did not visit the provider's end_session_endpoint: %v", h.browser.Hops)
	}
	if !strings.Contains(string(page.Body), `name="password"`) {
		t.Errorf("after sign-out the dashboard did not ask to sign in again: %d %s", page.Status, page.URL)
	}
	if page := h.authRequest(nil); page.Status != http.StatusUnauthorized {
		t.Errorf("/auth after sign-out = %d; want 401", page.Status)
	}
}

// The answers owed to each proxy (docs/ARCHITECTURE.md, "Answers owed to each proxy").
func TestProxyAnswers(t *testing.T) {
	h := newHarness(t, nil)
	dashHost := strings.TrimPrefix(h.dashboard.URL, "https://")
	nginx := http.Header{
		"X-Original-Url":    {h.dashboard.URL + "/ui"},
		"X-Original-Method": {"GET"},
		"X-Sent-From":       {"nginx-ingress-controller"},
		"Accept":            {"text/html"},
	}
	navigation := http.Header{"Accept": {"text/html"}, "Sec-Fetch-Mode": {"navigate"}}
	xhr := http.Header{"Accept": {"application/json"}, "Sec-Fetch-Mode": {"cors"}}
	conflict := http.Header{"X-Original-Url": {"https://grafana.example.test/"}, "X-Forwarded-Host": {dashHost}}

	signedOut := []struct {
		name       string
		header     http.Header
		wantStatus int
		wantStart  bool
	}{
		{name: "ingress-nginx gets 401 and redirects itself", header: nginx, wantStatus: http.StatusUnauthorized},
		{name: "traefik navigation is sent to sign in", header: navigation, wantStatus: http.StatusFound, wantStart: true},
		{name: "traefik xhr gets 401", header: xhr, wantStatus: http.StatusUnauthorized},
		{name: "conflicting hosts are refused", header: conflict, wantStatus: http.StatusBadRequest},
	}
	for _, tc := range signedOut {
		t.Run("signed out/"+tc.name, func(t *testing.T) {
			page := h.authRequest(tc.header)
			if page.Status != tc.wantStatus {
				t.Fatalf("status = %d; want %d (%s)", page.Status, tc.wantStatus, page.Body)
			}
			loc := page.Header.Get("Location")
			if tc.wantStart {
				want := h.auth.URL + "/oauth2/start?rd=" + url.QueryEscape(h.dashboard.URL+"/api/v1/namespaces")
				if loc != want {
					t.Errorf("Location = %q; want %q", loc, want)
				}
			} else if loc != "" {
				t.Errorf("unexpected Location %q", loc)
			}
			if page.Header.Get("Authorization") != "" {
				t.Error("a refused answer carried Authorization")
			}
		})
	}

	h.signIn("bob")
	for _, tc := range []struct {
		name   string
		header http.Header
	}{
		{name: "ingress-nginx", header: nginx},
		{name: "traefik", header: navigation},
	} {
		t.Run("signed in/"+tc.name, func(t *testing.T) {
			page := h.authRequest(tc.header)
			if page.Status != http.StatusOK || !strings.HasPrefix(page.Header.Get("Authorization"), "Bearer ") {
				t.Fatalf("status = %d, Authorization present %v; want 200 with a bearer token", page.Status, page.Header.Get("Authorization") != "")
			}
		})
	}
}

func TestConcurrentAuthAfterExpiryRefreshesOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.signIn("alice")
	h.clock.Advance(testTokenLifetime + time.Minute)

	const n = 32
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.authRequest(nil).Status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("request %d: status %d; want 200", i, s)
		}
	}
	if got := h.idp.TokenCalls("refresh_token"); got != 1 {
		t.Errorf("refresh calls = %d; want exactly 1 for %d concurrent requests", got, n)
	}
}

func TestProviderOutage(t *testing.T) {
	h := newHarness(t, nil)
	h.signIn("alice")
	token := h.authRequest(nil).Header.Get("Authorization")

	// Past the safety margin but not expired: the provider is down, the token still works.
	h.clock.Advance(testTokenLifetime - h.cfg.Token.SafetyMargin/2)
	h.idp.SetUnavailable(true)
	page := h.authRequest(nil)
	if page.Status != http.StatusOK || page.Header.Get("Authorization") != token {
		t.Fatalf("outage with a valid token: status %d, same token %v; want 200 with it", page.Status, page.Header.Get("Authorization") == token)
	}
	// Expired and the provider still down: 503, and the session survives the outage.
	h.clock.Advance(h.cfg.Token.SafetyMargin)
	if page := h.authRequest(nil); page.Status != http.StatusServiceUnavailable {
		t.Fatalf("outage without a valid token: status %d; want 503", page.Status)
	}
	h.idp.SetUnavailable(false)
	if page := h.authRequest(nil); page.Status != http.StatusOK {
		t.Fatalf("after the outage: status %d; want 200", page.Status)
	}
}

func TestRevokedRefreshTokenEndsSession(t *testing.T) {
	h := newHarness(t, nil)
	h.signIn("alice")
	h.idp.RevokeUser("alice")
	h.clock.Advance(testTokenLifetime + time.Minute)
	page := h.authRequest(nil)
	if page.Status != http.StatusUnauthorized {
		t.Fatalf("status = %d; want 401 after invalid_grant", page.Status)
	}
	if !clearsCookie(page.Header, h.cfg.Cookie.Name) {
		t.Errorf("401 after invalid_grant did not clear the session cookie: %v", page.Header.Values("Set-Cookie"))
	}
}

func TestRotatedRefreshTokenIsWrittenBack(t *testing.T) {
	h := newHarness(t, nil)
	h.signIn("alice")
	if page := h.authRequest(nil); len(page.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("a cache hit wrote a cookie: %v", page.Header.Values("Set-Cookie"))
	}
	h.clock.Advance(testTokenLifetime + time.Minute)
	page := h.authRequest(nil)
	if page.Status != http.StatusOK {
		t.Fatalf("status = %d; want 200", page.Status)
	}
	cookies := page.Header.Values("Set-Cookie")
	if len(cookies) != 1 || !strings.HasPrefix(cookies[0], h.cfg.Cookie.Name+"=") {
		t.Fatalf("Set-Cookie = %v; want exactly one %s cookie with the rotated refresh token", cookies, h.cfg.Cookie.Name)
	}
	// The browser now holds the new cookie; the next answer needs no rewrite.
	if page := h.authRequest(nil); len(page.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("cookie rewritten again: %v", page.Header.Values("Set-Cookie"))
	}
}

// A callback this browser did not start is a login-CSRF attempt or a stale tab: 403, no
// call to the provider, and no word of what the query claims the provider said, which anyone
// can write into a link.
func TestCallbackRefusesBeforeCallingProvider(t *testing.T) {
	h := newHarness(t, nil)
	state := strings.Repeat("A", 43)
	declined := "error=access_denied&error_description=" + url.QueryEscape("AADSTS65004: User declined to consent.\r\nTrace ID: x")
	tests := []struct {
		name     string
		query    string
		wantText string
	}{
		{name: "state without this browser's cookie", query: "code=abc&state=" + state, wantText: "not started in this browser"},
		{name: "malformed state", query: "code=abc&state=short", wantText: "state"},
		{name: "no state", query: "code=abc", wantText: "state"},
		{name: "provider error without the cookie", query: declined + "&state=" + state, wantText: "not started in this browser"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := h.browser.Navigate(h.auth.URL + "/oauth2/callback?" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if page.Status != http.StatusForbidden || !strings.Contains(string(page.Body), tc.wantText) {
				t.Errorf("got %d %q; want 403 containing %q", page.Status, page.Body, tc.wantText)
			}
			if strings.Contains(string(page.Body), "AADSTS65004") {
				t.Errorf("page shows a provider error this browser never received: %s", page.Body)
			}
		})
	}
	if got := h.idp.TokenCalls("authorization_code"); got != 0 {
		t.Errorf("code redemptions = %d; want 0: a forged callback must cost no provider call", got)
	}

	// The browser's own sign-in: the provider's first line is shown, escaped, without trace.
	start, err := h.browser.Fetch(http.MethodGet, h.auth.URL+"/oauth2/start?rd=/", nil)
	if err != nil {
		t.Fatal(err)
	}
	authorize, _ := url.Parse(start.Header.Get("Location"))
	own := "error=access_denied&error_description=" + url.QueryEscape("AADSTS65004: User <b>declined</b> to consent.\r\nTrace ID: x") +
		"&state=" + authorize.Query().Get("state")
	page, err := h.browser.Navigate(h.auth.URL + "/oauth2/callback?" + own)
	if err != nil {
		t.Fatal(err)
	}
	body := string(page.Body)
	if page.Status != http.StatusForbidden || !strings.Contains(body, "AADSTS65004: User &lt;b&gt;declined&lt;/b&gt; to consent.") ||
		strings.Contains(body, "Trace ID") || !strings.Contains(body, "Sign in again") {
		t.Errorf("own sign-in refused = %d %s; want 403 with the escaped first line and a sign-in link", page.Status, body)
	}

	// A code the provider refuses: its screened description on this browser's page only.
	start, err = h.browser.Fetch(http.MethodGet, h.auth.URL+"/oauth2/start?rd=/", nil)
	if err != nil {
		t.Fatal(err)
	}
	authorize, _ = url.Parse(start.Header.Get("Location"))
	page, err = h.browser.Navigate(h.auth.URL + "/oauth2/callback?code=bogus-code-value&state=" + authorize.Query().Get("state"))
	if err != nil {
		t.Fatal(err)
	}
	body = string(page.Body)
	if page.Status != http.StatusBadRequest || !strings.Contains(body, "AADSTS70000: The provided value for the &#39;code&#39; parameter is not valid.") {
		t.Errorf("refused code = %d %s; want 400 with the provider's AADSTS70000 line", page.Status, body)
	}
	if logs := h.logs.String(); strings.Contains(logs, "parameter is not valid") || !strings.Contains(logs, "AADSTS70000") {
		t.Errorf("logs hold the provider's description, or not its AADSTS number:\n%s", logs)
	}
}

func TestUserinfoNeverShowsTokens(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Headers.PassGroups = true })
	h.signIn("alice")
	token, _ := h.bearer()
	if got := h.upstream.Last().Get("X-Auth-Request-Groups"); got != devidp.GroupPlatformAdmins {
		t.Errorf("X-Auth-Request-Groups = %q; want %q", got, devidp.GroupPlatformAdmins)
	}
	page, err := h.browser.Fetch(http.MethodGet, h.auth.URL+"/oauth2/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	body := string(page.Body)
	if page.Status != http.StatusOK || !strings.Contains(body, config.AKSServerAppID) || !strings.Contains(body, devidp.GroupPlatformAdmins) {
		t.Fatalf("userinfo = %d %s; want the user, groups and token audience", page.Status, body)
	}
	if strings.Contains(body, token) || strings.Contains(body, token[len(token)-20:]) {
		t.Fatal("userinfo contains the access token")
	}
}

func clearsCookie(h http.Header, name string) bool {
	for _, c := range h.Values("Set-Cookie") {
		if strings.HasPrefix(c, name+"=") && (strings.Contains(c, "Max-Age=0") || strings.Contains(c, "Max-Age=-1")) {
			return true
		}
	}
	return false
}

func TestAuthCacheHintNeverOutlivesToken(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.ForwardAuth.CacheTTL = 30 * time.Second })
	h.signIn("alice")
	if got := h.authRequest(nil).Header.Get("X-Accel-Expires"); got != "30" {
		t.Errorf("fresh token: X-Accel-Expires = %q; want 30", got)
	}
	// 10 s before the cache itself stops serving the token, the hint is at most 10 s. The
	// token lives until its own exp (whole seconds), which may be sooner than expires_in.
	_, claims := h.bearer()
	exp := time.Unix(int64(claims["exp"].(float64)), 0)
	h.clock.Advance(exp.Sub(h.clock.Now()) - h.cfg.Token.SafetyMargin - 10*time.Second)
	if got := h.authRequest(nil).Header.Get("X-Accel-Expires"); got != "10" {
		t.Errorf("near expiry: X-Accel-Expires = %q; want 10", got)
	}

	plain := newHarness(t, nil)
	plain.signIn("bob")
	if got := plain.authRequest(nil).Header.Values("X-Accel-Expires"); len(got) != 0 {
		t.Errorf("cacheTTL 0: X-Accel-Expires = %v; want no header", got)
	}
}
