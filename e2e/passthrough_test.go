package e2e

import (
	"net/http"
	"testing"
)

// passThroughProfiles let headlamp accept a caller's own AKS token (a CLI without a cookie).
const passThroughProfiles = `  - name: headlamp
    preset: headlamp
    hosts: [` + headlamp + `]
    bearerPassThrough:
      - issuerURL: ` + issuerPlaceholder + `
        audiences: [6dae42f8-4368-4678-94ff-3960e28e3630]
  - name: grafana
    preset: headlamp
    hosts: [` + grafana + `]
`

// TestBearerPassThrough: a CLI that brings its own AKS token and no cookie reaches headlamp
// with that token, through every proxy; a token that does not verify gets a plain 401, never
// a redirect to sign in; grafana, which accepts no bearer tokens, answers it as signed out.
func TestBearerPassThrough(t *testing.T) {
	t.Parallel()
	for _, px := range proxies {
		t.Run(px.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, stackOptions{Proxy: px.name, Mode: px.mode, Dashboards: passThroughProfiles})
			// A token the provider issued for AKS, as `kubelogin get-token` would hold.
			s.signIn(s.newBrowser(), https(grafana, "/"), "alice")
			token := s.dashboards[grafana].Last(t).Header.Get("Authorization")
			verifyBearer(t, s.idp, token)

			cli := s.newBrowser()
			for _, tc := range []struct {
				name, host, auth string
				want             int
			}{
				{name: "valid token", host: headlamp, auth: token, want: http.StatusOK},
				{name: "tampered token", host: headlamp, auth: token[:len(token)-4] + "AAAA", want: http.StatusUnauthorized},
				{name: "dashboard without pass-through", host: grafana, auth: token, want: http.StatusUnauthorized},
			} {
				t.Run(tc.name, func(t *testing.T) {
					hits := len(s.dashboards[tc.host].Hits())
					page, err := cli.Fetch(http.MethodGet, https(tc.host, "/api/v1/namespaces"), http.Header{
						"Authorization": {tc.auth}, "Accept": {"application/json"},
					})
					mustf(t, err, "CLI request")
					want := tc.want
					if want == http.StatusUnauthorized && px.name == "nginx" {
						want = http.StatusFound // auth-signin redirects every 401
					}
					if page.Status != want {
						t.Fatalf("got %d; want %d", page.Status, want)
					}
					got := s.dashboards[tc.host].Hits()[hits:]
					if tc.want != http.StatusOK {
						if len(got) != 0 {
							t.Errorf("dashboard reached %d times", len(got))
						}
						return
					}
					if len(got) != 1 || got[0].Header.Get("Authorization") != token {
						t.Errorf("dashboard got %d requests; want one with the CLI's own token", len(got))
					}
					// The AKS token has upn but no email claim, so only the user is known.
					if u := got[0].Header.Values("X-Auth-Request-User"); len(u) != 1 || u[0] != "alice@contoso.example" {
						t.Errorf("dashboard got X-Auth-Request-User %q; want [alice@contoso.example]", u)
					}
				})
			}
		})
	}
}
