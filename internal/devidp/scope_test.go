package devidp

import (
	"fmt"
	"slices"
	"testing"
)

func TestParseScopes(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		wantOIDC  []string
		wantRes   []string // "<resource> <names…>|default"
		wantError int      // AADSTS code, 0 for none
	}{
		{name: "kubelogin", raw: "openid offline_access " + AKSResource + "/.default",
			wantOIDC: []string{"offline_access", "openid"}, wantRes: []string{AKSResource + " [] default"}},
		{name: "AKS named, upper-case GUID", raw: "6DAE42F8-4368-4678-94FF-3960E28E3630/user.read",
			wantRes: []string{AKSResource + " [user.read]"}},
		{name: "bare means Graph", raw: "User.Read Mail.Read",
			wantRes: []string{GraphResource + " [User.Read Mail.Read]"}},
		{name: "Graph URL and bare are one resource", raw: "https://graph.microsoft.com/User.Read user.read Mail.Read",
			wantRes: []string{GraphResource + " [User.Read Mail.Read]"}},
		{name: "api URI", raw: "api://dash/board/read api://dash/board/write",
			wantRes: []string{"api://dash/board [read write]"}},
		{name: "several resources in order", raw: "User.Read " + AKSResource + "/.default",
			wantRes: []string{GraphResource + " [User.Read]", AKSResource + " [] default"}},
		{name: "OIDC scopes case-insensitive", raw: "OpenID Profile", wantOIDC: []string{"openid", "profile"}},
		{name: "default mixed with named", raw: "https://graph.microsoft.com/.default User.Read", wantError: 70011},
		{name: "URI without permission", raw: "api://dash", wantError: 70011},
		{name: "empty permission", raw: AKSResource + "/", wantError: 70011},
		{name: "nested path on GUID", raw: AKSResource + "/a/b", wantError: 70011},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseScopes(tt.raw)
			if tt.wantError != 0 {
				if err == nil || err.aadsts != tt.wantError {
					t.Fatalf("parseScopes(%q) error = %v; want AADSTS%d", tt.raw, err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseScopes(%q): %v", tt.raw, err)
			}
			var oidc []string
			for k := range s.oidc {
				oidc = append(oidc, k)
			}
			slices.Sort(oidc)
			if !slices.Equal(oidc, tt.wantOIDC) {
				t.Errorf("oidc = %v; want %v", oidc, tt.wantOIDC)
			}
			var res []string
			for _, r := range s.resources {
				d := fmt.Sprintf("%s %v", r.id, r.names)
				if r.dflt {
					d += " default"
				}
				res = append(res, d)
			}
			if !slices.Equal(res, tt.wantRes) {
				t.Errorf("resources = %q; want %q", res, tt.wantRes)
			}
		})
	}
}

func TestForTokenOneResource(t *testing.T) {
	signIn, _ := parseScopes("openid offline_access User.Read " + AKSResource + "/.default")
	tests := []struct {
		name, raw string
		wantRes   string
		wantError int
	}{
		{name: "absent: first resource of the sign-in", raw: "", wantRes: GraphResource},
		{name: "one resource", raw: AKSResource + "/.default openid", wantRes: AKSResource},
		{name: "only OIDC: Graph", raw: "openid profile", wantRes: GraphResource},
		{name: "two resources", raw: "User.Read " + AKSResource + "/.default", wantError: 28000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := forToken(tt.raw, signIn)
			if tt.wantError != 0 {
				if err == nil || err.aadsts != tt.wantError {
					t.Fatalf("forToken(%q) error = %v; want AADSTS%d", tt.raw, err, tt.wantError)
				}
				return
			}
			if err != nil || len(s.resources) != 1 || s.resources[0].id != tt.wantRes {
				t.Errorf("forToken(%q) = %v, %v; want one resource %s", tt.raw, s.resources, err, tt.wantRes)
			}
		})
	}
}

func TestConsentedResources(t *testing.T) {
	tests := []struct {
		name      string
		consented []string
		resource  string
		want      bool
	}{
		{name: "default AKS", resource: AKSResource, want: true},
		{name: "default Graph", resource: GraphResource, want: true},
		{name: "default other", resource: "api://x", want: false},
		{name: "Graph by URL", consented: []string{"https://graph.microsoft.com/"}, resource: GraphResource, want: true},
		{name: "explicit list excludes AKS", consented: []string{"api://x"}, resource: AKSResource, want: false},
		{name: "explicit api", consented: []string{"api://x"}, resource: "api://x", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{ConsentedResources: tt.consented}
			if got := c.consented(tt.resource); got != tt.want {
				t.Errorf("consented(%s) = %v; want %v", tt.resource, got, tt.want)
			}
		})
	}
}
