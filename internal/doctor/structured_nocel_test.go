//go:build tokengate_omit_cel

package doctor

import (
	"strings"
	"testing"
	"time"
)

// TestExplainStructuredWithoutCEL: a build without cel-go still checks what needs no CEL and
// fails, naming the build, on every expression rather than vouch for what it did not run.
func TestExplainStructuredWithoutCEL(t *testing.T) {
	now := time.Now()
	token := signJWT(t, nil, map[string]any{
		"iss": "https://issuer.example.com", "aud": "my-client", "sub": "alice", "exp": float64(now.Add(time.Hour).Unix()),
		"groups": []string{"admins"}, "hd": "example.com",
	})
	const head = "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt:\n" +
		"  - issuer: {url: https://issuer.example.com, audiences: [my-client]}\n"
	tests := []struct {
		name     string
		config   string
		wantFail bool
		want     []string
	}{
		{
			name:   "claim mappings need no CEL",
			config: head + "    claimMappings:\n      username: {claim: sub, prefix: \"aks:jwt:\"}\n      groups: {claim: groups, prefix: \"aks:jwt:\"}\n",
			want:   []string{"✓ username — the cluster names the user aks:jwt:alice", "✓ groups — 1 mapped: aks:jwt:admins"},
		},
		{
			name:     "expression mapping",
			config:   head + "    claimMappings:\n      username: {expression: \"'aks:jwt:' + claims.sub\"}\n",
			wantFail: true,
			want:     []string{"✗ claim mappings — jwt[0].claimMappings.username:", "tokengate_omit_cel", "Fix: " + fixCELOmitted},
		},
		{
			name: "claim validation expression",
			config: head + "    claimValidationRules:\n      - {expression: 'claims.hd == \"example.com\"'}\n" +
				"    claimMappings:\n      username: {claim: sub, prefix: \"aks:jwt:\"}\n",
			wantFail: true,
			want:     []string{"✗ claim validation — jwt[0].claimValidationRules[0]:", "tokengate_omit_cel", "✓ username"},
		},
		{
			name: "user validation expression",
			config: head + "    claimMappings:\n      username: {claim: sub, prefix: \"aks:jwt:\"}\n" +
				"    userValidationRules:\n      - {expression: \"!user.username.startsWith('aks:jwt:system')\"}\n",
			wantFail: true,
			want:     []string{"✗ user validation — jwt[0].userValidationRules[0]:", "tokengate_omit_cel"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ac, err := ParseAuthenticationConfiguration([]byte(tc.config))
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, tc.config)
			}
			rep := ExplainToken(token, ac, now)
			out := reportText(t, rep)
			if rep.Failed() != tc.wantFail {
				t.Errorf("Failed() = %v; want %v\n%s", rep.Failed(), tc.wantFail, out)
			}
			checkOutput(t, out, tc.want, []string{token})
			if !tc.wantFail && strings.Contains(out, "tokengate_omit_cel") {
				t.Errorf("a report without expressions mentions the omitted CEL:\n%s", out)
			}
		})
	}
}
