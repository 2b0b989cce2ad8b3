//go:build !tokengate_omit_cel

package doctor

import (
	"strings"
	"testing"
	"time"
)

// structuredConfig is an AuthenticationConfiguration for a non-Entra issuer; MAPPINGS and
// RULES are replaced per test.
const structuredConfig = `apiVersion: apiserver.config.k8s.io/v1beta1
kind: AuthenticationConfiguration
jwt:
  - issuer:
      url: https://login.partner.example
      audiences: [other-client]
    claimMappings:
      username: {claim: sub, prefix: "aks:jwt:"}
  - issuer:
      url: https://issuer.example.com
      audiences: [my-client]
RULES
    claimMappings:
MAPPINGS
`

func TestExplainStructured(t *testing.T) {
	now := time.Now()
	claims := map[string]any{
		"iss": "https://issuer.example.com", "aud": "my-client", "sub": "alice", "exp": float64(now.Add(time.Hour).Unix()),
		"email": "alice@example.com", "email_verified": false, "groups": []string{"admins", "dev"}, "hd": "example.com",
		"nonce": "n",
	}
	token := signJWT(t, nil, claims)
	tests := []struct {
		name, rules, mappings string
		token                 string
		wantFail              bool
		want                  []string
	}{
		{
			name:     "prefix rule satisfied",
			mappings: "      username: {claim: sub, prefix: \"aks:jwt:\"}\n      groups: {claim: groups, prefix: \"aks:jwt:\"}",
			want: []string{"✓ token kind — an id_token (aud my-client), what AKS structured authentication normally receives",
				"✓ authenticator — jwt[1] takes it (issuer https://issuer.example.com, audience my-client)",
				"✓ claim validation — no rules", "✓ username — the cluster names the user aks:jwt:alice",
				"✓ groups — 2 mapped: aks:jwt:admins, aks:jwt:dev"},
		},
		{
			name:     "prefix rule violated",
			mappings: "      username: {claim: email, prefix: \"\"}\n      groups: {claim: groups, prefix: \"oidc:\"}",
			rules:    "    claimValidationRules:\n      - expression: 'claims.hd == \"example.com\"'", wantFail: true,
			want: []string{"✗ claim mappings — jwt[1].claimMappings.username: claim email is used but email_verified is not true"},
		},
		{
			name:     "prefix rule violated by claim mappings",
			mappings: "      username: {claim: sub, prefix: \"\"}\n      groups: {claim: groups, prefix: \"oidc:\"}", wantFail: true,
			want: []string{`✗ username — maps to "alice", which does not start with "aks:jwt:"`, `Fix: jwt[1].claimMappings.username.prefix: "aks:jwt:"`,
				"✗ groups — 2 of 2 mapped groups do not start with \"aks:jwt:\" (oidc:admins, oidc:dev)"},
		},
		{
			name: "CEL expression mappings",
			mappings: "      username: {expression: \"'aks:jwt:' + claims.email.split('@')[0]\"}\n" +
				"      groups: {expression: \"dyn(claims.groups).map(g, 'aks:jwt:' + g)\"}\n" +
				"      uid: {expression: 'claims.sub'}\n" +
				"      extra:\n        - {key: example.com/domain, valueExpression: 'claims.hd'}",
			rules: "    userValidationRules:\n      - {expression: \"!user.username.startsWith('aks:jwt:system')\", message: no system users}",
			want: []string{"✓ username — the cluster names the user aks:jwt:alice", "✓ groups — 2 mapped: aks:jwt:admins, aks:jwt:dev",
				"✓ uid — alice", "✓ extra — example.com/domain = example.com", "✓ user validation — all 1 rule(s) pass"},
		},
		{
			// The API server types claims' values as any: it refuses to range over one.
			name:     "CEL map over a claim without dyn",
			mappings: "      username: {claim: sub, prefix: \"aks:jwt:\"}\n      groups: {expression: \"claims.groups.map(g, 'aks:jwt:' + g)\"}", wantFail: true,
			want: []string{"✗ claim mappings — jwt[1].claimMappings.groups:", "does not compile", "expression of type 'any' cannot be range of a comprehension",
				"the API server refuses to load this configuration"},
		},
		{
			name:     "CEL expression without the prefix",
			mappings: "      username: {expression: 'claims.sub'}", wantFail: true,
			want: []string{`✗ username — maps to "alice"`, `username.expression: "'aks:jwt:' + (claims.sub)"`},
		},
		{
			name: "failing validation rules",
			rules: "    claimValidationRules:\n      - {expression: 'claims.email_verified == true', message: email must be verified}\n" +
				"      - {claim: hd, requiredValue: contoso.com}",
			mappings: "      username: {claim: sub, prefix: \"aks:jwt:\"}", wantFail: true,
			want: []string{"✗ claim validation — jwt[1].claimValidationRules[0] fails: email must be verified (claims.email_verified == true)",
				`✗ claim validation — jwt[1].claimValidationRules[1]: claim hd must be "contoso.com", the token has "example.com"`},
		},
		{
			name:     "expression on a missing claim",
			mappings: "      username: {expression: \"'aks:jwt:' + claims.preferred_username\"}", wantFail: true,
			want: []string{"✗ claim mappings — jwt[1].claimMappings.username:", "evaluation failed", "no such key"},
		},
		{
			name: "audience not accepted", mappings: "      username: {claim: sub, prefix: \"aks:jwt:\"}", wantFail: true,
			token: signJWT(t, nil, map[string]any{"iss": "https://issuer.example.com", "aud": "6dae42f8-4368-4678-94ff-3960e28e3630", "sub": "a", "exp": claims["exp"]}),
			want:  []string{"✗ authenticator — jwt[1] has issuer https://issuer.example.com but accepts audiences my-client, and the token's aud is 6dae42f8"},
		},
		{
			name: "issuer not configured", mappings: "      username: {claim: sub, prefix: \"aks:jwt:\"}", wantFail: true,
			token: signJWT(t, nil, map[string]any{"iss": "https://issuer.example.com/", "aud": "my-client", "sub": "a", "exp": claims["exp"]}),
			want:  []string{"✗ authenticator — no authenticator has issuer https://issuer.example.com/", "differs only by the trailing slash"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.token
			if raw == "" {
				raw = token
			}
			text := strings.NewReplacer("RULES\n", tc.rules+"\n", "MAPPINGS", tc.mappings).Replace(structuredConfig)
			ac, err := ParseAuthenticationConfiguration([]byte(text))
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, text)
			}
			rep := ExplainToken(raw, ac, now)
			out := reportText(t, rep)
			if rep.Failed() != tc.wantFail {
				t.Errorf("Failed() = %v; want %v\n%s", rep.Failed(), tc.wantFail, out)
			}
			checkOutput(t, out, tc.want, []string{raw, strings.Split(raw, ".")[2]})
			t.Log("\n" + out)
		})
	}
}
