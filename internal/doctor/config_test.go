package doctor

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// baseConfig is a healthy configuration: two dashboards under one cookie domain.
const baseConfig = `publicURL: https://auth.example.com
allowedRedirectDomains: [".example.com"]
provider:
  issuerURL: ISSUER
  clientID: CLIENT
  clientSecret: SECRET
cookie:
  domain: .example.com
  secrets: [KEY]
dashboards:
  - name: headlamp
    preset: headlamp
    hosts: [headlamp.example.com]
  - name: grafana
    preset: grafana
    hosts: [grafana.example.com]
`

const zeroKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

func TestCheckConfig(t *testing.T) {
	f := newIDP(t)
	closed := httptest.NewServer(nil)
	closedURL := closed.URL + "/tenant/v2.0"
	closed.Close()
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(stuck.Close)
	key := randomKey(t)
	tests := []struct {
		name     string
		edit     map[string]string // replacements in baseConfig, after the placeholders
		wantFail bool
		want     []string
	}{
		{
			name: "healthy configuration",
			want: []string{
				"✓ config valid", "✓ dashboards build — 2 profile(s): headlamp, grafana",
				"✓ issuer discovery", "✓ issuer matches",
				"✓ redirect URI — register exactly https://auth.example.com/oauth2/callback as a Web redirect URI of app doctor-client",
				// devidp issues app-only tokens like Entra; a refusal after authentication is
				// judged in TestJudgeCredentials.
				"✓ client credentials — accepted",
				"✓ offline_access", "✓ resource scope — provider.resourceScope \"6dae42f8-4368-4678-94ff-3960e28e3630/.default\" names one resource, the AKS server app",
				"✓ cookie keys — 1 key(s)", "✓ cookie domain — .example.com covers publicURL and all 2 dashboard host(s)",
				"✓ allowed redirects",
				"✓ dashboard headlamp — for headlamp.example.com sends the AKS access token (6dae42f8-4368-4678-94ff-3960e28e3630/.default) in Authorization; the proxy must copy Authorization, X-Auth-Request-Email, X-Auth-Request-User",
				"✓ dashboard grafana — for grafana.example.com sends no token",
			},
		},
		{
			name: "v1 endpoint instead of v2", edit: map[string]string{"ISSUER": f.tenantBase()}, wantFail: true,
			want: []string{"✗ issuer matches — provider.issuerURL is " + f.tenantBase() + " but the provider names itself " + f.tenantBase() + "/",
				"this is the v1 endpoint", "Fix: set provider.issuerURL: " + f.p.Issuer(), "✓ client credentials"},
		},
		{
			name: "trailing slash", edit: map[string]string{"ISSUER": f.p.Issuer() + "/"}, wantFail: true,
			want: []string{"✗ issuer matches", "differ only by the trailing slash", "Fix: set provider.issuerURL: " + f.p.Issuer()},
		},
		{
			name: "unreachable issuer", edit: map[string]string{"ISSUER": closedURL}, wantFail: true,
			want: []string{"✗ issuer discovery — GET " + closedURL + "/.well-known/openid-configuration", "connection refused",
				"! client credentials — not checked"},
		},
		{
			name: "issuer slower than provider.timeout", edit: map[string]string{"ISSUER": stuck.URL + "/t/v2.0", "clientSecret: SECRET": "clientSecret: SECRET\n  timeout: 200ms"}, wantFail: true,
			want: []string{"✗ issuer discovery", "no answer within provider.timeout (200ms)", "raise provider.timeout"},
		},
		{
			name: "bad client secret", edit: map[string]string{"SECRET": "wrong-secret-value"}, wantFail: true,
			want: []string{"✗ client credentials — the provider rejected the client secret as invalid (AADSTS7000215)",
				"Fix: in the app registration doctor-client → Certificates & secrets"},
		},
		{
			name: "bad client secret sent as basic", edit: map[string]string{"SECRET": "wrong-secret-value", "clientSecret:": "clientAuthMethod: client_secret_basic\n  clientSecret:"}, wantFail: true,
			want: []string{"✗ client credentials — the provider rejected the client secret as invalid (AADSTS7000215)"},
		},
		{
			name: "unknown client id", edit: map[string]string{"CLIENT": "not-our-app"}, wantFail: true,
			want: []string{"✗ client credentials — the provider knows no application not-our-app", "AADSTS700016"},
		},
		{
			name: "two resources in the resource scope", edit: map[string]string{"clientSecret: SECRET": "clientSecret: SECRET\n  resourceScope: 6dae42f8-4368-4678-94ff-3960e28e3630/.default https://graph.microsoft.com/User.Read"}, wantFail: true,
			want: []string{"✗ config valid", "provider.resourceScope:",
				"✗ resource scope — provider.resourceScope", "names 2 resources (6dae42f8-4368-4678-94ff-3960e28e3630, https://graph.microsoft.com)", "AADSTS28000"},
		},
		{
			name: "scopes copied from the Headlamp guide", edit: map[string]string{"clientSecret: SECRET": "clientSecret: SECRET\n  scopes: [openid, profile, email, 6dae42f8-4368-4678-94ff-3960e28e3630/user.read]"}, wantFail: true,
			want: []string{"✗ config valid", "provider.scopes: must contain offline_access",
				"✗ offline_access — provider.scopes lacks offline_access", "Headlamp's Entra guide",
				"✗ sign-in scopes", "mixes 6dae42f8-4368-4678-94ff-3960e28e3630/.default with named scopes"},
		},
		{
			name: "all-zero cookie key", edit: map[string]string{"KEY": zeroKey}, wantFail: true,
			want: []string{"✗ cookie keys — cookie.secrets[0] is 32 identical bytes (0x00)", "Fix: generate a key with: openssl rand -base64 32"},
		},
		{
			name: "dashboard outside the cookie domain", edit: map[string]string{"hosts: [grafana.example.com]": "hosts: [grafana.other.org]", `[".example.com"]`: `[".example.com", "grafana.other.org"]`}, wantFail: true,
			want: []string{"✗ cookie domain — cookie.domain .example.com does not cover grafana.other.org (dashboards[1].hosts[0])", "✓ allowed redirects"},
		},
		{
			name: "host-only cookie with dashboards elsewhere", edit: map[string]string{"  domain: .example.com\n": ""}, wantFail: true,
			want: []string{"✗ cookie domain — cookie.domain is empty, so the session cookie belongs to auth.example.com alone and is never sent to headlamp.example.com",
				"Fix: set cookie.domain to the parent domain of publicURL and every dashboard, e.g. .example.com"},
		},
		{
			name: "dashboard host not in allowedRedirectDomains", edit: map[string]string{`[".example.com"]`: `[headlamp.example.com]`}, wantFail: true,
			want: []string{"✗ allowed redirects — grafana.example.com (dashboards[1].hosts[0]) is not covered by allowedRedirectDomains", "✓ cookie domain"},
		},
		{
			name: "id_token sent to a Kubernetes dashboard", edit: map[string]string{"preset: headlamp": "preset: headlamp\n    token: {kind: id_token}"},
			want: []string{"! dashboard headlamp — for headlamp.example.com sends the id_token (aud = provider.clientID) in Authorization", "answers 401 to an id_token"},
		},
		{
			name: "unknown preset", edit: map[string]string{"preset: grafana": "preset: graphana"}, wantFail: true,
			want: []string{"✓ config valid", "✗ dashboards build", `dashboards[1].preset: unknown preset "graphana"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			yaml := baseConfig
			for from, to := range tc.edit {
				if !strings.Contains(yaml, from) {
					t.Fatalf("baseConfig has no %q", from)
				}
				yaml = strings.Replace(yaml, from, to, 1)
			}
			yaml = strings.NewReplacer("ISSUER", f.p.Issuer(), "CLIENT", testClientID, "SECRET", testSecret, "KEY", key).Replace(yaml)
			rep := CheckConfig(t.Context(), Options{ConfigPath: writeFile(t, "tokengate.yaml", yaml)})
			out := reportText(t, rep)
			if rep.Failed() != tc.wantFail {
				t.Errorf("Failed() = %v; want %v\n%s", rep.Failed(), tc.wantFail, out)
			}
			if !tc.wantFail && rep.Count(Fail) != 0 {
				t.Errorf("%d failures; want none", rep.Count(Fail))
			}
			checkOutput(t, out, tc.want, []string{testSecret, "wrong-secret-value", key})
			t.Log("\n" + out)
		})
	}
}
