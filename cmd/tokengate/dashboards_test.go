package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/devidp"
)

const graphAppID = "00000003-0000-0000-c000-000000000000"

// One sign-in serves Headlamp (AKS token), Grafana (headers only), a structured-auth cluster
// (id_token) and a tool that needs a Graph token, each with its own allow-list.
func TestOneSignInManyDashboards(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Dashboards = []config.Dashboard{
			{Name: "headlamp", Preset: "headlamp", Hosts: []string{"headlamp.example.test"}, Default: true,
				AllowedGroups: []string{devidp.GroupPlatformAdmins}},
			{Name: "grafana", Preset: "grafana", Hosts: []string{"grafana.example.test"}},
			{Name: "structured", Preset: "structured-auth", Hosts: []string{"kube.example.test"}},
			{Name: "tools", Hosts: []string{"*.tools.example.test"},
				Token:   config.DashboardToken{Kind: config.TokenAccess, Scopes: "https://graph.microsoft.com/User.Read"},
				Headers: map[string]string{"Authorization": "Bearer ${token}", "X-User-Oid": "${oid}"}},
			{Name: "devs", Preset: "headlamp", Hosts: []string{"dev.example.test"},
				Token:         config.DashboardToken{Scopes: "https://graph.microsoft.com/.default"},
				AllowedGroups: []string{devidp.GroupDevelopers}},
		}
	})
	h.signIn("alice") // through the default profile
	on := func(host string) *httpAnswer {
		page := h.authRequest(http.Header{"X-Forwarded-Host": {host}})
		return &httpAnswer{status: page.Status, header: page.Header, body: string(page.Body)}
	}

	headlamp := on("headlamp.example.test")
	if headlamp.status != http.StatusOK || h.claim(headlamp, "aud") != config.AKSServerAppID {
		t.Errorf("headlamp: %d, aud %v; want 200 with the AKS token", headlamp.status, h.claim(headlamp, "aud"))
	}
	grafana := on("grafana.example.test")
	if grafana.status != http.StatusOK || grafana.header.Get("Authorization") != "" || grafana.header.Get("X-Webauth-User") != "alice@contoso.example" {
		t.Errorf("grafana: %d, headers %v; want 200 with X-WEBAUTH-USER and no token", grafana.status, grafana.header)
	}
	kube := on("kube.example.test")
	if kube.status != http.StatusOK || h.claim(kube, "aud") != testClientID || h.claim(kube, "iss") != h.idp.Issuer() {
		t.Errorf("structured-auth: %d, aud %v iss %v; want the id_token", kube.status, h.claim(kube, "aud"), h.claim(kube, "iss"))
	}
	if got := h.idp.TokenCalls("refresh_token"); got != 0 {
		t.Errorf("refreshes before any other resource = %d; want 0 (AKS token and id_token come from the sign-in)", got)
	}
	tools := on("a.tools.example.test")
	if tools.status != http.StatusOK || h.claim(tools, "aud") != graphAppID || tools.header.Get("X-User-Oid") == "" {
		t.Errorf("tools: %d, aud %v; want 200 with a Graph token from the same refresh token", tools.status, h.claim(tools, "aud"))
	}
	if got := h.idp.TokenCalls("refresh_token"); got != 1 {
		t.Errorf("refreshes after the first Graph use = %d; want 1", got)
	}

	devs := on("dev.example.test")
	if devs.status != http.StatusForbidden || !strings.Contains(devs.body, "devs requires membership") || len(devs.header.Values("Set-Cookie")) != 0 {
		t.Errorf("devs: %d %q cookies %v; want 403 naming the dashboard, keeping the session", devs.status, devs.body, devs.header.Values("Set-Cookie"))
	}
	if got := h.idp.TokenCalls("refresh_token"); got != 1 {
		t.Errorf("a refused user caused a token request (refreshes %d); the decision comes first", got)
	}
	if again := on("headlamp.example.test"); again.status != http.StatusOK {
		t.Errorf("after a refusal elsewhere, headlamp = %d; want 200 (session kept)", again.status)
	}
	if got := h.idp.AuthorizeCalls(); got != 1 {
		t.Errorf("authorize calls = %d; want exactly one sign-in for every dashboard", got)
	}
	if unknown := on("unknown.example.test"); unknown.status != http.StatusOK {
		t.Errorf("unknown host with a default profile = %d; want 200", unknown.status)
	}
}

func TestUnknownHostWithoutDefaultIsRefused(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Dashboards = []config.Dashboard{{Name: "grafana", Preset: "grafana", Hosts: []string{"grafana.example.test"}}}
	})
	page := h.authRequest(http.Header{"X-Forwarded-Host": {"other.example.test"}})
	if page.Status != http.StatusForbidden || !strings.Contains(string(page.Body), "other.example.test") {
		t.Errorf("got %d %q; want 403 naming the host", page.Status, page.Body)
	}
}

type httpAnswer struct {
	status int
	header http.Header
	body   string
}

func (h *harness) claim(a *httpAnswer, name string) any {
	raw, ok := strings.CutPrefix(a.header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil
	}
	return jwtClaims(h.t, raw)[name]
}
