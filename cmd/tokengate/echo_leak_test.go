package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/devidp"
)

// A provider (or a proxy in front of it) that echoes the whole request into error_description,
// error_uri, its ids or an HTML error page must not get one credential into a log line, a
// span, a metric or a page. The development provider echoes every token call, a refresh and
// a sign-in's code redemption, with both ways of sending the client secret.
func TestProviderEchoNeverLeaks(t *testing.T) {
	tests := []struct {
		name   string
		method string
		mode   devidp.EchoMode
	}{
		{name: "json post", method: config.AuthClientSecretPost, mode: devidp.EchoJSON},
		{name: "json basic", method: config.AuthClientSecretBasic, mode: devidp.EchoJSON},
		{name: "html post", method: config.AuthClientSecretPost, mode: devidp.EchoHTML},
		{name: "html basic", method: config.AuthClientSecretBasic, mode: devidp.EchoHTML},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tap := &tokenTap{}
			h, exp := newTracedHarness(t, func(c *config.Config) {
				c.Provider.ClientAuthMethod = tc.method
				c.Metrics.InsecureServeOnListen = true
			}, tap)
			h.signIn("alice")
			if _, err := h.browser.Navigate(h.auth.URL + "/oauth2/sign_out"); err != nil {
				t.Fatal(err)
			}
			h.signIn("alice")
			h.idp.SetEcho(tc.mode)
			var pages strings.Builder

			// A refresh the provider answers with the echo.
			h.clock.Advance(testTokenLifetime + time.Minute)
			page := h.authRequest(http.Header{"Accept": {"text/html"}, "Sec-Fetch-Mode": {"navigate"}})
			pages.Write(page.Body)

			// A sign-in whose code redemption the provider answers with the echo.
			if _, err := h.browser.Navigate(h.auth.URL + "/oauth2/sign_out"); err != nil {
				t.Fatal(err)
			}
			page, err := h.browser.Navigate(h.dashboard.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			page, err = h.browser.SignIn(page, "alice", "password")
			if err != nil {
				t.Fatal(err)
			}
			if page.Status < 400 || !strings.Contains(string(page.Body), "Sign in again") {
				t.Fatalf("echoed redemption = %d %s; want an error page with a sign-in link", page.Status, page.Body)
			}
			pages.Write(page.Body)

			credentials := append(tap.secrets(), testClientSecret, h.cfg.Cookie.Secrets[0].Reveal(),
				base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(testClientID)+":"+url.QueryEscape(testClientSecret))))
			for _, hop := range h.browser.Hops {
				u, _ := url.Parse(hop)
				credentials = append(credentials, u.Query().Get("code"))
			}
			texts := map[string]string{"logs": h.logs.String(), "spans": spanText(exp.GetSpans()), "pages": pages.String(), "metrics": h.openMetrics()}
			if !strings.Contains(texts["logs"], "AADSTS50000") && tc.mode == devidp.EchoJSON {
				t.Fatalf("the logs lack the echoed answer's AADSTS number; the check would prove little:\n%s", texts["logs"])
			}
			checkNoCredential(t, credentials, texts, 6)
		})
	}
}

// A Graph stand-in that echoes the request, Graph token included, into its error's code,
// message and request id (or an HTML page) must not get it into a log, span or page.
func TestGraphEchoNeverLeaks(t *testing.T) {
	for _, mode := range []devidp.EchoMode{devidp.EchoJSON, devidp.EchoHTML} {
		t.Run(map[devidp.EchoMode]string{devidp.EchoJSON: "json", devidp.EchoHTML: "html"}[mode], func(t *testing.T) {
			tap := &tokenTap{}
			h, exp := newTracedHarness(t, func(c *config.Config) {
				c.Dashboards = []config.Dashboard{
					{Name: "home", Preset: "grafana", Default: true},
					{Name: "ops", Preset: "headlamp", Hosts: []string{"ops.example.test"},
						AllowedGroups: []string{devidp.GroupDevelopers}, GraphGroupLookup: true},
				}
			}, tap)
			h.signIn("overage")
			ops := http.Header{"X-Forwarded-Host": {"ops.example.test"}, "Accept": {"text/html"}, "Sec-Fetch-Mode": {"navigate"}}
			if page := h.authRequest(ops); page.Status != http.StatusOK {
				t.Fatalf("/auth for ops before the echo = %d; want 200", page.Status)
			}
			// Past the group cache, within the Graph token's life: the next /auth asks Graph.
			h.clock.Advance(6 * time.Minute)
			h.idp.SetEcho(mode)
			calls := h.idp.GraphCalls()
			page := h.authRequest(ops)
			if page.Status == http.StatusOK || h.idp.GraphCalls() != calls+1 {
				t.Fatalf("/auth with Graph echoing = %d after %d Graph calls; want a refusal after one call", page.Status, h.idp.GraphCalls()-calls)
			}
			texts := map[string]string{"logs": h.logs.String(), "spans": spanText(exp.GetSpans()), "pages": string(page.Body)}
			if !strings.Contains(texts["logs"], "Graph answered") {
				t.Fatalf("the logs lack the Graph failure; the check would prove little:\n%s", texts["logs"])
			}
			checkNoCredential(t, append(tap.secrets(), testClientSecret), texts, 4)
		})
	}
}

// checkNoCredential fails when any credential (at least 16 bytes), its last 16 bytes or its
// URL-encoded start appears in any of texts; at least min credentials must be checked.
func checkNoCredential(t *testing.T, credentials []string, texts map[string]string, min int) {
	t.Helper()
	checked := 0
	for _, c := range credentials {
		if len(c) < 16 {
			continue
		}
		checked++
		for where, text := range texts {
			if strings.Contains(text, c) || strings.Contains(text, c[len(c)-16:]) || strings.Contains(text, url.QueryEscape(c)[:16]) {
				t.Errorf("a credential (%d bytes, ends …%s) appears in the %s", len(c), c[len(c)-4:], where)
			}
		}
	}
	if checked < min {
		t.Fatalf("only %d credentials collected; want %d: the tap or the flow is broken", checked, min)
	}
}
