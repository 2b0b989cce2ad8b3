package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/config"
)

// TestSignInAcrossDashboards walks one browser through a whole working day behind each
// proxy: the first navigation ends at the login form, sign-in brings it back to the exact
// URL with the AKS token on the request, the second dashboard needs no new sign-in, and
// sign-out ends access to both.
func TestSignInAcrossDashboards(t *testing.T) {
	t.Parallel()
	for _, px := range proxies {
		t.Run(px.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, stackOptions{Proxy: px.name, Mode: px.mode})
			b := s.newBrowser()
			target := https(headlamp, "/c/main/workloads?namespace=kube-system&view=pods")

			// 1. An unauthenticated navigation ends at the login form, by way of tokengate's
			// sign-in with rd= naming the original URL, query and all.
			page, err := b.Navigate(target)
			mustf(t, err, "navigate")
			if !isLoginForm(page) {
				t.Fatalf("navigation ended at %s (%d); want the login form; hops %v", page.URL, page.Status, hops(b))
			}
			if got := rdOf(t, b); got != target {
				t.Errorf("sign-in rd = %q; want the original URL %q (hops %v)", got, target, hops(b))
			}

			// 2. After sign-in the dashboard gets the AKS token and the user headers.
			page, err = b.SignIn(page, "alice", "password")
			mustf(t, err, "sign in")
			if page.URL.String() != target || string(page.Body) != s.dashboards[headlamp].Body() {
				t.Fatalf("after sign-in at %s (%d) %q; want %s with the headlamp page", page.URL, page.Status, snippet(page.Body), target)
			}
			last := s.dashboards[headlamp].Last(t)
			if want := "/c/main/workloads?namespace=kube-system&view=pods"; last.URI != want {
				t.Errorf("dashboard got %s; want %s", last.URI, want)
			}
			tok := verifyBearer(t, s.idp, last.Header.Get("Authorization"))
			if tok.Claims.Audience != config.AKSServerAppID || tok.Claims.Issuer != s.idp.AccessTokenIssuer() {
				t.Errorf("token aud, iss = %q, %q; want %q, %q", tok.Claims.Audience, tok.Claims.Issuer, config.AKSServerAppID, s.idp.AccessTokenIssuer())
			}
			if !tok.Expiry().After(last.At) {
				t.Errorf("dashboard received a token that expired at %s, at %s", tok.Expiry(), last.At)
			}
			for _, h := range []struct{ name, want string }{
				{name: "X-Auth-Request-User", want: "alice@contoso.example"},
				{name: "X-Auth-Request-Email", want: "alice@contoso.example"},
			} {
				if got := last.Header.Get(h.name); got != h.want {
					t.Errorf("dashboard got %s %q; want %q", h.name, got, h.want)
				}
			}

			// 3. The second dashboard shares the session: no new sign-in, no new code.
			page, err = b.Navigate(https(grafana, "/d/k8s-overview?orgId=1"))
			mustf(t, err, "navigate to grafana")
			if page.Status != http.StatusOK || string(page.Body) != s.dashboards[grafana].Body() {
				t.Fatalf("grafana answered %d at %s: %q; hops %v", page.Status, page.URL, snippet(page.Body), hops(b))
			}
			verifyBearer(t, s.idp, s.dashboards[grafana].Last(t).Header.Get("Authorization"))
			if got := s.idp.AuthorizeCalls(); got != 1 {
				t.Errorf("authorize calls = %d; want 1 (one sign-in for both dashboards)", got)
			}
			if got := s.idp.TokenCalls("authorization_code"); got != 1 {
				t.Errorf("code redemptions = %d; want 1", got)
			}

			// 6. Sign-out ends access: the next navigation, to either dashboard, ends at the
			// login form again.
			page, err = b.Navigate("https://auth.example.test/oauth2/sign_out?rd=" + url.QueryEscape(https(headlamp, "/")))
			mustf(t, err, "sign out")
			if !isLoginForm(page) {
				t.Errorf("sign-out ended at %s (%d); want the login form via the dashboard; hops %v", page.URL, page.Status, hops(b))
			}
			if _, err := s.session(b); err == nil {
				t.Errorf("the browser still holds a tokengate session after sign-out")
			}
			hits := len(s.dashboards[grafana].Hits())
			page, err = b.Navigate(https(grafana, "/"))
			mustf(t, err, "navigate to grafana after sign-out")
			if !isLoginForm(page) {
				t.Errorf("grafana after sign-out ended at %s (%d); want the login form", page.URL, page.Status)
			}
			if got := len(s.dashboards[grafana].Hits()); got != hits {
				t.Errorf("grafana received %d requests after sign-out; want none", got-hits)
			}
		})
	}
}

// rdOf finds the sign-in hop among a navigation's hops and returns its rd parameter.
func rdOf(t *testing.T, b *browser.Browser) string {
	t.Helper()
	for _, h := range b.Hops {
		if strings.HasPrefix(h, "https://auth.example.test/oauth2/start?") {
			u, err := url.Parse(h)
			mustf(t, err, "parse sign-in hop")
			return u.Query().Get("rd")
		}
	}
	t.Fatalf("no hop through https://auth.example.test/oauth2/start: %v", hops(b))
	return ""
}
