package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Nothing that unlocks the cluster may reach a log line: not the access token, not the
// authorization code, not the session cookie, not the client secret or cookie key. The
// logger runs at debug level through sign-in, refresh, a provider outage, refusals and
// sign-out; then every credential seen on the wire is searched for in the output.
func TestLogsNeverContainCredentials(t *testing.T) {
	h := newHarness(t, nil)
	h.signIn("alice")
	var credentials []string
	for _, hop := range h.browser.Hops {
		u, _ := url.Parse(hop)
		if code := u.Query().Get("code"); code != "" {
			credentials = append(credentials, code)
		}
	}
	if len(credentials) == 0 {
		t.Fatal("no authorization code seen in the sign-in hops")
	}
	first, _ := h.bearer()
	credentials = append(credentials, first)

	h.clock.Advance(testTokenLifetime + time.Minute)
	refreshed := h.authRequest(nil)
	credentials = append(credentials, h.credentialsIn(refreshed)...)
	h.idp.SetUnavailable(true)
	h.clock.Advance(testTokenLifetime + time.Minute)
	h.authRequest(nil)
	h.idp.SetUnavailable(false)
	h.authRequest(http.Header{"X-Original-Url": {"https://other.example/"}, "X-Forwarded-Host": {"x.example"}})
	if _, err := h.browser.Navigate(h.auth.URL + "/oauth2/callback?code=forged-code-value&state=" + strings.Repeat("B", 43)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.browser.Navigate(h.auth.URL + "/oauth2/sign_out"); err != nil {
		t.Fatal(err)
	}
	credentials = append(credentials, testClientSecret, h.cfg.Cookie.Secrets[0].Reveal(), "forged-code-value")

	logs := h.logs.String()
	if !strings.Contains(logs, "signed in") || !strings.Contains(logs, "request failed") {
		t.Fatalf("the logs did not record the flow; the leak check would prove nothing:\n%s", logs)
	}
	for _, c := range credentials {
		if len(c) < 8 {
			continue
		}
		if strings.Contains(logs, c) || strings.Contains(logs, c[len(c)-16:]) {
			t.Errorf("a credential (%d bytes, ends …%s) appears in the logs", len(c), c[len(c)-4:])
		}
	}
}
