package config

import "testing"

func TestPlaceholders(t *testing.T) {
	tests := []struct {
		name, issuer, clientID string
		wantKeys               []string
	}{
		{name: "real values", issuer: "https://login.microsoftonline.com/3f2b8c41-7d5e-4a09-9c1e-6b0d2f4e8a17/v2.0", clientID: "8d4e1a52-0b7c-4f36-a9e2-5c1f7b3d6e90"},
		{name: "angle brackets", issuer: "https://login.microsoftonline.com/<tenant-id>/v2.0", clientID: "<application-client-id>", wantKeys: []string{"provider.issuerURL", "provider.clientID"}},
		{name: "all-zero GUIDs", issuer: "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0", clientID: "00000000-0000-0000-0000-000000000000", wantKeys: []string{"provider.issuerURL", "provider.clientID"}},
		{name: "example.com issuer", issuer: "https://idp.example.com", clientID: "app", wantKeys: []string{"provider.issuerURL"}},
		{name: "example.org issuer", issuer: "https://example.org/tenant", clientID: "app", wantKeys: []string{"provider.issuerURL"}},
		{name: "lookalike domain is fine", issuer: "https://notexample.com/v2.0", clientID: "app"},
		{name: "a GUID with zeros is fine", issuer: "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0", clientID: "app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			c.Provider.IssuerURL, c.Provider.ClientID = tt.issuer, tt.clientID
			var ps problems
			c.validatePlaceholders(&ps)
			var got []string
			for _, p := range ps {
				got = append(got, p.Key)
			}
			if len(got) != len(tt.wantKeys) {
				t.Fatalf("problems for %v; want %v", got, tt.wantKeys)
			}
			for i := range got {
				if got[i] != tt.wantKeys[i] {
					t.Errorf("problem %d names %s; want %s", i, got[i], tt.wantKeys[i])
				}
			}
		})
	}
}

// TestProblemsMergedPerKey: two reasons for one key are one line naming the key once.
func TestProblemsMergedPerKey(t *testing.T) {
	var ps problems
	ps.add("provider.scopes", "must contain openid")
	ps.add("publicURL", "required")
	ps.add("provider.scopes", "must contain offline_access")
	ve := ps.err().(*ValidationError)
	if len(ve.Problems) != 2 || ve.Problems[0].Error() != "provider.scopes: must contain openid; must contain offline_access" {
		t.Errorf("problems = %v; want provider.scopes once with both reasons, then publicURL", ve.Problems)
	}
}
