package e2e

import (
	"net/http"
	"testing"
)

// TestTraefikTrustForwardHeader shows what the documented trustForwardHeader: false is for.
// alice may use grafana but not headlamp; on headlamp she sends X-Forwarded-Host, -Uri and
// -Proto naming grafana, hoping /auth judges her by grafana's profile.
//
// Traefik's entry point drops a client's X-Forwarded-* headers unless the client's address
// is in forwardedHeaders.trustedIPs, so trustForwardHeader: true looks harmless on a bare
// entry point. But Traefik usually sits behind a cloud load balancer whose addresses are
// listed there, and a load balancer passes the client's headers on: then every client
// chooses the host /auth judges, and reaches a dashboard whose profile refuses it. With
// false, ForwardAuth always sends Traefik's own view of the request.
func TestTraefikTrustForwardHeader(t *testing.T) {
	t.Parallel()
	behindLB := []string{"127.0.0.1/32"} // the test's client is the "load balancer"
	for _, tc := range []struct {
		name      string
		opts      traefikOptions
		forgedWin bool // /auth sees grafana's host and admits the request to headlamp
	}{
		{name: "documented false", opts: traefikOptions{}},
		{name: "false behind a trusted load balancer", opts: traefikOptions{TrustedIPs: behindLB}},
		{name: "true", opts: traefikOptions{TrustForwardHeader: ptr(true)}},
		{name: "true behind a trusted load balancer", opts: traefikOptions{TrustForwardHeader: ptr(true), TrustedIPs: behindLB}, forgedWin: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, stackOptions{Proxy: "traefik", Mode: "traefik", Dashboards: profiles, Traefik: tc.opts})
			b := s.newBrowser()
			s.signIn(b, https(grafana, "/"), "alice")
			mark := s.tap.Mark()
			page, err := b.Fetch(http.MethodGet, https(headlamp, "/spoof"), forgedForwardedHost)
			mustf(t, err, "request")
			calls := s.tap.Since(mark)
			if len(calls) != 1 {
				t.Fatalf("/auth calls = %d; want 1", len(calls))
			}
			hits := len(s.dashboards[headlamp].Hits())
			if tc.forgedWin {
				// This row documents the hole; if it closes, update it and the docs.
				if got := calls[0].Header.Get("X-Forwarded-Host"); got != grafana || calls[0].Status != http.StatusOK || hits != 1 {
					t.Errorf("/auth saw host %q and answered %d, headlamp reached %d times; want the forged %q to win (200, 1)", got, calls[0].Status, hits, grafana)
				}
				return
			}
			checkProxyOverwrote(t, "traefik", calls[0].Header)
			if calls[0].Status != http.StatusForbidden || page.Status != http.StatusForbidden || hits != 0 {
				t.Errorf("/auth answered %d, browser got %d, headlamp reached %d times; want 403, 403, 0", calls[0].Status, page.Status, hits)
			}
		})
	}
}
