package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLargeToken signs in the user with 200 groups, whose AKS token (~9 KB) is about as
// large as Entra issues before it switches to the groups overage claim. nginx must hold
// /auth's whole answer header in proxy_buffer_size: the docs' proxy-buffer-size: 16k
// works, and ingress-nginx's 4k default fails with 500, which is why the docs say so.
// Caddy has no such limit to set.
func TestLargeToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, proxy, mode, buffer string
		wantStatus                int
	}{
		{name: "nginx 16k", proxy: "nginx", mode: "ingress-nginx", buffer: "16k", wantStatus: http.StatusOK},
		{name: "nginx 4k default", proxy: "nginx", mode: "ingress-nginx", buffer: "4k", wantStatus: http.StatusInternalServerError},
		{name: "caddy", proxy: "caddy", mode: "caddy", wantStatus: http.StatusOK},
		{name: "traefik", proxy: "traefik", mode: "traefik", wantStatus: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, stackOptions{Proxy: tc.proxy, Mode: tc.mode, BufferSize: tc.buffer})
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
				t.Errorf("Authorization is %d bytes; want the ~9 KB token of a user with 200 groups", len(auth))
			}
			verifyBearer(t, s.idp, auth)
			checkIdentity(t, s.dashboards[headlamp].Last(t).Header, "many@contoso.example")
			t.Logf("Authorization %d bytes", len(auth))
		})
	}
}
