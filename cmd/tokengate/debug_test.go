package main

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/config"
)

// debugDashboards are profiles of every token kind: the AKS token (default), another API,
// Microsoft Graph, the id_token, none, and one that refuses alice.
const debugDashboards = `[
 {"name": "headlamp", "preset": "headlamp", "default": true},
 {"name": "reports", "hosts": ["reports.example.test"], "token": {"kind": "access_token", "scopes": "api://reports/.default"}},
 {"name": "graph", "hosts": ["graph.example.test"], "token": {"kind": "access_token", "scopes": "https://graph.microsoft.com/User.Read"}},
 {"name": "structured", "preset": "structured-auth", "hosts": ["k8s.example.test"]},
 {"name": "grafana", "preset": "grafana", "hosts": ["grafana.example.test"]},
 {"name": "admins-only", "hosts": ["admin.example.test"], "allowedGroups": ["11111111-0000-4000-8000-000000000000"]}
]`

// The debug page shows what jwt.io would, and never a token: it is checked against every
// credential of the run (tokens issued, refresh tokens, the code, the federated token,
// cookies) and against each JWT's signature and encoded segments.
func TestDebugPage(t *testing.T) {
	h := newWorkloadIdentityHarness(t, wiOptions{
		env:       []string{"TOKENGATE_DEBUG_ENABLED=true", "TOKENGATE_DASHBOARDS=" + debugDashboards},
		consented: []string{config.AKSServerAppID, "api://reports", "https://graph.microsoft.com"},
	})

	// Not signed in: a browser is sent to sign in and back, a script gets 401.
	page, err := h.browser.Fetch(http.MethodGet, h.auth.URL+"/oauth2/debug", http.Header{"Accept": {"application/json"}})
	if err != nil || page.Status != http.StatusUnauthorized {
		t.Fatalf("signed-out fetch = %v, %v; want 401", page.Status, err)
	}
	page, err = h.browser.Fetch(http.MethodGet, h.auth.URL+"/oauth2/debug", http.Header{"Accept": {"text/html"}, "Sec-Fetch-Mode": {"navigate"}})
	if err != nil || page.Status != http.StatusFound {
		t.Fatalf("signed-out navigation = %v, %v; want 302", page.Status, err)
	}
	if want := "/oauth2/start?rd=" + url.QueryEscape("/oauth2/debug"); !strings.HasSuffix(page.Header.Get("Location"), want) {
		t.Errorf("Location = %q; want …%s", page.Header.Get("Location"), want)
	}

	h.signIn("alice")
	// Signing in from the debug page comes back to it.
	page, err = h.browser.Navigate(h.auth.URL + "/oauth2/start?rd=" + url.QueryEscape("/oauth2/debug"))
	if err != nil || page.Status != http.StatusOK || page.URL.Path != "/oauth2/debug" {
		t.Fatalf("debug page = %v at %v, %v; want 200 at /oauth2/debug", page.Status, page.URL, err)
	}
	if got := page.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", got)
	}
	if got := page.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
		t.Errorf("Content-Type = %q; want HTML", got)
	}
	body := string(page.Body)
	text := html.UnescapeString(body)
	for _, want := range []string{
		`"aud": "` + config.AKSServerAppID + `"`, // the AKS token's claims
		`"aud": "api://reports"`,                 // the other API's token
		`"aud": "00000003-0000-0000-c000-000000000000"`,
		`"aud": "` + testClientID + `"`, // the id_token, on its own and for the structured profile
		`"preferred_username": "alice@contoso.example"`,
		`"x5t":`, `"alg": "RS256"`, // headers
		"Dashboard admins-only", "refused (403)", "admins-only requires membership",
		"Dashboard grafana", "X-Webauth-User",
		"alice@contoso.example", "Expires ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("debug page lacks %q", want)
		}
	}
	if strings.Contains(body, `"aud"`) {
		t.Error("claims are not HTML-escaped")
	}

	var secrets []string
	for _, v := range h.issued.values() {
		secrets = append(secrets, v)
		if parts := strings.Split(v, "."); len(parts) == 3 {
			secrets = append(secrets, parts...) // header, payload and signature, still encoded
		}
	}
	authURL, _ := url.Parse(h.auth.URL)
	for _, c := range h.browser.Client.Jar.Cookies(authURL) {
		secrets = append(secrets, c.Value)
	}
	if len(secrets) < 10 {
		t.Fatalf("only %d credentials recorded; the leak check would prove little", len(secrets))
	}
	for _, s := range secrets {
		if len(s) >= 16 && (strings.Contains(body, s) || strings.Contains(text, s)) {
			t.Errorf("the debug page contains a credential or token segment (%d chars)", len(s))
		}
	}
}

func TestDebugPageOffByDefault(t *testing.T) {
	h := newHarness(t, nil)
	h.signIn("alice")
	page, err := h.browser.Navigate(h.auth.URL + "/oauth2/debug")
	if err != nil || page.Status != http.StatusNotFound {
		t.Fatalf("debug page without debug.enabled = %v, %v; want 404", page.Status, err)
	}
	if strings.Contains(string(page.Body), "aud") {
		t.Error("the 404 page shows claims")
	}
}
