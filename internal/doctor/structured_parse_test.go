package doctor

import (
	"strings"
	"testing"
)

// Parsing needs no CEL: this runs in both builds, with and without tokengate_omit_cel.
func TestParseAuthenticationConfiguration(t *testing.T) {
	const head = "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\n"
	tests := []struct {
		name, text, wantErr string
	}{
		{name: "valid v1", text: head + "jwt:\n- issuer: {url: https://i.example, audiences: [a]}\n  claimMappings:\n    username: {claim: sub, prefix: ''}\n"},
		{name: "wrong kind", text: "apiVersion: apiserver.config.k8s.io/v1\nkind: Config\n", wantErr: `kind is "Config"`},
		{name: "wrong version", text: "apiVersion: v1\nkind: AuthenticationConfiguration\n", wantErr: `apiVersion "v1"`},
		{name: "no authenticator", text: head, wantErr: "jwt lists no authenticator"},
		{name: "claim without prefix", text: head + "jwt:\n- issuer: {url: https://i.example, audiences: [a]}\n  claimMappings:\n    username: {claim: sub}\n", wantErr: "jwt[0].claimMappings.username.prefix: required"},
		{name: "prefix with expression", text: head + "jwt:\n- issuer: {url: https://i.example, audiences: [a]}\n  claimMappings:\n    username: {expression: claims.sub, prefix: x}\n", wantErr: "not allowed with expression"},
		{name: "no audiences", text: head + "jwt:\n- issuer: {url: https://i.example}\n  claimMappings:\n    username: {claim: sub, prefix: ''}\n", wantErr: "issuer.audiences"},
		{name: "unknown key", text: head + "jwt:\n- issuer: {url: https://i.example, audiences: [a]}\n  claimMapping: {}\n", wantErr: "claimMapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAuthenticationConfiguration([]byte(tc.text))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("error %v; want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v; want one containing %q", err, tc.wantErr)
			}
		})
	}
}
