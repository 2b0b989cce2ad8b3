package check

import (
	"slices"
	"testing"
)

// TestUnknownConfigKeys proves the config key check itself: a misspelt key, a list where a
// scalar belongs and a secret value are all caught, and a correct tree passes.
func TestUnknownConfigKeys(t *testing.T) {
	known, err := knownConfigKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"publicURL", "provider.clientID", "provider.scopes", "cookie.secretFiles", "forwardAuth.mode"} {
		if _, ok := known[path]; !ok {
			t.Fatalf("documented keys lack %q; the parser of %s is broken", path, exampleConfig)
		}
	}
	tests := []struct {
		name       string
		yaml       string
		wantIssues []string
		wantLeaked []string
	}{
		{
			name: "valid tree",
			yaml: "publicURL: https://a.example\nprovider:\n  clientID: x\n  scopes: [openid]\ncookie:\n  secretFiles: [/s]\n",
		},
		{
			name:       "misspelt key",
			yaml:       "provider:\n  clientId: x\n",
			wantIssues: []string{"provider.clientId: not a tokengate config key"},
		},
		{
			name:       "list where a scalar belongs",
			yaml:       "provider:\n  issuerURL: [a, b]\n",
			wantIssues: []string{"provider.issuerURL: holds a list; want a scalar"},
		},
		{
			name:       "map where a list belongs",
			yaml:       "allowedRedirectDomains:\n  a: b\n",
			wantIssues: []string{"allowedRedirectDomains.a: not a tokengate config key", "allowedRedirectDomains: holds a map; want a list"},
		},
		{
			name:       "secrets in the config",
			yaml:       "provider:\n  clientSecret: s3cret\ncookie:\n  secrets: [k]\n",
			wantLeaked: []string{"cookie.secrets", "provider.clientSecret"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := loadYAMLMap([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := unknownConfigKeys(tree, known); !slices.Equal(got, tt.wantIssues) {
				t.Errorf("unknownConfigKeys = %q; want %q", got, tt.wantIssues)
			}
			if got := leakedSecretKeys(tree); !slices.Equal(got, tt.wantLeaked) {
				t.Errorf("leakedSecretKeys = %q; want %q", got, tt.wantLeaked)
			}
		})
	}
}
