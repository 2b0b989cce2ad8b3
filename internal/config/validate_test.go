package config

import (
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/secret"

	"github.com/tokengate/tokengate/internal/forward"
)

func TestValidate(t *testing.T) {
	aks := AKSServerAppID
	tests := []struct {
		name   string
		mutate func(c *Config)
		key    string // "" = valid
		parts  []string
	}{
		{name: "valid minimal", mutate: func(c *Config) {}},

		{name: "publicURL missing", mutate: func(c *Config) { c.PublicURL = "" }, key: "publicURL", parts: []string{"required"}},
		{name: "publicURL relative", mutate: func(c *Config) { c.PublicURL = "auth.example.com" }, key: "publicURL", parts: []string{"not an absolute URL"}},
		{name: "publicURL http", mutate: func(c *Config) { c.PublicURL = "http://auth.example.com" }, key: "publicURL", parts: []string{"want https"}},
		{name: "publicURL http localhost", mutate: func(c *Config) { c.PublicURL = "http://localhost:4180"; c.Cookie.Domain = "" }},
		{name: "publicURL http 127.0.0.1", mutate: func(c *Config) { c.PublicURL = "http://127.0.0.1:4180" }},
		{name: "publicURL http [::1]", mutate: func(c *Config) { c.PublicURL = "http://[::1]:4180" }},
		{name: "publicURL http localhost lookalike", mutate: func(c *Config) { c.PublicURL = "http://localhost.evil.com" }, key: "publicURL", parts: []string{"want https"}},
		{name: "publicURL ftp", mutate: func(c *Config) { c.PublicURL = "ftp://auth.example.com" }, key: "publicURL", parts: []string{`scheme "ftp"`}},
		{name: "publicURL query", mutate: func(c *Config) { c.PublicURL = "https://auth.example.com/?a=b" }, key: "publicURL", parts: []string{"query"}},
		{name: "publicURL empty query", mutate: func(c *Config) { c.PublicURL = "https://auth.example.com?" }, key: "publicURL", parts: []string{"query"}},
		{name: "publicURL fragment", mutate: func(c *Config) { c.PublicURL = "https://auth.example.com/#x" }, key: "publicURL", parts: []string{"fragment"}},
		{name: "publicURL path", mutate: func(c *Config) { c.PublicURL = "https://example.com/auth" }},
		{name: "publicURL user info is refused and not echoed", mutate: func(c *Config) { c.PublicURL = "https://u:pa55word@auth.example.com" }, key: "publicURL", parts: []string{"user info"}},
		{name: "publicURL bad port", mutate: func(c *Config) { c.PublicURL = "https://auth.example.com:port" }, key: "publicURL", parts: []string{"not a URL"}},

		{name: "replicas negative", mutate: func(c *Config) { c.Replicas = -1 }, key: "replicas"},
		{name: "replicas several on redis with reuse detection", mutate: func(c *Config) {
			c.Replicas, c.Provider.RefreshTokenReuseDetection = 3, true
			c.Session.Store, c.Redis.URL = StoreRedis, "redis://redis:6379"
		}},
		{name: "replicas several on cookie without reuse detection", mutate: func(c *Config) { c.Replicas = 3 }},
		{name: "replicas undeclared on cookie with reuse detection", mutate: func(c *Config) {
			c.Provider.RefreshTokenReuseDetection = true
		}, key: "replicas", parts: []string{"replicas: 1", "session.store: redis"}},
		{name: "replicas several on cookie with reuse detection", mutate: func(c *Config) {
			c.Replicas, c.Provider.RefreshTokenReuseDetection = 2, true
		}, key: "replicas", parts: []string{"2 replicas", "twice", "session.store: redis"}},
		{name: "one replica on cookie with reuse detection", mutate: func(c *Config) {
			c.Replicas, c.Provider.RefreshTokenReuseDetection = 1, true
		}},

		{name: "listen bad", mutate: func(c *Config) { c.Listen = "4180" }, key: "listen", parts: []string{"host:port"}},
		{name: "listen host and port", mutate: func(c *Config) { c.Listen = "127.0.0.1:4180" }},

		{name: "redirect domains good", mutate: func(c *Config) {
			c.AllowedRedirectDomains = []string{"headlamp.example.com", ".example.com", "localhost"}
		}},
		{name: "redirect domain scheme", mutate: func(c *Config) { c.AllowedRedirectDomains = []string{"a.com", "https://b.com"} }, key: "allowedRedirectDomains[1]", parts: []string{"scheme"}},
		{name: "redirect domain path", mutate: func(c *Config) { c.AllowedRedirectDomains = []string{"b.com/x"} }, key: "allowedRedirectDomains[0]", parts: []string{"path"}},
		{name: "clock skew above five minutes", mutate: func(c *Config) { c.Provider.ClockSkew = 6 * time.Minute }, key: "provider.clockSkew", parts: []string{"5m0s"}},
		{name: "negative clock skew", mutate: func(c *Config) { c.Provider.ClockSkew = -time.Second }, key: "provider.clockSkew"},
		{name: "zero clock skew", mutate: func(c *Config) { c.Provider.ClockSkew = 0 }},
		{name: "trusted audiences", mutate: func(c *Config) {
			c.Provider.TrustedAudiences = []string{"api://tools", "00000000-0000-0000-0000-000000000001"}
		}},
		{name: "empty trusted audience", mutate: func(c *Config) { c.Provider.TrustedAudiences = []string{"api://tools", ""} }, key: "provider.trustedAudiences[1]"},
		{name: "trusted audience with a space", mutate: func(c *Config) { c.Provider.TrustedAudiences = []string{" api://tools"} }, key: "provider.trustedAudiences[0]"},
		{name: "redirect domain with port", mutate: func(c *Config) { c.AllowedRedirectDomains = []string{"b.com:8443", ".c.com:443", "localhost:8080"} }},
		{name: "redirect domain port zero", mutate: func(c *Config) { c.AllowedRedirectDomains = []string{"b.com:0"} }, key: "allowedRedirectDomains[0]", parts: []string{"port"}},
		{name: "redirect domain empty port", mutate: func(c *Config) { c.AllowedRedirectDomains = []string{".b.com:"} }, key: "allowedRedirectDomains[0]", parts: []string{"port"}},
		{name: "redirect domain port leading zero", mutate: func(c *Config) { c.AllowedRedirectDomains = []string{"b.com:0443"} }, key: "allowedRedirectDomains[0]", parts: []string{"port"}},
		{name: "redirect domain two ports", mutate: func(c *Config) { c.AllowedRedirectDomains = []string{"b.com:443:443"} }, key: "allowedRedirectDomains[0]", parts: []string{"port"}},
		{name: "redirect domain wildcard", mutate: func(c *Config) { c.AllowedRedirectDomains = []string{"*.b.com"} }, key: "allowedRedirectDomains[0]", parts: []string{"wildcard"}},
		{name: "redirect domain empty", mutate: func(c *Config) { c.AllowedRedirectDomains = []string{""} }, key: "allowedRedirectDomains[0]", parts: []string{"empty"}},
		{name: "redirect domain too broad", mutate: func(c *Config) { c.AllowedRedirectDomains = []string{".com"} }, key: "allowedRedirectDomains[0]", parts: []string{"too broad"}},
		{name: "redirect domain bad label", mutate: func(c *Config) { c.AllowedRedirectDomains = []string{"a..b.com"} }, key: "allowedRedirectDomains[0]", parts: []string{"not a valid host"}},

		{name: "issuer missing", mutate: func(c *Config) { c.Provider.IssuerURL = "" }, key: "provider.issuerURL", parts: []string{"required"}},
		{name: "issuer http", mutate: func(c *Config) { c.Provider.IssuerURL = "http://login.example.com" }, key: "provider.issuerURL", parts: []string{"want https"}},
		{name: "issuer http loopback", mutate: func(c *Config) { c.Provider.IssuerURL = "http://127.0.0.1:5556/dev" }},
		{name: "issuer query", mutate: func(c *Config) { c.Provider.IssuerURL = "https://login.example.com/?x=1" }, key: "provider.issuerURL", parts: []string{"query"}},
		{name: "clientID missing", mutate: func(c *Config) { c.Provider.ClientID = "" }, key: "provider.clientID", parts: []string{"required"}},
		{name: "client secret missing", mutate: func(c *Config) { c.Provider.ClientSecret = "" }, key: "provider.clientSecret", parts: []string{"required", "clientSecretFile"}},
		{name: "client secret from file only", mutate: func(c *Config) { c.Provider.ClientSecret = ""; c.Provider.ClientSecretFile = "/s" }},
		{name: "auth method basic", mutate: func(c *Config) { c.Provider.ClientAuthMethod = AuthClientSecretBasic }},
		{name: "auth method bad", mutate: func(c *Config) { c.Provider.ClientAuthMethod = "private_key_jwt" }, key: "provider.clientAuthMethod", parts: []string{"private_key_jwt"}},
		{name: "scopes without openid", mutate: func(c *Config) { c.Provider.Scopes = []string{"profile", "offline_access"} }, key: "provider.scopes", parts: []string{"openid"}},
		{name: "scopes without offline_access", mutate: func(c *Config) { c.Provider.Scopes = []string{"openid"} }, key: "provider.scopes", parts: []string{"no refresh token without offline_access"}},
		{name: "scope with spaces", mutate: func(c *Config) { c.Provider.Scopes = []string{"openid offline_access", "openid", "offline_access"} }, key: "provider.scopes[0]", parts: []string{"not one scope"}},
		{name: "resource scope user.read", mutate: func(c *Config) { c.Provider.ResourceScope = aks + "/user.read" }},
		{name: "resource scope graph", mutate: func(c *Config) { c.Provider.ResourceScope = "User.Read" }},
		{name: "resource scope with OIDC scope", mutate: func(c *Config) { c.Provider.ResourceScope = "openid " + aks + "/.default" }},
		{name: "resource scope empty", mutate: func(c *Config) { c.Provider.ResourceScope = " " }, key: "provider.resourceScope", parts: []string{"required"}},
		{name: "resource scope only OIDC", mutate: func(c *Config) { c.Provider.ResourceScope = "openid profile" }, key: "provider.resourceScope", parts: []string{"no resource"}},
		{name: "resource scope two resources", mutate: func(c *Config) { c.Provider.ResourceScope = aks + "/.default https://graph.microsoft.com/User.Read" }, key: "provider.resourceScope", parts: []string{"2 resources", "AADSTS28000"}},
		{name: "resource scope bare scope is graph", mutate: func(c *Config) { c.Provider.ResourceScope = aks + "/user.read User.Read" }, key: "provider.resourceScope", parts: []string{"AADSTS28000"}},
		{name: "resource scope mixes .default", mutate: func(c *Config) { c.Provider.ResourceScope = aks + "/.default " + aks + "/user.read" }, key: "provider.resourceScope", parts: []string{"mixes", "/.default"}},
		{name: "resource scope mixes graph aliases", mutate: func(c *Config) { c.Provider.ResourceScope = "User.Read 00000003-0000-0000-c000-000000000000/.default" }, key: "provider.resourceScope", parts: []string{"mixes"}},
		{name: "resource scope two named of one resource", mutate: func(c *Config) { c.Provider.ResourceScope = "api://app/read api://app/write" }},
		{name: "provider timeout zero", mutate: func(c *Config) { c.Provider.Timeout = 0 }, key: "provider.timeout", parts: []string{"> 0"}},

		{name: "no cookie secret", mutate: func(c *Config) { c.Cookie.Secrets = nil }, key: "cookie.secrets", parts: []string{"at least one"}},
		{name: "cookie secret url raw", mutate: func(c *Config) {
			c.Cookie.Secrets = append(c.Cookie.Secrets, secret.String(strings.Repeat("_", 43)))
		}},
		{name: "cookie secret short", mutate: func(c *Config) {
			c.Cookie.Secrets = append(c.Cookie.Secrets, secret.String(strings.Repeat("A", 22)))
		}, key: "cookie.secrets[1]", parts: []string{"decodes to 16 bytes; want 32 (AES-256)"}},
		{name: "cookie secret not base64", mutate: func(c *Config) { c.Cookie.Secrets = []secret.String{"not base64!"} }, key: "cookie.secrets[0]", parts: []string{"not base64"}},
		{name: "cookie secret from file named by file", mutate: func(c *Config) {
			c.Cookie.Secrets = []secret.String{"AAAA"}
			c.Cookie.SecretFiles = []string{"/k"}
		}, key: "cookie.secretFiles[0]", parts: []string{"decodes to 3 bytes"}},
		{name: "cookie name bad", mutate: func(c *Config) { c.Cookie.Name = "tg session" }, key: "cookie.name", parts: []string{"not a valid cookie name"}},
		{name: "cookie name empty", mutate: func(c *Config) { c.Cookie.Name = "" }, key: "cookie.name"},
		{name: "cookie name separator", mutate: func(c *Config) { c.Cookie.Name = "a=b" }, key: "cookie.name"},
		{name: "cookie domain parent", mutate: func(c *Config) { c.Cookie.Domain = ".example.com" }},
		{name: "cookie domain parent without dot", mutate: func(c *Config) { c.Cookie.Domain = "example.com" }},
		{name: "cookie domain exact host", mutate: func(c *Config) { c.Cookie.Domain = "auth.example.com" }},
		{name: "cookie domain case", mutate: func(c *Config) { c.Cookie.Domain = ".Example.COM" }},
		{name: "cookie domain elsewhere", mutate: func(c *Config) { c.Cookie.Domain = ".other.com" }, key: "cookie.domain", parts: []string{"auth.example.com"}},
		{name: "cookie domain partial label", mutate: func(c *Config) { c.Cookie.Domain = "ample.com" }, key: "cookie.domain", parts: []string{"does not contain"}},
		{name: "cookie domain with port", mutate: func(c *Config) { c.Cookie.Domain = "example.com:443" }, key: "cookie.domain", parts: []string{"not a valid host"}},
		{name: "cookie domain with __Host-", mutate: func(c *Config) { c.Cookie.Name = "__Host-tg"; c.Cookie.Domain = ".example.com" }, key: "cookie.domain", parts: []string{"__Host-"}},

		{name: "lifetime zero", mutate: func(c *Config) { c.Session.Lifetime = 0 }, key: "session.lifetime"},
		{name: "lifetime 90 days", mutate: func(c *Config) { c.Session.Lifetime = 90 * 24 * time.Hour }},
		{name: "lifetime over 90 days", mutate: func(c *Config) { c.Session.Lifetime = 90*24*time.Hour + time.Second }, key: "session.lifetime", parts: []string{"90 days"}},
		{name: "sign-in timeout 1m", mutate: func(c *Config) { c.Session.SignInTimeout = time.Minute }},
		{name: "sign-in timeout 1h", mutate: func(c *Config) { c.Session.SignInTimeout = time.Hour }},
		{name: "sign-in timeout short", mutate: func(c *Config) { c.Session.SignInTimeout = 59 * time.Second }, key: "session.signInTimeout"},
		{name: "sign-in timeout long", mutate: func(c *Config) { c.Session.SignInTimeout = time.Hour + 1 }, key: "session.signInTimeout"},
		{name: "safety margin zero", mutate: func(c *Config) { c.Token.SafetyMargin = 0 }},
		{name: "safety margin negative", mutate: func(c *Config) { c.Token.SafetyMargin = -1 }, key: "token.safetyMargin"},
		{name: "refresh ahead zero", mutate: func(c *Config) { c.Token.RefreshAhead = 0 }},
		{name: "refresh ahead negative", mutate: func(c *Config) { c.Token.RefreshAhead = -time.Second }, key: "token.refreshAhead"},
		{name: "cache 1 MiB", mutate: func(c *Config) { c.Token.CacheMaxBytes = 1 << 20 }},
		{name: "cache too small", mutate: func(c *Config) { c.Token.CacheMaxBytes = 1<<20 - 1 }, key: "token.cacheMaxBytes", parts: []string{"1 MiB"}},

		{name: "mode traefik", mutate: func(c *Config) { c.ForwardAuth.Mode = forward.ModeTraefik }},
		{name: "cache ttl 30s", mutate: func(c *Config) { c.ForwardAuth.CacheTTL = 30 * time.Second }},
		{name: "cache ttl too long", mutate: func(c *Config) { c.ForwardAuth.CacheTTL = time.Hour }, key: "forwardAuth.cacheTTL", parts: []string{"1h0m0s"}},
		{name: "cache ttl negative", mutate: func(c *Config) { c.ForwardAuth.CacheTTL = -time.Second }, key: "forwardAuth.cacheTTL"},
		{name: "mode bad", mutate: func(c *Config) { c.ForwardAuth.Mode = "nginx" }, key: "forwardAuth.mode", parts: []string{`"nginx"`}},
		{name: "log level bad", mutate: func(c *Config) { c.Log.Level = "verbose" }, key: "log.level"},
		{name: "log format bad", mutate: func(c *Config) { c.Log.Format = "xml" }, key: "log.format"},
		{name: "step spans bad", mutate: func(c *Config) { c.Tracing.StepSpans = "sometimes" }, key: "tracing.stepSpans"},
		{name: "metrics listener", mutate: func(c *Config) { c.Metrics.Listen = ":9090" }},
		{name: "metrics listener bad", mutate: func(c *Config) { c.Metrics.Listen = "9090" }, key: "metrics.listen", parts: []string{"host:port"}},
		{name: "metrics listener is listen", mutate: func(c *Config) { c.Metrics.Listen = c.Listen }, key: "metrics.listen", parts: []string{"the ingress does not route"}},
		{name: "metrics on the main listener", mutate: func(c *Config) { c.Metrics.InsecureServeOnListen = true }},
		{name: "metrics in two places", mutate: func(c *Config) { c.Metrics.Listen = ":9090"; c.Metrics.InsecureServeOnListen = true },
			key: "metrics.insecureServeOnListen", parts: []string{"choose one"}},
		{name: "graph url http", mutate: func(c *Config) { c.Provider.GraphURL = "http://graph.example.com" }, key: "provider.graphURL"},

		{name: "dashboards good", mutate: func(c *Config) { c.Dashboards = goodDashboards() }},
		{name: "dashboard without name", mutate: func(c *Config) { c.Dashboards = goodDashboards(); c.Dashboards[1].Name = "" }, key: "dashboards[1].name"},
		{name: "dashboard name upper case", mutate: func(c *Config) { c.Dashboards = goodDashboards(); c.Dashboards[0].Name = "Headlamp" }, key: "dashboards[0].name"},
		{name: "dashboard names repeat", mutate: func(c *Config) { c.Dashboards = goodDashboards(); c.Dashboards[1].Name = "headlamp" }, key: "dashboards[1].name", parts: []string{"dashboards[0]"}},
		{name: "dashboard without hosts", mutate: func(c *Config) { c.Dashboards = goodDashboards(); c.Dashboards[1].Hosts = nil }, key: "dashboards[1].hosts"},
		{name: "default dashboard without hosts", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[1].Hosts, c.Dashboards[1].Default = nil, true
		}},
		{name: "two defaults", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].Default, c.Dashboards[1].Default = true, true
		}, key: "dashboards"},
		{name: "overlapping hosts", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[1].Hosts = []string{"HEADLAMP.example.com"}
		}, key: "dashboards[1].hosts[0]", parts: []string{"dashboards[0]"}},
		{name: "overlapping wildcards", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].Hosts = []string{"*.apps.example.com"}
			c.Dashboards[1].Hosts = []string{"*.apps.example.com"}
		}, key: "dashboards[1].hosts[0]"},
		{name: "bad host", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].Hosts = []string{"https://x.example.com"}
		}, key: "dashboards[0].hosts[0]"},
		{name: "broad wildcard", mutate: func(c *Config) { c.Dashboards = goodDashboards(); c.Dashboards[0].Hosts = []string{"*.com"} }, key: "dashboards[0].hosts[0]", parts: []string{"too broad"}},
		{name: "bad token kind", mutate: func(c *Config) { c.Dashboards = goodDashboards(); c.Dashboards[0].Token.Kind = "refresh_token" }, key: "dashboards[0].token.kind"},
		{name: "two resources in a profile", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].Token.Scopes = DefaultResourceScope + " https://graph.microsoft.com/User.Read"
		}, key: "dashboards[0].token.scopes", parts: []string{"AADSTS28000"}},
		{name: "scopes on id token", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].Token = DashboardToken{Kind: TokenID, Scopes: "x/.default"}
		}, key: "dashboards[0].token.scopes"},
		{name: "forbidden header", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].Headers = map[string]string{"Set-Cookie": "x"}
		}, key: "dashboards[0].headers.Set-Cookie"},
		{name: "bad email domain", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].AllowedEmailDomains = []string{"exa mple.com"}
		}, key: "dashboards[0].allowedEmailDomains[0]"},
		{name: "email domain with a trailing dot", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].AllowedEmailDomains = []string{"example.com."}
		}, key: "dashboards[0].allowedEmailDomains[0]", parts: []string{"ends with a dot"}},
		{name: "single-label email domain", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].AllowedEmailDomains = []string{"example"}
		}, key: "dashboards[0].allowedEmailDomains[0]", parts: []string{"two labels"}},
		{name: "idn email domain", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].AllowedEmailDomains = []string{"bücher.de", "@xn--bcher-kva.de"}
		}},
		{name: "allowed user with two @", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].AllowedUsers = []string{"alice@example.com", "a@evil.com@example.com"}
		}, key: "dashboards[0].allowedUsers[1]", parts: []string{"more than one @"}},
		{name: "empty allowed user", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].AllowedUsers = []string{""}
		}, key: "dashboards[0].allowedUsers[0]", parts: []string{"empty"}},
		{name: "allowed group with a space", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].AllowedGroups = []string{" g-admins"}
		}, key: "dashboards[0].allowedGroups[0]", parts: []string{"spaces"}},
		{name: "pass-through without audience", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].BearerPassThrough = []BearerIssuer{{IssuerURL: "https://sts.windows.net/t/"}}
		}, key: "dashboards[0].bearerPassThrough[0].audiences"},
		{name: "pass-through http issuer", mutate: func(c *Config) {
			c.Dashboards = goodDashboards()
			c.Dashboards[0].BearerPassThrough = []BearerIssuer{{IssuerURL: "http://sts.example.com/t/", Audiences: []string{"a"}}}
		}, key: "dashboards[0].bearerPassThrough[0].issuerURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Errorf("Validate() = %v; want nil", err)
				}
				return
			}
			wantProblem(t, err, tt.key, tt.parts...)
			if n := len(problemsOf(t, err)); n != 1 {
				t.Errorf("Validate() = %v; want exactly one problem, got %d", err, n)
			}
		})
	}
}

// TestValidateReportsAll checks that Validate collects every problem instead of stopping.
func TestValidateReportsAll(t *testing.T) {
	var c Config
	err := c.Validate()
	for _, key := range []string{
		"publicURL", "listen", "provider.issuerURL", "provider.clientID", "provider.clientSecret",
		"provider.clientAuthMethod", "provider.scopes", "provider.resourceScope", "provider.timeout",
		"cookie.secrets", "cookie.name", "session.lifetime", "session.signInTimeout",
		"token.idpCallsPerSecond", "token.idpBurst", "forwardAuth.mode", "log.level", "log.format",
	} {
		wantProblem(t, err, key)
	}
}

// TestValidateIsPure checks that Validate does not change the configuration it checks.
func TestValidateIsPure(t *testing.T) {
	c := validConfig()
	c.PublicURL = "https://auth.example.com/"
	c.Cookie.Name = ""
	before := *c
	_ = c.Validate()
	if c.PublicURL != before.PublicURL || c.Cookie.Name != before.Cookie.Name {
		t.Errorf("Validate modified the config: %+v; want %+v", *c, before)
	}
}

func goodDashboards() []Dashboard {
	return []Dashboard{
		{Name: "headlamp", Preset: "headlamp", Hosts: []string{"headlamp.example.com"}, AllowedGroups: []string{"g1"}},
		{Name: "grafana", Preset: "grafana", Hosts: []string{"grafana.example.com", "*.grafana.example.com"}},
	}
}
