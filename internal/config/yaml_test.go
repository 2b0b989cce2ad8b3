package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestLoadYAML(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(c *Config) (got, want any)
	}{
		{
			name:  "empty file keeps defaults",
			yaml:  "",
			check: func(c *Config) (any, any) { return c.Session.Lifetime, 12 * time.Hour },
		},
		{
			name:  "comments only",
			yaml:  "# nothing here\n",
			check: func(c *Config) (any, any) { return c.Cookie.Name, "_tokengate" },
		},
		{
			name:  "null value keeps the default",
			yaml:  "cookie:\n  name:\n",
			check: func(c *Config) (any, any) { return c.Cookie.Name, "_tokengate" },
		},
		{
			name: "duration and explicit zero",
			yaml: "token:\n  safetyMargin: 0s\n  refreshAhead: 90s\n",
			check: func(c *Config) (any, any) {
				return [2]time.Duration{c.Token.SafetyMargin, c.Token.RefreshAhead}, [2]time.Duration{0, 90 * time.Second}
			},
		},
		{
			name: "list",
			yaml: "allowedRedirectDomains: [a.example.com, .b.example.com]\n",
			check: func(c *Config) (any, any) {
				return c.AllowedRedirectDomains, []string{"a.example.com", ".b.example.com"}
			},
		},
		{
			name:  "number kept as written for a string key",
			yaml:  "cookie:\n  name: 0123\n",
			check: func(c *Config) (any, any) { return c.Cookie.Name, "0123" },
		},
		{
			name: "bool and int",
			yaml: "headers:\n  passAccessToken: true\ntoken:\n  cacheMaxBytes: 2097152\n",
			check: func(c *Config) (any, any) {
				return [2]any{c.Headers.PassAccessToken, c.Token.CacheMaxBytes}, [2]any{true, int64(2 << 20)}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeFile(t, "c.yaml", tt.yaml), validEnv())
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got, want := tt.check(c); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v; want %v", got, want)
			}
		})
	}
}

func TestLoadYAMLProblems(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		key   string
		parts []string
	}{
		{name: "unknown top-level key", yaml: "listen: :80\npublicUrl: https://x\n", key: "publicUrl",
			parts: []string{"line 2", "unknown key", "did you mean publicURL?"}},
		{name: "unknown nested key", yaml: "provider:\n  clientID: x\n  tenant: y\n", key: "provider.tenant",
			parts: []string{"line 3", "unknown key", "known keys under provider:", "issuerURL"}},
		{name: "duplicate key", yaml: "log:\n  level: info\n  level: debug\n", key: "log.level",
			parts: []string{"line 3", "duplicate key (first at line 2)"}},
		{name: "bad duration", yaml: "session:\n  lifetime: forever\n", key: "session.lifetime",
			parts: []string{"line 2", `invalid duration "forever"`}},
		{name: "integer is not a duration", yaml: "provider:\n  timeout: 10\n", key: "provider.timeout",
			parts: []string{"invalid duration"}},
		{name: "bad bool", yaml: "headers:\n  passGroups: maybe\n", key: "headers.passGroups",
			parts: []string{"line 2", "invalid boolean"}},
		{name: "scalar for a list", yaml: "provider:\n  scopes: openid\n", key: "provider.scopes",
			parts: []string{"want a list"}},
		{name: "mapping for a scalar", yaml: "listen:\n  port: 1\n", key: "listen",
			parts: []string{"want a single value, got a mapping"}},
		{name: "scalar for a section", yaml: "provider: entra\n", key: "provider",
			parts: []string{"want a mapping"}},
		{name: "list item not a scalar", yaml: "allowedRedirectDomains:\n  - [a]\n", key: "allowedRedirectDomains[0]",
			parts: []string{"line 2", "want a single value"}},
		{name: "top level not a mapping", yaml: "- a\n", key: "the top level",
			parts: []string{"want a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, "c.yaml", tt.yaml), validEnv())
			wantProblem(t, err, tt.key, tt.parts...)
		})
	}
}

func TestLoadYAMLFileProblems(t *testing.T) {
	syntax := writeFile(t, "syntax.yaml", "provider: [\n")
	_, err := Load(syntax, validEnv())
	wantProblem(t, err, syntax, "parse")

	twoDocs := writeFile(t, "two.yaml", "listen: :1\n---\nlisten: :2\n")
	_, err = Load(twoDocs, validEnv())
	wantProblem(t, err, twoDocs, "second YAML document")

	missing := filepath.Join(t.TempDir(), "missing.yaml")
	_, err = Load(missing, validEnv())
	wantProblem(t, err, missing, "read configuration file")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false; want true", err)
	}
}

// TestLoadReportsEverything checks that one Load lists the problems of every stage.
func TestLoadReportsEverything(t *testing.T) {
	file := writeFile(t, "c.yaml", "session:\n  lifetim: 1h\n")
	_, err := Load(file, []string{"TOKENGATE_LOG_LEVL=debug", "TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=/nonexistent/secret"})
	for _, key := range []string{"session.lifetim", "TOKENGATE_LOG_LEVL", "provider.clientSecretFile", "publicURL", "provider.clientID", "cookie.secrets"} {
		wantProblem(t, err, key)
	}
}
