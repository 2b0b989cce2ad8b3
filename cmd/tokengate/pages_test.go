package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/config"
)

// pageHeaders are the headers every HTML page of tokengate carries: never cached, no
// Referer leaking a callback's code, no sniffing, nothing framed, scripted or loaded.
var pageHeaders = map[string]string{
	"Cache-Control":           "no-store",
	"Referrer-Policy":         "no-referrer",
	"X-Content-Type-Options":  "nosniff",
	"Content-Security-Policy": "frame-ancestors 'none'",
}

func checkPageHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for name, want := range pageHeaders {
		if got := h.Get(name); !strings.Contains(got, want) {
			t.Errorf("%s: %s = %q; want it to contain %q", what, name, got, want)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("%s: Content-Security-Policy = %q; want default-src 'none'", what, csp)
	}
}

// Every HTML page, and every browser error, carries the page headers; errors are small pages
// with a sign-in link for browsers and one line of text for everyone else.
func TestEveryPageHasSecurityHeaders(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { twoDashboards(c); c.Debug.Enabled = true })
	h.signIn("alice")
	tests := []struct {
		name       string
		path       string
		header     http.Header // for /auth: the forward headers
		wantStatus int
		wantText   string
		errorPage  bool
	}{
		{name: "root, signed in", path: "/", wantStatus: http.StatusOK, wantText: "You are signed in"},
		{name: "debug page", path: "/oauth2/debug", wantStatus: http.StatusOK, wantText: "alice"},
		{name: "unknown path", path: "/nope", wantStatus: http.StatusNotFound, wantText: "o such endpoint", errorPage: true},
		{name: "forged callback", path: "/oauth2/callback?code=x&state=" + strings.Repeat("A", 43), wantStatus: http.StatusForbidden, wantText: "not started in this browser", errorPage: true},
		{name: "frontchannel without sid", path: "/oauth2/frontchannel_logout", wantStatus: http.StatusBadRequest, wantText: "sid", errorPage: true},
		{name: "auth refusal of a navigation", path: "/auth", wantStatus: http.StatusForbidden, wantText: "evs requires", errorPage: true,
			header: http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"dev.example.test"}, "X-Forwarded-Uri": {"/"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			browser := http.Header{"Accept": {"text/html,application/xhtml+xml"}, "Sec-Fetch-Mode": {"navigate"}}
			for k, v := range tc.header {
				browser[k] = v
			}
			page, err := h.browser.Fetch(http.MethodGet, h.auth.URL+tc.path, browser)
			if err != nil {
				t.Fatal(err)
			}
			body := string(page.Body)
			if page.Status != tc.wantStatus || !strings.Contains(body, tc.wantText) || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("browser got %d %s %q; want %d HTML containing %q", page.Status, page.Header.Get("Content-Type"), body, tc.wantStatus, tc.wantText)
			}
			checkPageHeaders(t, "browser", page.Header)
			if !tc.errorPage {
				return
			}
			if !strings.Contains(body, "Sign in again") || !strings.Contains(body, "/oauth2/start") {
				t.Errorf("error page has no sign-in link: %s", body)
			}
			api := http.Header{"Accept": {"application/json"}}
			for k, v := range tc.header {
				api[k] = v
			}
			page, err = h.browser.Fetch(http.MethodGet, h.auth.URL+tc.path, api)
			if err != nil {
				t.Fatal(err)
			}
			if page.Status != tc.wantStatus || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/plain") || strings.Contains(string(page.Body), "<") {
				t.Errorf("API client got %d %s %q; want %d plain text", page.Status, page.Header.Get("Content-Type"), page.Body, tc.wantStatus)
			}
		})
	}
}

// A sign-out without rd, or with an rd the policy refuses, lands on the public URL's root,
// which says "You are signed out" and offers to sign in again.
func TestSignOutLandsOnSignedOutPage(t *testing.T) {
	for _, rd := range []string{"", "?rd=https://evil.example/", "?rd=//evil.example/"} {
		t.Run("sign_out"+rd, func(t *testing.T) {
			h := newHarness(t, nil)
			h.signIn("alice")
			page, err := h.browser.Navigate(h.auth.URL + "/oauth2/sign_out" + rd)
			if err != nil {
				t.Fatal(err)
			}
			body := string(page.Body)
			if page.Status != http.StatusOK || page.URL.String() != h.auth.URL+"/" ||
				!strings.Contains(body, "You are signed out") || !strings.Contains(body, `href="/oauth2/start"`) {
				t.Fatalf("sign-out ended at %s with %d %q; want %s/ saying signed out, with a sign-in link", page.URL, page.Status, body, h.auth.URL)
			}
			checkPageHeaders(t, "signed-out page", page.Header)
			text, err := h.browser.Fetch(http.MethodGet, h.auth.URL+"/", http.Header{"Accept": {"*/*"}})
			if err != nil || text.Status != http.StatusOK || string(text.Body) != "signed out\n" {
				t.Errorf("root for a non-browser = %v %q; want 200 \"signed out\"", err, text.Body)
			}
		})
	}
}

// Every redirect tokengate answers carries the page headers too: gin writes a small HTML
// body with each 302, which must not be framed, cached or leak its URL as a referrer.
func TestRedirectsHaveSecurityHeaders(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { twoDashboards(c); c.Debug.Enabled = true })
	navigation := http.Header{"Accept": {"text/html"}, "Sec-Fetch-Mode": {"navigate"},
		"X-Forwarded-Method": {"GET"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"dev.example.test"}, "X-Forwarded-Uri": {"/"}}
	client := &http.Client{Transport: h.auth.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		name, path string
		header     http.Header
	}{
		{name: "/auth without a session, page navigation", path: "/auth", header: navigation},
		{name: "sign-in start", path: "/oauth2/start?rd=/"},
		{name: "sign-out", path: "/oauth2/sign_out"},
		{name: "debug page without a session", path: "/oauth2/debug", header: http.Header{"Accept": {"text/html"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, h.auth.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("GET %s = %d; want 302", tc.path, resp.StatusCode)
			}
			checkPageHeaders(t, tc.path, resp.Header)
		})
	}
}
