package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestChunkedRotationByProxy: when the refresh token of a session in several cookies (the
// user with 200 groups) rotates, /auth writes every chunk for Traefik and Caddy, which relay
// a 2xx answer's cookies all or none, and nothing for ingress-nginx, which relays only the
// first Set-Cookie and would leave the browser half new, half old.
func TestChunkedRotationByProxy(t *testing.T) {
	for _, tc := range []struct {
		name       string
		extra      http.Header // forward headers beside the X-Forwarded-* family
		wantChunks bool
	}{
		{name: "traefik", wantChunks: true},
		{name: "ingress-nginx", extra: http.Header{"X-Original-Method": {"GET"}}, wantChunks: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.signIn("many")
			extra := tc.extra.Clone()
			if extra != nil {
				extra.Set("X-Original-URL", h.dashboard.URL+"/api/v1/namespaces")
			}
			h.clock.Advance(testTokenLifetime + time.Minute)
			page := h.authRequest(extra)
			if page.Status != http.StatusOK {
				t.Fatalf("status = %d; want 200", page.Status)
			}
			var names []string
			for _, c := range page.Header.Values("Set-Cookie") {
				name, _, _ := strings.Cut(c, "=")
				names = append(names, name)
			}
			chunked := len(names) >= 2 && names[0] == h.cfg.Cookie.Name+"_0" && names[1] == h.cfg.Cookie.Name+"_1"
			if tc.wantChunks != chunked || (!tc.wantChunks && len(names) != 0) {
				t.Errorf("Set-Cookie names = %q; want every chunk = %v, and nothing otherwise", names, tc.wantChunks)
			}
		})
	}
}
