package doctor

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/config"
)

func TestExplainToken(t *testing.T) {
	f := newIDP(t)
	aliceAccess, aliceID := f.tokens(t, "alice", config.DefaultResourceScope)
	apiAccess, _ := f.tokens(t, "bob", testAPI+"/.default")
	overageAccess, _ := f.tokens(t, "overage", config.DefaultResourceScope)
	guestAccess, _ := f.tokens(t, "guest", config.DefaultResourceScope)
	now := time.Now()
	exp := float64(now.Add(time.Hour).Unix())
	tests := []struct {
		name     string
		raw      string
		now      time.Time
		wantFail bool
		want     []string
	}{
		{
			name: "AKS access token", raw: aliceAccess, now: now,
			want: []string{`✓ token kind — a user's access token (scp "user.read")`, "✓ expiry — valid until",
				"✓ audience — aud is the AKS server app " + config.AKSServerAppID,
				`✓ issuer — a v1 token (iss ` + f.p.AccessTokenIssuer() + `, ver "1.0"`,
				"✓ groups — 1 group id(s)", "issued to client " + testClientID + ", authenticated with a client secret",
				"✓ username — AKS names the user alice@contoso.example (upn)"},
		},
		{
			name: "same token with a Bearer prefix and a newline", raw: "Bearer " + aliceAccess + "\n", now: now,
			want: []string{"✓ audience — aud is the AKS server app"},
		},
		{
			name: "id_token sent to AKS", raw: aliceID, now: now, wantFail: true,
			want: []string{"✗ token kind — an id_token: its aud is the client id " + testClientID, "Fix: send the access token instead",
				"✗ audience — aud is " + testClientID + ", not the AKS server app", "✗ issuer — a v2 token"},
		},
		{
			name: "v2 token for another API", raw: apiAccess, now: now, wantFail: true,
			want: []string{"✗ audience — aud is " + testAPI + ", not the AKS server app", `✗ issuer — a v2 token (iss ` + f.p.Issuer() + `, ver "2.0")`,
				"Fix: ask Entra for " + config.DefaultResourceScope},
		},
		{
			name: "expired AKS token", raw: aliceAccess, now: now.Add(3 * time.Hour), wantFail: true,
			want: []string{"✗ expiry — expired at", "ago", "✓ audience"},
		},
		{
			name: "groups overage", raw: overageAccess, now: now,
			want: []string{"! groups — groups overage", "graphGroupLookup"},
		},
		{
			name: "guest without upn", raw: guestAccess, now: now,
			want: []string{"✓ username — no upn", "by the object id 9e570000-0000-4000-8000-0000000009e5"},
		},
		{
			name: "spn: audience", now: now, wantFail: true,
			raw:  signJWT(t, nil, map[string]any{"aud": "spn:" + config.AKSServerAppID, "iss": "https://sts.windows.net/t/", "ver": "1.0", "scp": "user.read", "exp": exp, "upn": "a@b"}),
			want: []string{"✗ audience — aud is spn:" + config.AKSServerAppID + ": AKS expects the bare GUID", "✓ issuer — a v1 token (iss https://sts.windows.net/t/"},
		},
		{
			name: "Microsoft Graph token", now: now, wantFail: true,
			raw:  signJWT(t, map[string]any{"nonce": "abc"}, map[string]any{"aud": "00000003-0000-0000-c000-000000000000", "scp": "User.Read", "exp": exp}),
			want: []string{"✗ token kind — a Microsoft Graph access token (its header carries a nonce)"},
		},
		{
			name: "exp a quoted number", now: now, wantFail: true,
			raw:  signJWT(t, nil, map[string]any{"aud": config.AKSServerAppID, "iss": "https://sts.windows.net/t/", "ver": "1.0", "scp": "user.read", "exp": fmt.Sprint(int64(exp)), "upn": "a@b"}),
			want: []string{"✗ expiry — time claim refused: exp is not a JSON number", "Fix: the issuer must send exp, iat and nbf as JSON numbers"},
		},
		{
			name: "nbf null", now: now, wantFail: true,
			raw:  signJWT(t, nil, map[string]any{"aud": config.AKSServerAppID, "iss": "https://sts.windows.net/t/", "ver": "1.0", "scp": "user.read", "exp": exp, "nbf": nil, "upn": "a@b"}),
			want: []string{"✗ expiry — time claim refused: nbf is not a JSON number"},
		},
		{
			name: "iat in the future", now: now, wantFail: true,
			raw:  signJWT(t, nil, map[string]any{"aud": config.AKSServerAppID, "iss": "https://sts.windows.net/t/", "ver": "1.0", "scp": "user.read", "exp": exp, "iat": exp - 60, "upn": "a@b"}),
			want: []string{"✗ expiry — issued at", "in the future", "Fix: check the clocks"},
		},
		{
			name: "not a JWT", raw: "opaque-token-value", now: now, wantFail: true,
			want: []string{"✗ token — not a JWT: want three base64url parts separated by dots, got 1 part(s)"},
		},
		{
			name: "encrypted JWT", raw: "a.b.c.d.e", now: now, wantFail: true,
			want: []string{"✗ token — this is an encrypted JWT (JWE, five parts)"},
		},
		{
			name: "payload not JSON", raw: "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln", now: now, wantFail: true,
			want: []string{"✗ token — JWT payload: not a JSON object"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := ExplainToken(tc.raw, nil, tc.now)
			out := reportText(t, rep)
			if rep.Failed() != tc.wantFail {
				t.Errorf("Failed() = %v; want %v\n%s", rep.Failed(), tc.wantFail, out)
			}
			notWant := []string{strings.TrimSpace(strings.TrimPrefix(tc.raw, "Bearer "))}
			if parts := strings.Split(strings.TrimSpace(tc.raw), "."); len(parts) == 3 {
				notWant = append(notWant, parts[1], parts[2]) // payload and signature
			}
			checkOutput(t, out, tc.want, notWant)
			t.Log("\n" + out)
		})
	}
}

func TestKeyVerdict(t *testing.T) {
	seq := make([]byte, 32)
	text := []byte("correct horse battery staple!!!!")
	few := make([]byte, 32)
	for i := range seq {
		seq[i] = byte(i)
		few[i] = byte(i % 5)
	}
	tests := []struct {
		name string
		key  []byte
		want Status
	}{
		{name: "all zero", key: make([]byte, 32), want: Fail},
		{name: "counting", key: seq, want: Fail},
		{name: "five values", key: few, want: Fail},
		{name: "passphrase", key: text, want: Warn},
		{name: "random", key: decodeKey(randomKey(t)), want: OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := keyVerdict(tc.key); got != tc.want {
				t.Errorf("keyVerdict = %v (%s); want %v", got, why, tc.want)
			}
		})
	}
}

func TestJudgeCredentials(t *testing.T) {
	cfg := &config.Config{Provider: config.Provider{ClientID: "app-1"}}
	renew := renewAdvice(cfg.Provider)
	tests := []struct {
		name   string
		status int
		body   tokenError
		want   Status
		detail string
	}{
		{name: "bad secret", status: 401, body: tokenError{Error: "invalid_client", Codes: []int{7000215}}, want: Fail, detail: "AADSTS7000215"},
		{name: "expired secret", status: 401, body: tokenError{Error: "invalid_client", Description: "AADSTS7000222: The provided client secret keys for app 'app-1' are expired."}, want: Fail, detail: "expired (AADSTS7000222)"},
		{name: "unknown app", status: 400, body: tokenError{Error: "unauthorized_client", Codes: []int{700016}}, want: Fail, detail: "no application app-1"},
		{name: "assertion refused", status: 401, body: tokenError{Error: "invalid_client", Codes: []int{700027}, Description: "AADSTS700027: Client assertion failed signature validation."}, want: Fail, detail: "rejected the client credentials"},
		{name: "scope refused after authentication", status: 400, body: tokenError{Error: "invalid_scope", Codes: []int{1002012}, Description: "AADSTS1002012: The provided value for scope is not valid."}, want: OK, detail: "accepted"},
		{name: "consent missing", status: 400, body: tokenError{Error: "invalid_grant", SubError: "consent_required", Codes: []int{65001}}, want: OK, detail: "accepted"},
		{name: "outage", status: 503, body: tokenError{Error: "temporarily_unavailable"}, want: Fail, detail: "could not tell"},
		{name: "not OAuth", status: 404, want: Warn, detail: "without an OAuth error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := judgeCredentials(tc.status, tc.body, cfg, renew)
			if res.Status != tc.want || !strings.Contains(res.Detail, tc.detail) {
				t.Errorf("got %s; want status %v and a detail with %q", res, tc.want, tc.detail)
			}
		})
	}
}

func TestExplainIssuerMismatch(t *testing.T) {
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	tests := []struct {
		name, configured, found string
		wantDetail, wantFix     string
	}{
		{
			name: "v1 endpoint configured", configured: "https://login.microsoftonline.com/" + tenant, found: "https://sts.windows.net/" + tenant + "/",
			wantDetail: "this is the v1 endpoint", wantFix: "set provider.issuerURL: https://login.microsoftonline.com/" + tenant + "/v2.0",
		},
		{
			name: "trailing slash", configured: "https://login.microsoftonline.com/" + tenant + "/v2.0/", found: "https://login.microsoftonline.com/" + tenant + "/v2.0",
			wantDetail: "differ only by the trailing slash", wantFix: "set provider.issuerURL: https://login.microsoftonline.com/" + tenant + "/v2.0",
		},
		{
			name: "common endpoint", configured: "https://login.microsoftonline.com/common/v2.0", found: "https://login.microsoftonline.com/{tenantid}/v2.0",
			wantDetail: "templated issuer", wantFix: "your tenant's issuer",
		},
		{
			name: "domain name instead of tenant id", configured: "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0", found: "https://login.microsoftonline.com/" + tenant + "/v2.0",
			wantDetail: "names the tenant by its id", wantFix: tenant,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			detail, fix := explainIssuerMismatch(tc.configured, tc.found, "")
			if !strings.Contains(detail, tc.wantDetail) || !strings.Contains(fix, tc.wantFix) {
				t.Errorf("got %q / %q; want %q / %q", detail, fix, tc.wantDetail, tc.wantFix)
			}
		})
	}
}
