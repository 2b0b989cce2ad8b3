package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/secret"
)

func TestLoadEnvOverrides(t *testing.T) {
	otherKey := strings.Repeat("A", 43) // 32 zero bytes, raw std base64
	tests := []struct {
		name  string
		env   []string
		check func(c *Config) (got, want any)
	}{
		{
			name:  "string",
			env:   []string{"TOKENGATE_LISTEN=127.0.0.1:9000"},
			check: func(c *Config) (any, any) { return c.Listen, "127.0.0.1:9000" },
		},
		{
			name: "list with spaces and empty items",
			env:  []string{"TOKENGATE_ALLOWED_REDIRECT_DOMAINS= a.example.com, ,.b.example.com,"},
			check: func(c *Config) (any, any) {
				return c.AllowedRedirectDomains, []string{"a.example.com", ".b.example.com"}
			},
		},
		{
			name: "list replaces the default",
			env:  []string{"TOKENGATE_PROVIDER_SCOPES=openid,offline_access"},
			check: func(c *Config) (any, any) {
				return c.Provider.Scopes, []string{"openid", "offline_access"}
			},
		},
		{
			name:  "duration",
			env:   []string{"TOKENGATE_SESSION_LIFETIME=36h"},
			check: func(c *Config) (any, any) { return c.Session.Lifetime, 36 * time.Hour },
		},
		{
			name:  "zero duration is kept, not defaulted",
			env:   []string{"TOKENGATE_TOKEN_SAFETY_MARGIN=0s"},
			check: func(c *Config) (any, any) { return c.Token.SafetyMargin, time.Duration(0) },
		},
		{
			name:  "bool",
			env:   []string{"TOKENGATE_HEADERS_PASS_GROUPS=true"},
			check: func(c *Config) (any, any) { return c.Headers.PassGroups, true },
		},
		{
			name:  "int",
			env:   []string{"TOKENGATE_TOKEN_CACHE_MAX_BYTES=2097152"},
			check: func(c *Config) (any, any) { return c.Token.CacheMaxBytes, int64(2 << 20) },
		},
		{
			name: "secret list",
			env:  []string{"TOKENGATE_COOKIE_SECRETS=" + otherKey + "," + testKey},
			check: func(c *Config) (any, any) {
				return c.Cookie.Secrets, []secret.String{secret.String(otherKey), secret.String(testKey)}
			},
		},
		{
			name:  "first of duplicate entries wins, as os.Getenv",
			env:   []string{"TOKENGATE_LOG_LEVEL=debug", "TOKENGATE_LOG_LEVEL=nonsense"},
			check: func(c *Config) (any, any) { return c.Log.Level, "debug" },
		},
		{
			name:  "reserved and foreign variables are ignored",
			env:   []string{EnvConfig + "=/etc/tokengate.yaml", "HOME=/root", "tokengate_lowercase=x", "NOEQUALS"},
			check: func(c *Config) (any, any) { return c.Listen, ":4180" },
		},
		{
			name: "env wins over file",
			env:  []string{"TOKENGATE_COOKIE_NAME=_from_env"},
			check: func(c *Config) (any, any) {
				return c.Cookie.Name, "_from_env"
			},
		},
	}
	file := writeFile(t, "c.yaml", "cookie:\n  name: _from_file\nlog:\n  level: warn\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(file, validEnv(tt.env...))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got, want := tt.check(c); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v; want %v", got, want)
			}
		})
	}
}

func TestLoadEnvProblems(t *testing.T) {
	tests := []struct {
		name  string
		env   string
		key   string
		parts []string
	}{
		{name: "bad duration", env: "TOKENGATE_SESSION_LIFETIME=forever", key: "TOKENGATE_SESSION_LIFETIME",
			parts: []string{"session.lifetime", `invalid duration "forever"`}},
		{name: "bad bool", env: "TOKENGATE_HEADERS_PASS_GROUPS=sometimes", key: "TOKENGATE_HEADERS_PASS_GROUPS",
			parts: []string{"headers.passGroups", "invalid boolean"}},
		{name: "bad int", env: "TOKENGATE_TOKEN_CACHE_MAX_BYTES=64MiB", key: "TOKENGATE_TOKEN_CACHE_MAX_BYTES",
			parts: []string{"token.cacheMaxBytes", "invalid integer"}},
		{name: "empty duration", env: "TOKENGATE_PROVIDER_TIMEOUT=", key: "TOKENGATE_PROVIDER_TIMEOUT",
			parts: []string{"provider.timeout", "invalid duration"}},
		{name: "typo gets a suggestion", env: "TOKENGATE_PROVIDER_CLIENTID=x", key: "TOKENGATE_PROVIDER_CLIENTID",
			parts: []string{"unknown variable", "TOKENGATE_PROVIDER_CLIENT_ID"}},
		{name: "unknown without a near name", env: "TOKENGATE_SOMETHING_ELSE_ENTIRELY=1", key: "TOKENGATE_SOMETHING_ELSE_ENTIRELY",
			parts: []string{"unknown variable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", validEnv(tt.env))
			wantProblem(t, err, tt.key, tt.parts...)
		})
	}
}

func TestLoadEnvOnly(t *testing.T) {
	c, err := Load("", validEnv())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := validConfig()
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load() = %+v; want %+v", c, want)
	}
	if _, err := Load("", nil); err == nil {
		t.Error("Load with nothing set = nil error; want the required keys reported")
	}
}
