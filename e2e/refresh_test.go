package e2e

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
)

// TestRefreshStream runs a dashboard's steady traffic across several token lifetimes with
// lifetimes of seconds: every token a dashboard receives is unexpired when it arrives (real
// time, since tokengate runs as its own process), refreshes stay at about one per renewal
// instead of one per request, and the rotated refresh token reaches the browser where the
// proxy relays a 2xx auth answer's Set-Cookie.
func TestRefreshStream(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the stream takes 10 s of real time")
	}
	t.Parallel()
	const (
		lifetime     = 4 * time.Second
		safetyMargin = time.Second
		refreshAhead = time.Second
		streamFor    = 10 * time.Second
		every        = 100 * time.Millisecond
	)
	for _, tc := range []struct {
		proxy, mode, user string
		buffer            string // nginx proxy-buffer-size
		// chunked: the session needs more than one cookie, so behind ingress-nginx tokengate
		// does not write a rotated refresh token from /auth (ingress-nginx would relay only
		// the first chunk); the token cache keeps the newest one and Entra keeps the old one
		// valid.
		chunked bool
		// wantChunks: the browser must hold the rotated session in chunks (Traefik relays
		// every cookie addAuthCookiesToResponse names, so tokengate writes them all).
		wantChunks bool
		// relaysCookie: the proxy hands a 2xx auth answer's Set-Cookie to the browser.
		// ingress-nginx does with auth-always-set-cookie. Caddy 2.6's forward_auth does
		// not: copy_headers only copies onto the upstream request. The session keeps
		// working there because Entra (and devidp) do not revoke a redeemed refresh token.
		relaysCookie bool
		traefik      traefikOptions // varies the documented Traefik Middleware
	}{
		{proxy: "nginx", mode: "ingress-nginx", user: "alice", relaysCookie: true},
		{proxy: "caddy", mode: "caddy", user: "alice", relaysCookie: false},
		// Traefik relays the auth answer's cookies named in addAuthCookiesToResponse.
		{proxy: "traefik", mode: "traefik", user: "alice", relaysCookie: true},
		// The user with 200 groups has a session of two cookie chunks. Were /auth to answer a
		// rotation with both chunks, the answer would exceed 16k with the token (nginx: "upstream
		// sent too big header", 500), and with a larger buffer ingress-nginx would relay only
		// the first Set-Cookie, leaving chunk 0 new and chunk 1 old (401 → sign-in). So the
		// stream must stay 200 with no cookie written from /auth.
		{proxy: "nginx", mode: "ingress-nginx", user: "many", buffer: "16k", chunked: true},
		// Through Traefik the rotated chunked session reaches the browser whole: every chunk
		// name is in the documented addAuthCookiesToResponse.
		{proxy: "traefik", mode: "traefik", user: "many", relaysCookie: true, wantChunks: true},
		// Traefik matches addAuthCookiesToResponse names exactly: listing only the session
		// cookie's name drops every chunk, so the chunked session is never rotated in the
		// browser (it keeps working on the old refresh token, which Entra keeps valid).
		{proxy: "traefik", mode: "traefik", user: "many", relaysCookie: false,
			traefik: traefikOptions{AuthCookies: []string{"_tokengate"}}},
	} {
		name := tc.proxy + "/" + tc.user
		if tc.traefik.AuthCookies != nil {
			name += "/only " + strings.Join(tc.traefik.AuthCookies, ",")
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, stackOptions{Proxy: tc.proxy, Mode: tc.mode,
				Traefik: tc.traefik, BufferSize: tc.buffer, TokenLifetime: lifetime, SafetyMargin: safetyMargin, RefreshAhead: refreshAhead})
			b := s.newBrowser()
			s.signIn(b, https(headlamp, "/"), tc.user)
			before, err := s.session(b)
			mustf(t, err, "session after sign-in")
			mark, firstHit := s.tap.Mark(), len(s.dashboards[headlamp].Hits())

			start := time.Now()
			browserGotCookie := 0
			for i := 0; time.Since(start) < streamFor; i++ {
				page, err := b.Fetch(http.MethodGet, https(headlamp, "/api/v1/pods"), xhrHeaders)
				mustf(t, err, "request %d", i)
				if page.Status != http.StatusOK {
					t.Fatalf("request %d at +%s got %d; want 200", i, time.Since(start).Round(time.Millisecond), page.Status)
				}
				if setsSession(page.Header) {
					browserGotCookie++
				}
				time.Sleep(every) // pacing the traffic, not waiting for an expiry
			}
			elapsed := time.Since(start)

			tokens := map[string]time.Time{} // Authorization → the token's expiry
			for _, h := range s.dashboards[headlamp].Hits()[firstHit:] {
				raw := h.Header.Get("Authorization")
				exp, seen := tokens[raw]
				if !seen {
					exp = verifyBearer(t, s.idp, raw).Expiry()
					tokens[raw] = exp
				}
				if !h.At.Before(exp) {
					t.Errorf("dashboard received a token expiring %s at %s", exp.Format(time.RFC3339Nano), h.At.Format(time.RFC3339Nano))
				}
			}
			// A token is renewed once it is within refreshAhead of its usable end.
			renewEvery := lifetime - safetyMargin - refreshAhead
			renewals := int(math.Ceil(float64(elapsed) / float64(renewEvery)))
			refreshes := s.idp.TokenCalls("refresh_token")
			minRefreshes := int(elapsed / (lifetime - safetyMargin))
			if refreshes > renewals+2 || refreshes < minRefreshes {
				t.Errorf("refreshes = %d over %s; want %d..%d (about one per renewal, %s apart)", refreshes, elapsed.Round(time.Millisecond), minRefreshes, renewals+2, renewEvery)
			}
			if len(tokens) < minRefreshes+1 {
				t.Errorf("dashboard saw %d distinct tokens; want at least %d", len(tokens), minRefreshes+1)
			}
			t.Logf("%s: %d refreshes, %d distinct tokens, %d Set-Cookie relayed, over %s", tc.proxy, refreshes, len(tokens), browserGotCookie, elapsed.Round(time.Millisecond))

			if tc.chunked {
				for _, c := range s.tap.Since(mark) {
					if c.SetsSession {
						t.Fatalf("/auth wrote a chunked session on rotation; ingress-nginx relays only its first cookie")
					}
				}
				return
			}
			checkRotation(t, s, b, before.RefreshToken.Reveal(), mark, browserGotCookie, tc.relaysCookie)
			if got := sessionCookieNames(b); tc.wantChunks && (len(got) < 2 || got[0] != "_tokengate_0") {
				t.Errorf("browser holds session cookies %q; want the rotated session in chunks _tokengate_0…", got)
			}
		})
	}
}

// checkRotation asserts that tokengate answered with the rotated refresh token, and that it
// reached the browser exactly when the proxy relays a 2xx auth answer's Set-Cookie.
func checkRotation(t *testing.T, s *stack, b *browser.Browser, signInRT string, mark, browserGotCookie int, relays bool) {
	t.Helper()
	answered := 0
	for _, c := range s.tap.Since(mark) {
		if c.SetsSession {
			answered++
		}
	}
	if answered == 0 {
		t.Fatalf("tokengate never answered /auth with a rotated session cookie")
	}
	after, err := s.session(b)
	mustf(t, err, "session after the stream")
	rotated := after.RefreshToken.Reveal() != signInRT
	if relays && (browserGotCookie == 0 || !rotated) {
		t.Errorf("browser got %d Set-Cookie, refresh token rotated = %v; want the rotated token in the browser", browserGotCookie, rotated)
	}
	if !relays && (browserGotCookie != 0 || rotated) {
		t.Errorf("browser got %d Set-Cookie, refresh token rotated = %v; this proxy was documented to drop them: update the test and the docs", browserGotCookie, rotated)
	}
}

// sessionCookieNames lists the tokengate cookies the browser holds for the dashboards, sorted.
func sessionCookieNames(b *browser.Browser) []string {
	var names []string
	for _, c := range b.Client.Jar.Cookies(&url.URL{Scheme: "https", Host: headlamp, Path: "/"}) {
		if strings.HasPrefix(c.Name, "_tokengate") {
			names = append(names, c.Name)
		}
	}
	slices.Sort(names)
	return names
}
