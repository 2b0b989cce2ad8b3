package main

import (
	"encoding/base64"
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

// A user in more than 200 groups: Entra sends no group list. A profile that needs a group
// refuses with a reason, or asks Graph when allowed to.
func TestGroupsOverage(t *testing.T) {
	for _, tc := range []struct {
		name       string
		graph      bool
		wantStatus int
		wantText   string
	}{
		{name: "without graph lookup", graph: false, wantStatus: http.StatusForbidden, wantText: "more than 200 groups"},
		{name: "with graph lookup", graph: true, wantStatus: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *config.Config) {
				c.Dashboards = []config.Dashboard{
					{Name: "home", Preset: "grafana", Default: true},
					{Name: "ops", Preset: "headlamp", Hosts: []string{"ops.example.test"},
						AllowedGroups: []string{devidp.GroupDevelopers}, GraphGroupLookup: tc.graph},
				}
			})
			h.signIn("overage")
			page := h.authRequest(http.Header{"X-Forwarded-Host": {"ops.example.test"}})
			if page.Status != tc.wantStatus || !strings.Contains(string(page.Body), tc.wantText) {
				t.Fatalf("got %d %q; want %d containing %q", page.Status, page.Body, tc.wantStatus, tc.wantText)
			}
			if !tc.graph {
				if got := h.idp.GraphCalls(); got != 0 {
					t.Errorf("graph calls = %d; want 0 without graphGroupLookup", got)
				}
				return
			}
			h.authRequest(http.Header{"X-Forwarded-Host": {"ops.example.test"}})
			if got := h.idp.GraphCalls(); got != 1 {
				t.Errorf("graph calls after two requests = %d; want 1 (cached per session)", got)
			}
		})
	}
}

// A CLI with its own AKS token and no session is let through unchanged by a profile that
// trusts the token's issuer and audience, and refused otherwise.
func TestBearerPassThrough(t *testing.T) {
	var aksIssuer string
	h := newHarness(t, func(c *config.Config) {
		c.Dashboards = []config.Dashboard{
			{Name: "headlamp", Preset: "headlamp", Default: true},
			{Name: "cli", Preset: "headlamp", Hosts: []string{"cli.example.test"},
				BearerPassThrough: []config.BearerIssuer{{IssuerURL: strings.TrimSuffix(c.Provider.IssuerURL, "v2.0"), Audiences: []string{config.AKSServerAppID}}}},
			{Name: "strict", Preset: "headlamp", Hosts: []string{"strict.example.test"}, AllowedGroups: []string{devidp.GroupDevelopers},
				BearerPassThrough: []config.BearerIssuer{{IssuerURL: strings.TrimSuffix(c.Provider.IssuerURL, "v2.0"), Audiences: []string{config.AKSServerAppID}}}},
		}
		aksIssuer = strings.TrimSuffix(c.Provider.IssuerURL, "v2.0")
	})
	if aksIssuer != h.idp.AccessTokenIssuer() {
		t.Fatalf("test setup: v1 issuer %q != %q", aksIssuer, h.idp.AccessTokenIssuer())
	}
	h.signIn("alice")
	token, _ := h.bearer()

	cli := func(host, authz string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, h.auth.URL+"/auth", nil)
		req.Header.Set("X-Forwarded-Host", host)
		req.Header.Set("X-Forwarded-Uri", "/api/v1/pods")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("Authorization", authz)
		resp, err := h.auth.Client().Do(req) // no cookie jar: no session
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	tests := []struct {
		name       string
		host       string
		authz      string
		wantStatus int
	}{
		{name: "trusted token passes", host: "cli.example.test", authz: "Bearer " + token, wantStatus: http.StatusOK},
		{name: "policy still applies", host: "strict.example.test", authz: "Bearer " + token, wantStatus: http.StatusForbidden},
		{name: "profile without pass-through", host: "headlamp.example.test", authz: "Bearer " + token, wantStatus: http.StatusUnauthorized},
		{name: "tampered signature", host: "cli.example.test", authz: "Bearer " + token[:len(token)-4] + "AAAA", wantStatus: http.StatusUnauthorized},
		{name: "alg none", host: "cli.example.test", authz: "Bearer " + algNone(token), wantStatus: http.StatusUnauthorized},
		{name: "not a bearer", host: "cli.example.test", authz: "Basic YTpi", wantStatus: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := cli(tc.host, tc.authz)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d; want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus == http.StatusOK && resp.Header.Get("Authorization") != tc.authz {
				t.Errorf("the token was not passed through unchanged")
			}
		})
	}
	h.clock.Advance(2 * testTokenLifetime)
	if resp := cli("cli.example.test", "Bearer "+token); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired token: status %d; want 401", resp.StatusCode)
	}
}

// algNone rewrites a JWT's header to alg "none" and drops the signature.
func algNone(token string) string {
	parts := strings.SplitN(token, ".", 3)
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
}
