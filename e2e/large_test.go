package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLargeToken signs in the user with 200 groups, whose AKS token (~11.6 KB) is about as
// large as Entra issues before it switches to the groups overage claim. nginx must hold
// /auth's whole answer header in proxy_buffer_size: the docs' proxy-buffer-size: 16k
// works, and ingress-nginx's 4k default fails with 500, which is why the docs say so.
// Caddy has no such limit to set.
func TestLargeToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, proxy, mode, buffer string
		dashboards                string // profiles; "" for the default
		wantStatus                int
	}{
		{name: "nginx 16k", proxy: "nginx", mode: "ingress-nginx", buffer: "16k", wantStatus: http.StatusOK},
		{name: "nginx 4k default", proxy: "nginx", mode: "ingress-nginx", buffer: "4k", wantStatus: http.StatusInternalServerError},
		{name: "caddy", proxy: "caddy", mode: "caddy", wantStatus: http.StatusOK},
		{name: "traefik", proxy: "traefik", mode: "traefik", wantStatus: http.StatusOK},
		// With the 200 group ids in X-Auth-Request-Groups beside the ~12 KB token, /auth
		// answers ~19 KB of headers: Traefik has no limit to raise for it (its ForwardAuth
		// client reads up to Go's 10 MB of response header).
		{name: "traefik with the groups header", proxy: "traefik", mode: "traefik", dashboards: groupsHeaderProfiles, wantStatus: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, stackOptions{Proxy: tc.proxy, Mode: tc.mode, BufferSize: tc.buffer, Dashboards: tc.dashboards})
			b := s.newBrowser()
			target := https(headlamp, "/c/main/nodes")
			page, err := b.Navigate(target)
			mustf(t, err, "navigate")
			if !isLoginForm(page) {
				t.Fatalf("navigation ended at %s (%d); want the login form", page.URL, page.Status)
			}
			page, err = b.SignIn(page, "many", "password")
			mustf(t, err, "sign in")
			if page.URL.String() != target || page.Status != tc.wantStatus {
				t.Fatalf("after sign-in at %s (%d); want %s (%d); hops %v", page.URL, page.Status, target, tc.wantStatus, hops(b))
			}
			if _, err := s.session(b); err != nil {
				t.Errorf("the browser holds no valid session after signing in: %v", err)
			}
			if tc.wantStatus != http.StatusOK {
				if n := len(s.dashboards[headlamp].Hits()); n != 0 {
					t.Errorf("dashboard reached %d times; want 0", n)
				}
				log, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
				if !strings.Contains(string(log), "upstream sent too big header") {
					t.Errorf("nginx error.log does not name the cause (upstream sent too big header)")
				}
				return
			}
			auth := s.dashboards[headlamp].Last(t).Header.Get("Authorization")
			if len(auth) < 8<<10 {
				t.Errorf("Authorization is %d bytes; want the ~11.6 KB token of a user with 200 groups", len(auth))
			}
			verifyBearer(t, s.idp, auth)
			last := s.dashboards[headlamp].Last(t).Header
			checkIdentity(t, last, "many@contoso.example")
			groups := last.Get("X-Auth-Request-Groups")
			if tc.dashboards != "" && strings.Count(groups, ",") != 199 {
				t.Errorf("X-Auth-Request-Groups lists %d groups; want 200", strings.Count(groups, ",")+1)
			}
			t.Logf("Authorization %d bytes, X-Auth-Request-Groups %d bytes", len(auth), len(groups))
		})
	}
}

// groupsHeaderProfiles send the user's groups to headlamp beside the token.
const groupsHeaderProfiles = `  - name: headlamp
    preset: headlamp
    hosts: [` + headlamp + `]
    headers:
      X-Auth-Request-Groups: ${groups}
  - name: grafana
    preset: headlamp
    hosts: [` + grafana + `]
`
