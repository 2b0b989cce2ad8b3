package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/redistest"
)

// tokengatePage marks tokengate's own HTML error page (handlers/pages.go).
const tokengatePage = "· tokengate</title>"

// navigation is what a browser sends for a page load.
var navigation = http.Header{"Accept": {"text/html"}, "Sec-Fetch-Mode": {"navigate"}}

// TestWhatTheUserSees asserts the README's "/auth answer → what the user sees" table, row
// by row, through each real proxy: what tokengate answered /auth (at the tap) and what the
// browser got. ingress-nginx's auth_request passes only 401 and 403 on (and turns 401 into
// its auth-signin redirect); every other status becomes nginx's own 500 page. Caddy hands
// tokengate's answer, page included, to the browser.
func TestWhatTheUserSees(t *testing.T) {
	t.Parallel()
	const (
		lifetime = 3 * time.Second // the IdP-down row waits for the token to become unusable
		margin   = time.Second
	)
	for _, tc := range []struct {
		proxy, mode string
		// Browser status for: no session, policy refusal, identity provider down.
		signedOut, refused, idpDown int
		// ourPage: the browser sees tokengate's error page (not the proxy's) on a refusal.
		ourPage bool
	}{
		{proxy: "nginx", mode: "ingress-nginx", signedOut: http.StatusFound, refused: http.StatusForbidden, idpDown: http.StatusInternalServerError},
		{proxy: "caddy", mode: "caddy", signedOut: http.StatusFound, refused: http.StatusForbidden, idpDown: http.StatusServiceUnavailable, ourPage: true},
		{proxy: "traefik", mode: "traefik", signedOut: http.StatusFound, refused: http.StatusForbidden, idpDown: http.StatusServiceUnavailable, ourPage: true},
	} {
		t.Run(tc.proxy, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, stackOptions{Proxy: tc.proxy, Mode: tc.mode, Dashboards: profiles,
				TokenLifetime: lifetime, SafetyMargin: margin, RefreshAhead: margin})
			b := s.newBrowser()

			page, calls := s.fetch(t, b, headlamp)
			if page.Status != tc.signedOut || !strings.Contains(page.Header.Get("Location"), "/oauth2/start?rd=") {
				t.Errorf("no session: /auth %v, browser %d Location %q; want %d to /oauth2/start", calls, page.Status, page.Header.Get("Location"), tc.signedOut)
			}

			s.signIn(b, https(grafana, "/"), "alice") // headlamp's profile admits only bob
			page, calls = s.fetch(t, b, headlamp)
			if len(calls) != 1 || calls[0] != http.StatusForbidden || page.Status != tc.refused {
				t.Errorf("policy refusal: /auth %v, browser %d; want /auth [403], browser %d", calls, page.Status, tc.refused)
			}
			if got := strings.Contains(string(page.Body), tokengatePage); got != tc.ourPage {
				t.Errorf("policy refusal: browser shows tokengate's page = %v; want %v\n%s", got, tc.ourPage, snippet(page.Body))
			}

			s.idp.SetUnavailable(true)
			page, calls = s.untilNotOK(t, b, grafana, 4*lifetime)
			if len(calls) != 1 || calls[0] != http.StatusServiceUnavailable || page.Status != tc.idpDown {
				t.Errorf("identity provider down: /auth %v, browser %d; want /auth [503], browser %d", calls, page.Status, tc.idpDown)
			}
			if got := strings.Contains(string(page.Body), tokengatePage); got != tc.ourPage {
				t.Errorf("identity provider down: browser shows tokengate's page = %v; want %v\n%s", got, tc.ourPage, snippet(page.Body))
			}
		})
	}
}

// TestWhatTheUserSeesRedisDown asserts the table's Redis row through each real proxy: a
// replica that holds neither the session nor its token in memory (it restarted) needs Redis,
// and Redis hangs (SIGSTOP). /auth answers 503, never a sign-in: the session may be fine. Once
// Redis resumes, the same browser gets the dashboard without signing in again.
func TestWhatTheUserSeesRedisDown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		proxy, mode string
		status      int  // what the browser gets
		ourPage     bool // tokengate's error page, not the proxy's
	}{
		{proxy: "nginx", mode: "ingress-nginx", status: http.StatusInternalServerError},
		{proxy: "caddy", mode: "caddy", status: http.StatusServiceUnavailable, ourPage: true},
		{proxy: "traefik", mode: "traefik", status: http.StatusServiceUnavailable, ourPage: true},
	} {
		t.Run(tc.proxy, func(t *testing.T) {
			t.Parallel()
			redis := redistest.Start(t)
			s := newStack(t, stackOptions{Proxy: tc.proxy, Mode: tc.mode, RedisURL: redis.URL()})
			b := s.newBrowser()
			s.signIn(b, https(headlamp, "/"), "alice")
			s.restartTokengate(s.tgOpts.CookieKey) // nothing of the session left in memory

			redis.Pause()
			page, calls := s.fetch(t, b, headlamp)
			redis.Resume()
			if !slices.Equal(calls, []int{http.StatusServiceUnavailable}) || page.Status != tc.status {
				t.Errorf("Redis down: /auth %v, browser %d; want /auth [503], browser %d", calls, page.Status, tc.status)
			}
			if got := strings.Contains(string(page.Body), tokengatePage); got != tc.ourPage {
				t.Errorf("Redis down: browser shows tokengate's page = %v; want %v\n%s", got, tc.ourPage, snippet(page.Body))
			}
			if page, calls := s.fetch(t, b, headlamp); page.Status != http.StatusOK || !slices.Equal(calls, []int{http.StatusOK}) {
				t.Errorf("Redis back: /auth %v, browser %d; want the dashboard without a new sign-in", calls, page.Status)
			}
		})
	}
}

// fetch loads https://host/ as a page navigation without following redirects and returns
// the browser's answer and the statuses /auth answered for it.
func (s *stack) fetch(t *testing.T, b *browser.Browser, host string) (*browser.Page, []int) {
	t.Helper()
	mark := s.tap.Mark()
	page, err := b.Fetch(http.MethodGet, https(host, "/"), navigation)
	mustf(t, err, "GET %s", host)
	return page, statuses(s.tap.Since(mark))
}

// untilNotOK repeats fetch until the answer is not a 200, for at most within: tokengate runs
// as its own process on the real clock, so a token's end comes in real time.
func (s *stack) untilNotOK(t *testing.T, b *browser.Browser, host string, within time.Duration) (*browser.Page, []int) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		page, calls := s.fetch(t, b, host)
		if page.Status != http.StatusOK {
			return page, calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still answered 200 after %s", host, within)
		}
		time.Sleep(100 * time.Millisecond) // pacing the requests, not waiting for an event we could observe
	}
}

// TestIngressNginxCustomErrorPage runs the README's recipe for a readable page behind
// ingress-nginx: with custom-http-errors "500" and a default backend, the 500 that NGINX
// makes of tokengate's 503 reaches that backend with X-Code and X-Original-URI, and the
// browser gets its page instead of NGINX's.
func TestIngressNginxCustomErrorPage(t *testing.T) {
	t.Parallel()
	type errorCall struct{ code, uri string }
	calls := make(chan errorCall, 4)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case calls <- errorCall{code: r.Header.Get("X-Code"), uri: r.Header.Get("X-Original-URI")}:
		default:
		}
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "<title>error-pages</title>sign-in is unavailable right now")
	}))
	t.Cleanup(backend.Close)
	const lifetime = 3 * time.Second
	s := newStack(t, stackOptions{Proxy: "nginx", Mode: "ingress-nginx", ErrorBackend: backend.Listener.Addr().String(),
		TokenLifetime: lifetime, SafetyMargin: time.Second, RefreshAhead: time.Second})
	b := s.newBrowser()
	s.signIn(b, https(grafana, "/"), "alice")
	s.idp.SetUnavailable(true)
	page, authCalls := s.untilNotOK(t, b, grafana, 4*lifetime)
	if len(authCalls) != 1 || authCalls[0] != http.StatusServiceUnavailable || page.Status != http.StatusInternalServerError {
		t.Fatalf("/auth %v, browser %d; want /auth [503], browser 500", authCalls, page.Status)
	}
	if !strings.Contains(string(page.Body), "<title>error-pages</title>") {
		t.Errorf("browser got %s; want the error backend's page", snippet(page.Body))
	}
	select {
	case c := <-calls:
		if c.code != "500" || c.uri != "/" {
			t.Errorf("error backend got X-Code %q X-Original-URI %q; want 500 and /", c.code, c.uri)
		}
	default:
		t.Error("the error backend was never called")
	}
}
