package e2e

import (
	"net/http"
	"net/url"
	"testing"
)

// forgeries are client-sent forward-auth headers naming the other dashboard.
var (
	forgedOriginalURL = http.Header{
		"X-Original-Url":    {"https://" + grafana + "/admin"},
		"X-Original-Method": {"DELETE"},
	}
	forgedForwardedHost = http.Header{
		"X-Forwarded-Host":  {grafana},
		"X-Forwarded-Uri":   {"/admin"},
		"X-Forwarded-Proto": {"http"},
	}
)

// profiles admit alice to grafana but not to headlamp, so borrowing grafana's profile for
// a headlamp request would show as a 200 instead of headlamp's 403.
const profiles = `  - name: headlamp
    hosts: [` + headlamp + `]
    allowedUsers: [bob@contoso.example]
  - name: grafana
    hosts: [` + grafana + `]
`

// TestForgedForwardHeaders: a user whom headlamp's profile refuses names grafana (whose
// profile admits them) in X-Original-URL or X-Forwarded-Host, hoping /auth judges the
// headlamp request by grafana's profile. Each proxy overwrites the header family it sends,
// so /auth must see the real host; the other family reaches tokengate as the client sent
// it. With an explicit forwardAuth.mode tokengate ignores that family (403 by headlamp's
// profile); in auto mode it refuses two families that disagree (400, which nginx's
// auth_request turns into 500). Never 200: the request is never judged by grafana's profile.
func TestForgedForwardHeaders(t *testing.T) {
	t.Parallel()
	type forgery struct {
		name       string
		header     http.Header
		wantAuth   int // tokengate's answer to /auth
		wantClient int // what the browser gets
	}
	groups := []struct {
		proxy, mode string
		cases       []forgery
	}{
		{proxy: "nginx", mode: "ingress-nginx", cases: []forgery{
			{name: "none", wantAuth: 403, wantClient: 403},
			{name: "X-Original-URL", header: forgedOriginalURL, wantAuth: 403, wantClient: 403},
			{name: "X-Forwarded-Host", header: forgedForwardedHost, wantAuth: 403, wantClient: 403},
		}},
		{proxy: "nginx", mode: "auto", cases: []forgery{
			{name: "none", wantAuth: 403, wantClient: 403},
			{name: "X-Original-URL", header: forgedOriginalURL, wantAuth: 403, wantClient: 403},
			{name: "X-Forwarded-Host", header: forgedForwardedHost, wantAuth: 400, wantClient: 500},
		}},
		{proxy: "caddy", mode: "caddy", cases: []forgery{
			{name: "none", wantAuth: 403, wantClient: 403},
			{name: "X-Original-URL", header: forgedOriginalURL, wantAuth: 403, wantClient: 403},
			{name: "X-Forwarded-Host", header: forgedForwardedHost, wantAuth: 403, wantClient: 403},
		}},
		{proxy: "caddy", mode: "auto", cases: []forgery{
			{name: "none", wantAuth: 403, wantClient: 403},
			{name: "X-Original-URL", header: forgedOriginalURL, wantAuth: 400, wantClient: 400},
			{name: "X-Forwarded-Host", header: forgedForwardedHost, wantAuth: 403, wantClient: 403},
		}},
		// Traefik with the documented trustForwardHeader: false overwrites the X-Forwarded-*
		// family and, like Caddy, passes X-Original-URL through and relays /auth's 4xx.
		{proxy: "traefik", mode: "traefik", cases: []forgery{
			{name: "none", wantAuth: 403, wantClient: 403},
			{name: "X-Original-URL", header: forgedOriginalURL, wantAuth: 403, wantClient: 403},
			{name: "X-Forwarded-Host", header: forgedForwardedHost, wantAuth: 403, wantClient: 403},
		}},
		{proxy: "traefik", mode: "auto", cases: []forgery{
			{name: "none", wantAuth: 403, wantClient: 403},
			{name: "X-Original-URL", header: forgedOriginalURL, wantAuth: 400, wantClient: 400},
			{name: "X-Forwarded-Host", header: forgedForwardedHost, wantAuth: 403, wantClient: 403},
		}},
	}
	for _, g := range groups {
		t.Run(g.proxy+"/"+g.mode, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, stackOptions{Proxy: g.proxy, Mode: g.mode, Dashboards: profiles})
			b := s.newBrowser()
			s.signIn(b, https(grafana, "/"), "alice")
			for _, tc := range g.cases {
				t.Run(tc.name, func(t *testing.T) {
					mark := s.tap.Mark()
					hits := len(s.dashboards[headlamp].Hits())
					page, err := b.Fetch(http.MethodGet, https(headlamp, "/spoof"), tc.header)
					mustf(t, err, "request")
					calls := s.tap.Since(mark)
					if len(calls) != 1 {
						t.Fatalf("/auth calls = %d; want 1", len(calls))
					}
					checkProxyOverwrote(t, g.proxy, calls[0].Header)
					if calls[0].Status != tc.wantAuth || page.Status != tc.wantClient {
						t.Errorf("/auth answered %d, browser got %d; want %d, %d", calls[0].Status, page.Status, tc.wantAuth, tc.wantClient)
					}
					if n := len(s.dashboards[headlamp].Hits()) - hits; n != 0 {
						t.Errorf("headlamp reached %d times by a user its profile refuses", n)
					}
				})
			}
			if g.mode == "auto" {
				return
			}
			// Signed out, both forgeries at once: the sign-in still returns to the real URL.
			t.Run("signed out", func(t *testing.T) {
				fresh := s.newBrowser()
				h := http.Header{"Accept": {"text/html"}, "Sec-Fetch-Mode": {"navigate"}}
				for _, f := range []http.Header{forgedOriginalURL, forgedForwardedHost} {
					for k, v := range f {
						h[k] = v
					}
				}
				page, err := fresh.Fetch(http.MethodGet, https(headlamp, "/spoof?x=1"), h)
				mustf(t, err, "request")
				loc, err := url.Parse(page.Header.Get("Location"))
				mustf(t, err, "Location")
				if rd := loc.Query().Get("rd"); page.Status != http.StatusFound || rd != https(headlamp, "/spoof?x=1") {
					t.Errorf("got %d with rd %q; want 302 with rd %q", page.Status, rd, https(headlamp, "/spoof?x=1"))
				}
			})
		})
	}
}

// checkProxyOverwrote asserts /auth saw the proxy's own forward headers for the real
// request, whatever the client sent under those names.
func checkProxyOverwrote(t *testing.T, proxy string, h http.Header) {
	t.Helper()
	want := map[string]string{}
	switch proxy {
	case "nginx":
		want["X-Original-Url"] = https(headlamp, "/spoof")
		want["X-Original-Method"] = http.MethodGet
	case "caddy", "traefik":
		want["X-Forwarded-Host"] = headlamp
		want["X-Forwarded-Uri"] = "/spoof"
		want["X-Forwarded-Proto"] = "https"
		want["X-Forwarded-Method"] = http.MethodGet
	}
	for name, v := range want {
		if got := h.Values(name); len(got) != 1 || got[0] != v {
			t.Errorf("/auth got %s %q; want the proxy's [%q]", name, got, v)
		}
	}
}
