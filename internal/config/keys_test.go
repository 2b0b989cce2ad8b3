package config

import (
	"slices"
	"testing"
)

// TestKeysEnvNames lists every leaf key with its variable, so a rename (which would break
// deployments) or a new key (which needs docs) is noticed here.
func TestKeysEnvNames(t *testing.T) {
	want := []Key{
		{Path: "publicURL", Env: "TOKENGATE_PUBLIC_URL"},
		{Path: "listen", Env: "TOKENGATE_LISTEN"},
		{Path: "shutdownDelay", Env: "TOKENGATE_SHUTDOWN_DELAY"},
		{Path: "replicas", Env: "TOKENGATE_REPLICAS"},
		{Path: "allowedRedirectDomains", Env: "TOKENGATE_ALLOWED_REDIRECT_DOMAINS"},
		{Path: "provider.issuerURL", Env: "TOKENGATE_PROVIDER_ISSUER_URL"},
		{Path: "provider.clientID", Env: "TOKENGATE_PROVIDER_CLIENT_ID"},
		{Path: "provider.clientSecret", Env: "TOKENGATE_PROVIDER_CLIENT_SECRET", Secret: true},
		{Path: "provider.clientSecretFile", Env: "TOKENGATE_PROVIDER_CLIENT_SECRET_FILE"},
		{Path: "provider.clientAuthMethod", Env: "TOKENGATE_PROVIDER_CLIENT_AUTH_METHOD"},
		{Path: "provider.clientAuth", Env: "TOKENGATE_PROVIDER_CLIENT_AUTH"},
		{Path: "provider.certificate.certFile", Env: "TOKENGATE_PROVIDER_CERTIFICATE_CERT_FILE"},
		{Path: "provider.certificate.keyFile", Env: "TOKENGATE_PROVIDER_CERTIFICATE_KEY_FILE"},
		{Path: "provider.certificate.algorithm", Env: "TOKENGATE_PROVIDER_CERTIFICATE_ALGORITHM"},
		{Path: "provider.workloadIdentity.tokenFile", Env: "TOKENGATE_PROVIDER_WORKLOAD_IDENTITY_TOKEN_FILE"},
		{Path: "provider.scopes", Env: "TOKENGATE_PROVIDER_SCOPES"},
		{Path: "provider.resourceScope", Env: "TOKENGATE_PROVIDER_RESOURCE_SCOPE"},
		{Path: "provider.timeout", Env: "TOKENGATE_PROVIDER_TIMEOUT"},
		{Path: "provider.graphURL", Env: "TOKENGATE_PROVIDER_GRAPH_URL"},
		{Path: "provider.trustedAudiences", Env: "TOKENGATE_PROVIDER_TRUSTED_AUDIENCES"},
		{Path: "provider.clockSkew", Env: "TOKENGATE_PROVIDER_CLOCK_SKEW"},
		{Path: "provider.refreshTokenReuseDetection", Env: "TOKENGATE_PROVIDER_REFRESH_TOKEN_REUSE_DETECTION"},
		{Path: "cookie.name", Env: "TOKENGATE_COOKIE_NAME"},
		{Path: "cookie.domain", Env: "TOKENGATE_COOKIE_DOMAIN"},
		{Path: "cookie.secrets", Env: "TOKENGATE_COOKIE_SECRETS", Secret: true},
		{Path: "cookie.secretFiles", Env: "TOKENGATE_COOKIE_SECRET_FILES"},
		{Path: "session.lifetime", Env: "TOKENGATE_SESSION_LIFETIME"},
		{Path: "session.signInTimeout", Env: "TOKENGATE_SESSION_SIGN_IN_TIMEOUT"},
		{Path: "session.store", Env: "TOKENGATE_SESSION_STORE"},
		{Path: "redis.url", Env: "TOKENGATE_REDIS_URL"},
		{Path: "redis.addrs", Env: "TOKENGATE_REDIS_ADDRS"},
		{Path: "redis.masterName", Env: "TOKENGATE_REDIS_MASTER_NAME"},
		{Path: "redis.username", Env: "TOKENGATE_REDIS_USERNAME"},
		{Path: "redis.password", Env: "TOKENGATE_REDIS_PASSWORD", Secret: true},
		{Path: "redis.passwordFile", Env: "TOKENGATE_REDIS_PASSWORD_FILE"},
		{Path: "redis.db", Env: "TOKENGATE_REDIS_DB"},
		{Path: "redis.tls.enabled", Env: "TOKENGATE_REDIS_TLS_ENABLED"},
		{Path: "redis.tls.caFile", Env: "TOKENGATE_REDIS_TLS_CA_FILE"},
		{Path: "redis.tls.serverName", Env: "TOKENGATE_REDIS_TLS_SERVER_NAME"},
		{Path: "redis.timeout", Env: "TOKENGATE_REDIS_TIMEOUT"},
		{Path: "redis.sessionCacheTTL", Env: "TOKENGATE_REDIS_SESSION_CACHE_TTL"},
		{Path: "redis.lockTTL", Env: "TOKENGATE_REDIS_LOCK_TTL"},
		{Path: "redis.lockReplicas", Env: "TOKENGATE_REDIS_LOCK_REPLICAS"},
		{Path: "token.safetyMargin", Env: "TOKENGATE_TOKEN_SAFETY_MARGIN"},
		{Path: "token.refreshAhead", Env: "TOKENGATE_TOKEN_REFRESH_AHEAD"},
		{Path: "token.cacheMaxBytes", Env: "TOKENGATE_TOKEN_CACHE_MAX_BYTES"},
		{Path: "token.idpCallsPerSecond", Env: "TOKENGATE_TOKEN_IDP_CALLS_PER_SECOND"},
		{Path: "token.idpBurst", Env: "TOKENGATE_TOKEN_IDP_BURST"},
		{Path: "forwardAuth.mode", Env: "TOKENGATE_FORWARD_AUTH_MODE"},
		{Path: "forwardAuth.cacheTTL", Env: "TOKENGATE_FORWARD_AUTH_CACHE_TTL"},
		{Path: "headers.passGroups", Env: "TOKENGATE_HEADERS_PASS_GROUPS"},
		{Path: "headers.passAccessToken", Env: "TOKENGATE_HEADERS_PASS_ACCESS_TOKEN"},
		{Path: "log.level", Env: "TOKENGATE_LOG_LEVEL"},
		{Path: "log.format", Env: "TOKENGATE_LOG_FORMAT"},
		{Path: "metrics.listen", Env: "TOKENGATE_METRICS_LISTEN"},
		{Path: "metrics.insecureServeOnListen", Env: "TOKENGATE_METRICS_INSECURE_SERVE_ON_LISTEN"},
		{Path: "tracing.stepSpans", Env: "TOKENGATE_TRACING_STEP_SPANS"},
		{Path: "debug.enabled", Env: "TOKENGATE_DEBUG_ENABLED"},
		{Path: "dashboards", Env: "TOKENGATE_DASHBOARDS"},
	}
	var got []Key
	envs := make(map[string]bool)
	for _, k := range Keys() {
		got = append(got, Key{Path: k.Path, Env: k.Env, Secret: k.Secret})
		if envs[k.Env] {
			t.Errorf("two keys share the variable %s", k.Env)
		}
		envs[k.Env] = true
	}
	if !slices.EqualFunc(got, want, func(a, b Key) bool {
		return a.Path == b.Path && a.Env == b.Env && a.Secret == b.Secret
	}) {
		t.Errorf("Keys() =\n%v\nwant\n%v", got, want)
	}
	if envs[EnvConfig] {
		t.Errorf("a key uses the reserved variable %s", EnvConfig)
	}
}

func TestEnvWords(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "one word", in: "listen", want: "LISTEN"},
		{name: "camel", in: "cacheMaxBytes", want: "CACHE_MAX_BYTES"},
		{name: "trailing acronym", in: "publicURL", want: "PUBLIC_URL"},
		{name: "two-letter acronym", in: "clientID", want: "CLIENT_ID"},
		{name: "leading acronym", in: "URLPath", want: "URL_PATH"},
		{name: "acronym in the middle", in: "oidcHTTPTimeout", want: "OIDC_HTTP_TIMEOUT"},
		{name: "digit before upper", in: "tls13Only", want: "TLS13_ONLY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := envWords(tt.in); got != tt.want {
				t.Errorf("envWords(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestKeysAcceptValues sets every key through its variable, so a field of a type the loader
// cannot parse fails here rather than at an operator's start.
func TestKeysAcceptValues(t *testing.T) {
	samples := map[string]string{
		"time.Duration": "90s", "bool": "true", "int64": "1048576", "int": "3",
		"[]config.Dashboard": `[{"name": "x", "hosts": ["x.example.com"], "headers": {"X-A": "${user}"}}]`,
	}
	for _, k := range Keys() {
		t.Run(k.Path, func(t *testing.T) {
			c := Defaults()
			value, ok := samples[k.typ.String()]
			if !ok {
				value = "x"
			}
			if err := setFromEnv(&c, k, value); err != nil {
				t.Errorf("setFromEnv(%s=%q) = %v; want nil", k.Env, value, err)
			}
		})
	}
}
