package e2e

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/redistest"
)

// TestKeyRotationKeepsUsersSignedIn follows the README's procedure for rotating
// cookie.secrets with the Redis store, through each real proxy: the new key goes first, a
// signed-in user makes one page request, the old key is removed, and that user is still
// signed in. ingress-nginx (auth-always-set-cookie) and Traefik (addAuthCookiesToResponse)
// hand the re-sealed cookie of a 200 to the browser; Caddy drops a 200's headers, so
// tokengate sends the navigation back to the same page with the cookie, once. A user who made
// no request while both keys were configured must sign in again: that is the bound the
// README states, and it shows the test can tell the difference.
func TestKeyRotationKeepsUsersSignedIn(t *testing.T) {
	t.Parallel()
	redisURL := redistest.Start(t).URL()
	for _, p := range proxies {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
			s := newStack(t, stackOptions{Proxy: p.name, Mode: p.mode, RedisURL: redisURL, CookieKeys: [][]byte{oldKey}})
			active, idle := s.newBrowser(), s.newBrowser()
			s.signIn(active, https(headlamp, "/"), "alice")
			s.signIn(idle, https(headlamp, "/"), "bob")
			before := sessionCookie(t, active)

			s.restartTokengate(newKey, oldKey)
			page, calls := s.fetch(t, active, headlamp)
			want := []int{http.StatusOK}
			if p.name == "caddy" {
				// The redirect carries the cookie; the browser comes back with it.
				if page.Status != http.StatusFound || page.Header.Get("Location") != https(headlamp, "/") {
					t.Fatalf("rotation through Caddy: browser %d Location %q; want 302 back to the page", page.Status, page.Header.Get("Location"))
				}
				page, calls = s.fetch(t, active, headlamp)
				want = []int{http.StatusOK} // once: no second redirect
			}
			if page.Status != http.StatusOK || !slices.Equal(calls, want) {
				t.Fatalf("first page during the rotation: /auth %v, browser %d; want /auth %v, browser 200", calls, page.Status, want)
			}
			if after := sessionCookie(t, active); after == before {
				t.Fatal("the browser's session cookie is unchanged: the proxy did not hand it the re-sealed one")
			}

			s.restartTokengate(newKey)
			if page, calls := s.fetch(t, active, headlamp); page.Status != http.StatusOK || !slices.Equal(calls, []int{http.StatusOK}) {
				t.Errorf("after the old key was removed: /auth %v, browser %d; want 200: the user stays signed in", calls, page.Status)
			}
			page, _ = s.fetch(t, idle, headlamp)
			if page.Status != http.StatusFound || !strings.Contains(page.Header.Get("Location"), "/oauth2/start") {
				t.Errorf("a user idle through the rotation: browser %d Location %q; want a new sign-in", page.Status, page.Header.Get("Location"))
			}
		})
	}
}

// sessionCookie is the value of the session cookie the browser holds for the dashboards.
func sessionCookie(t *testing.T, b *browser.Browser) string {
	t.Helper()
	for _, c := range b.Client.Jar.Cookies(&url.URL{Scheme: "https", Host: headlamp, Path: "/"}) {
		if c.Name == "_tokengate" {
			return c.Value
		}
	}
	t.Fatal("the browser holds no _tokengate cookie")
	return ""
}
