package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
)

// TestAutoModeServesNginxAndTraefik: one tokengate with forwardAuth.mode auto behind
// ingress-nginx and Traefik at once (a migration between the two). Each proxy's requests are
// read by their own header family, each gets the unauthenticated answer its proxy needs (401
// for ingress-nginx's auth-signin, tokengate's 302 for Traefik), and one session works
// through both.
func TestAutoModeServesNginxAndTraefik(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{Proxy: "nginx", Mode: "auto"})
	traefikPort := startTraefik(t, s.dir, s.tap.Addr(), s.traefikSites(), traefikOptions{}, s.ready)
	viaNginx, viaTraefik := s.newBrowser(), s.browserVia(traefikPort)
	target := https(headlamp, "/c/main/nodes?cluster=main")

	for _, tc := range []struct {
		name         string
		b            *browser.Browser
		wantXHR      int    // what a script without a session gets
		wantAuthNav  int    // /auth's answer to a page navigation without a session
		wantFamilyOf string // the header /auth must have received from this proxy
	}{
		{name: "nginx", b: viaNginx, wantXHR: http.StatusFound, wantAuthNav: http.StatusUnauthorized, wantFamilyOf: "X-Original-Url"},
		{name: "traefik", b: viaTraefik, wantXHR: http.StatusUnauthorized, wantAuthNav: http.StatusFound, wantFamilyOf: "X-Forwarded-Uri"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := tc.b.Fetch(http.MethodGet, https(headlamp, "/api/v1/pods"), xhrHeaders)
			mustf(t, err, "XHR")
			if page.Status != tc.wantXHR {
				t.Errorf("XHR without a session got %d; want %d", page.Status, tc.wantXHR)
			}
			mark := s.tap.Mark()
			page, err = tc.b.Navigate(target)
			mustf(t, err, "navigate")
			calls := s.tap.Since(mark)
			if len(calls) == 0 || calls[0].Status != tc.wantAuthNav || calls[0].Header.Get(tc.wantFamilyOf) == "" {
				t.Fatalf("first /auth of the navigation: %v, %s %q; want %d with %s set", statuses(calls), tc.wantFamilyOf, headerOf(calls, tc.wantFamilyOf), tc.wantAuthNav, tc.wantFamilyOf)
			}
			if !isLoginForm(page) || rdOf(t, tc.b) != target {
				t.Fatalf("navigation ended at %s%s (%d) with rd %q; want the login form and rd %q", page.URL.Host, page.URL.Path, page.Status, rdOf(t, tc.b), target)
			}
		})
	}

	// One session through both: sign in behind NGINX, then use the same cookies behind Traefik.
	s.signIn(viaNginx, target, "alice")
	u := &url.URL{Scheme: "https", Host: headlamp, Path: "/"}
	viaTraefik.Client.Jar.SetCookies(u, viaNginx.Client.Jar.Cookies(u))
	authorized := s.idp.AuthorizeCalls()
	page, err := viaTraefik.Navigate(target)
	mustf(t, err, "headlamp through Traefik with the NGINX sign-in")
	if page.Status != http.StatusOK || string(page.Body) != s.dashboards[headlamp].Body() {
		t.Fatalf("headlamp through Traefik answered %d at %s%s; want its page without a new sign-in", page.Status, page.URL.Host, page.URL.Path)
	}
	verifyBearer(t, s.idp, s.dashboards[headlamp].Last(t).Header.Get("Authorization"))
	if got := s.idp.AuthorizeCalls() - authorized; got != 0 {
		t.Errorf("authorize calls through Traefik = %d; want 0 (the NGINX sign-in serves both)", got)
	}
}

// browserVia returns a fresh browser that reaches *.example.test through the proxy on port.
func (s *stack) browserVia(port int) *browser.Browser {
	tr := transportFor(port)
	s.t.Cleanup(tr.CloseIdleConnections)
	b := browser.New(tr)
	b.Client.Timeout = 15 * time.Second
	return b
}

func headerOf(calls []authCall, name string) string {
	if len(calls) == 0 {
		return ""
	}
	return calls[0].Header.Get(name)
}
