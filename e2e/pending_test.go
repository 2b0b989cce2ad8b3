package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRapidSignInStarts: a page that starts 100 sign-ins in a row (or a user with a
// hundred tabs) must not lock its browser out of the auth host. Through real NGINX with
// ingress-nginx's header buffers (4 × 8 KB), every start answers, the browser keeps at most
// 5 sign-in cookies, and the next sign-in works.
func TestRapidSignInStarts(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{Proxy: "nginx", Mode: "ingress-nginx"})
	b := s.newBrowser()
	rd := url.QueryEscape(https(headlamp, "/c/main/workloads?namespace=kube-system"))
	callback, _ := url.Parse("https://auth.example.test/oauth2/callback")
	for i := 0; i < 100; i++ {
		page, err := b.Fetch(http.MethodGet, "https://auth.example.test/oauth2/start?rd="+rd, nil)
		mustf(t, err, "start %d", i)
		if page.Status != http.StatusFound {
			t.Fatalf("start %d answered %d: %s", i, page.Status, snippet(page.Body))
		}
	}
	n, size := 0, 0
	for _, c := range b.Client.Jar.Cookies(callback) {
		if strings.HasPrefix(c.Name, "_tokengate_csrf_") {
			n++
			size += len(c.Name) + len(c.Value) + 3
		}
	}
	if n > 5 || size > 3<<10 {
		t.Errorf("after 100 starts the browser sends %d sign-in cookies, %d bytes; want at most 5 and 3 KiB", n, size)
	}
	s.signIn(b, https(headlamp, "/c/main/nodes"), "alice")
	if _, err := s.session(b); err != nil {
		t.Errorf("no valid session after the sign-in: %v", err)
	}
}
