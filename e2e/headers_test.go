package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// xhrHeaders are what a dashboard's JavaScript sends with fetch/XMLHttpRequest.
var xhrHeaders = http.Header{
	"Accept":           {"application/json"},
	"Sec-Fetch-Mode":   {"cors"},
	"X-Requested-With": {"XMLHttpRequest"},
}

// TestXHRWithoutSession sends a dashboard's API call without a session. tokengate answers
// /auth with 401 (never a redirect to a login page a script cannot follow) behind both
// proxies. What the browser gets differs, and the difference is ingress-nginx's, not ours:
// auth-signin renders "error_page 401 = <signin location>" for every request, so
// ingress-nginx turns any 401 into its 302 to the sign-in URL, XHR included (there is no
// annotation to exempt XHR). Caddy, like Traefik, passes the 401 through.
func TestXHRWithoutSession(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		proxy, mode string
		wantStatus  int // what the script sees
	}{
		{proxy: "nginx", mode: "ingress-nginx", wantStatus: http.StatusFound},
		{proxy: "caddy", mode: "caddy", wantStatus: http.StatusUnauthorized},
		{proxy: "traefik", mode: "traefik", wantStatus: http.StatusUnauthorized},
	} {
		t.Run(tc.proxy, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, stackOptions{Proxy: tc.proxy, Mode: tc.mode})
			b := s.newBrowser()
			mark := s.tap.Mark()
			page, err := b.Fetch(http.MethodGet, https(headlamp, "/api/v1/namespaces"), xhrHeaders)
			mustf(t, err, "XHR")
			calls := s.tap.Since(mark)
			if len(calls) != 1 || calls[0].Status != http.StatusUnauthorized {
				t.Fatalf("/auth calls = %v; want one answered 401", statuses(calls))
			}
			if page.Status != tc.wantStatus {
				t.Errorf("XHR got %d (Location %q); want %d", page.Status, page.Header.Get("Location"), tc.wantStatus)
			}
			loc := page.Header.Get("Location")
			switch tc.wantStatus {
			case http.StatusUnauthorized:
				if loc != "" {
					t.Errorf("XHR 401 carries Location %q; want none", loc)
				}
			case http.StatusFound:
				if !strings.HasPrefix(loc, "https://auth.example.test/oauth2/start?rd=") {
					t.Errorf("ingress-nginx redirect Location = %q; want the auth-signin URL", loc)
				}
			}
			if n := len(s.dashboards[headlamp].Hits()); n != 0 {
				t.Errorf("dashboard received %d requests without a session; want 0", n)
			}
		})
	}
}

// TestForgedIdentityHeaders: a signed-in user sends the headers tokengate answers with,
// hoping the dashboard believes them. The dashboard must see only tokengate's values (the
// AKS token, not the client's Authorization), and no X-Auth-Request-Groups at all
// (headers.passGroups is off, so tokengate sends none).
func TestForgedIdentityHeaders(t *testing.T) {
	t.Parallel()
	forged := http.Header{
		"Accept":                {"text/html"},
		"Authorization":         {"Bearer forged.by.client"},
		"X-Auth-Request-User":   {"admin"},
		"X-Auth-Request-Email":  {"admin@contoso.example"},
		"X-Auth-Request-Groups": {"platform-admins"},
	}
	for _, px := range proxies {
		t.Run(px.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, stackOptions{Proxy: px.name, Mode: px.mode})
			b := s.newBrowser()
			s.signIn(b, https(headlamp, "/"), "alice")

			page, err := b.Fetch(http.MethodGet, https(headlamp, "/forged"), forged)
			mustf(t, err, "request with forged headers")
			if page.Status != http.StatusOK {
				t.Fatalf("got %d; want 200", page.Status)
			}
			got := s.dashboards[headlamp].Last(t).Header
			checkIdentity(t, got, "alice@contoso.example")
			if v := got.Values("Authorization"); len(v) != 1 {
				t.Errorf("dashboard got %d Authorization headers; want tokengate's one", len(v))
			}
			verifyBearer(t, s.idp, got.Get("Authorization"))
			if v := got.Values("X-Auth-Request-Groups"); len(v) != 0 {
				t.Errorf("dashboard got the client's X-Auth-Request-Groups %q", v)
			}
		})
	}

	// Caddy's forward_auth exactly as documented (no StripIdentity route): copy_headers
	// replaces the headers it copies, so the user cannot be forged, but any other header the
	// client sent reaches the dashboard. A dashboard that trusts X-Auth-Request-Groups
	// needs the Caddyfile to strip client X-Auth-Request-* headers before forward_auth.
	t.Run("caddy without stripping", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, stackOptions{Proxy: "caddy", Mode: "caddy"})
		b := s.newBrowser()
		s.signIn(b, https(headlamp, "/"), "alice")
		page, err := b.Fetch(http.MethodGet, https("bare-"+headlamp, "/forged"), forged)
		mustf(t, err, "request with forged headers")
		if page.Status != http.StatusOK {
			t.Fatalf("got %d; want 200", page.Status)
		}
		got := s.dashboards[headlamp].Last(t).Header
		checkIdentity(t, got, "alice@contoso.example")
		if v := got.Values("X-Auth-Request-Groups"); len(v) != 1 || v[0] != "platform-admins" {
			t.Errorf("bare forward_auth: dashboard got X-Auth-Request-Groups %q; this test documents that the client's value passes through, update it and the examples if Caddy changed", v)
		}
	})
}

// checkIdentity asserts the user headers the dashboard received are tokengate's, once.
func checkIdentity(t *testing.T, got http.Header, user string) {
	t.Helper()
	for _, name := range []string{"X-Auth-Request-User", "X-Auth-Request-Email"} {
		if v := got.Values(name); len(v) != 1 || v[0] != user {
			t.Errorf("dashboard got %s %q; want exactly [%q]", name, v, user)
		}
	}
}

func statuses(calls []authCall) []int {
	out := make([]int, len(calls))
	for i, c := range calls {
		out[i] = c.Status
	}
	return out
}
