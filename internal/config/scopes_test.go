package config

import (
	"slices"
	"testing"
)

func TestSignInScopes(t *testing.T) {
	tests := []struct {
		name     string
		scopes   []string
		resource string
		want     []string
	}{
		{name: "defaults", scopes: Defaults().Provider.Scopes, resource: DefaultResourceScope,
			want: []string{"openid", "profile", "email", "offline_access", DefaultResourceScope}},
		{name: "duplicates dropped, order kept", scopes: []string{"openid", "offline_access", "openid"}, resource: "offline_access  api://x/read api://x/write",
			want: []string{"openid", "offline_access", "api://x/read", "api://x/write"}},
		{name: "no resource", scopes: []string{"openid"}, resource: "",
			want: []string{"openid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Provider: Provider{Scopes: tt.scopes, ResourceScope: tt.resource}}
			if got := c.SignInScopes(); !slices.Equal(got, tt.want) {
				t.Errorf("SignInScopes() = %q; want %q", got, tt.want)
			}
		})
	}
	c := Defaults()
	c.SignInScopes()[0] = "changed"
	if c.Provider.Scopes[0] != "openid" {
		t.Error("SignInScopes returned a slice aliasing Provider.Scopes")
	}
}

func TestRedirectURL(t *testing.T) {
	tests := []struct {
		name   string
		public string
		want   string
	}{
		{name: "host", public: "https://auth.example.com", want: "https://auth.example.com/oauth2/callback"},
		{name: "trailing slash", public: "https://auth.example.com/", want: "https://auth.example.com/oauth2/callback"},
		{name: "path with slashes", public: "https://example.com/auth//", want: "https://example.com/auth/oauth2/callback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{PublicURL: tt.public}
			if got := c.RedirectURL(); got != tt.want {
				t.Errorf("RedirectURL() = %q; want %q", got, tt.want)
			}
		})
	}
}

// TestLoadTrimsPublicURL checks that Load stores publicURL without its trailing slash, so every
// user of the value builds URLs the same way.
func TestLoadTrimsPublicURL(t *testing.T) {
	c, err := Load("", validEnv("TOKENGATE_PUBLIC_URL=https://example.com/auth/"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.PublicURL != "https://example.com/auth" {
		t.Errorf("PublicURL = %q; want https://example.com/auth", c.PublicURL)
	}
}
