package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// graphProfiles give grafana a Microsoft Graph token, which the sign-in does not bring
// (it brings the AKS token), so grafana's first request needs the provider.
const graphProfiles = `  - name: headlamp
    preset: headlamp
    hosts: [` + headlamp + `]
  - name: grafana
    hosts: [` + grafana + `]
    token:
      kind: access_token
      scopes: https://graph.microsoft.com/.default
`

// TestProviderOutage: while the identity provider's token endpoint answers 503, a signed-in
// user keeps using a dashboard whose token is still valid, and a dashboard that needs a new
// token gets tokengate's 503 with its reason, as each proxy relays it: Traefik and Caddy pass
// the answer on; ingress-nginx's auth_request turns any status but 2xx, 401 and 403 into 500.
func TestProviderOutage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		proxy, mode string
		wantRefused int  // what the browser gets for the dashboard without a token
		relaysBody  bool // the browser sees tokengate's reason
	}{
		{proxy: "nginx", mode: "ingress-nginx", wantRefused: http.StatusInternalServerError},
		{proxy: "caddy", mode: "caddy", wantRefused: http.StatusServiceUnavailable, relaysBody: true},
		{proxy: "traefik", mode: "traefik", wantRefused: http.StatusServiceUnavailable, relaysBody: true},
	} {
		t.Run(tc.proxy, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, stackOptions{Proxy: tc.proxy, Mode: tc.mode, Dashboards: graphProfiles})
			b := s.newBrowser()
			s.signIn(b, https(headlamp, "/"), "alice")
			s.idp.SetUnavailable(true)

			page, err := b.Fetch(http.MethodGet, https(headlamp, "/api/v1/pods"), xhrHeaders)
			mustf(t, err, "headlamp during the outage")
			if page.Status != http.StatusOK {
				t.Errorf("headlamp with a valid cached token during the outage: %d; want 200", page.Status)
			} else {
				verifyBearer(t, s.idp, s.dashboards[headlamp].Last(t).Header.Get("Authorization"))
			}
			hits := len(s.dashboards[grafana].Hits())
			mark := s.tap.Mark()
			page, err = b.Fetch(http.MethodGet, https(grafana, "/"), http.Header{"Accept": {"text/html"}, "Sec-Fetch-Mode": {"navigate"}})
			mustf(t, err, "grafana during the outage")
			if calls := s.tap.Since(mark); len(calls) != 1 || calls[0].Status != http.StatusServiceUnavailable {
				t.Fatalf("/auth for grafana answered %v; want one 503", statuses(calls))
			}
			if page.Status != tc.wantRefused {
				t.Errorf("grafana during the outage: browser got %d; want %d", page.Status, tc.wantRefused)
			}
			if got := strings.Contains(strings.ToLower(string(page.Body)), "identity provider unavailable"); got != tc.relaysBody {
				t.Errorf("browser sees tokengate's reason = %v; want %v; body %q", got, tc.relaysBody, snippet(page.Body))
			}
			if n := len(s.dashboards[grafana].Hits()) - hits; n != 0 {
				t.Errorf("grafana reached %d times without a token", n)
			}
			if _, err := s.session(b); err != nil {
				t.Errorf("the outage ended the session: %v", err)
			}

			s.idp.SetUnavailable(false)
			page, err = b.Navigate(https(grafana, "/"))
			mustf(t, err, "grafana after the outage")
			if page.Status != http.StatusOK || string(page.Body) != s.dashboards[grafana].Body() {
				t.Errorf("grafana after the outage: %d at %s; want its page", page.Status, page.URL)
			}
		})
	}
}
