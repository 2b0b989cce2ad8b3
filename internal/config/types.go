// Package config loads tokengate's configuration: one YAML file, every key overridable by a
// TOKENGATE_… environment variable, secrets also read from files, defaults in one place and a
// validation that names the key of every problem.
package config

import (
	"time"

	"github.com/tokengate/tokengate/internal/secret"
)

// AKSServerAppID is the application id of "Azure Kubernetes Service AAD Server", the audience
// every AKS API server with Entra integration expects in a user's access token.
const AKSServerAppID = "6dae42f8-4368-4678-94ff-3960e28e3630"

// DefaultResourceScope asks Entra for an AKS access token, as kubelogin does.
const DefaultResourceScope = AKSServerAppID + "/.default"

// Config is the whole configuration tree. YAML keys are the lowerCamelCase names in the tags.
type Config struct {
	// PublicURL is where browsers reach tokengate, e.g. https://auth.example.com. The OIDC
	// redirect URI is PublicURL + "/oauth2/callback".
	PublicURL string `yaml:"publicURL"`
	// Listen is the address the HTTP server binds, e.g. ":4180".
	Listen string `yaml:"listen"`
	// ShutdownDelay is how long tokengate keeps serving after SIGTERM with /readyz already
	// answering 503, so that the ingress and the Service stop sending to it before the
	// listener closes. In-flight requests then get up to 20s more to finish.
	ShutdownDelay time.Duration `yaml:"shutdownDelay"`
	// Replicas is how many tokengate processes serve this configuration at most (the Helm
	// chart sets it from replicaCount or autoscaling.maxReplicas); 0 leaves it undeclared.
	// A process cannot count its peers, so the one setup that is unsafe with several of
	// them, the cookie store with provider.refreshTokenReuseDetection, must declare 1.
	Replicas int `yaml:"replicas"`
	// AllowedRedirectDomains lists hosts that rd= may send the browser to after sign-in:
	// an exact host ("headlamp.example.com") or a leading-dot suffix (".example.com").
	AllowedRedirectDomains []string `yaml:"allowedRedirectDomains"`

	Provider    Provider    `yaml:"provider"`
	Cookie      Cookie      `yaml:"cookie"`
	Session     Session     `yaml:"session"`
	Redis       Redis       `yaml:"redis"`
	Token       Token       `yaml:"token"`
	ForwardAuth ForwardAuth `yaml:"forwardAuth"`
	Headers     Headers     `yaml:"headers"`
	Log         Log         `yaml:"log"`
	Metrics     Metrics     `yaml:"metrics"`
	Tracing     Tracing     `yaml:"tracing"`
	Debug       Debug       `yaml:"debug"`

	// Dashboards are the protected applications, each with its hosts, token, headers and
	// allow-lists. Empty means one default profile: the resource token in Authorization and
	// the X-Auth-Request-* headers chosen under headers.
	Dashboards []Dashboard `yaml:"dashboards"`
}

// Dashboard is one protected application. Fields left empty take the preset's value.
type Dashboard struct {
	// Name identifies the profile in pages, logs and metrics.
	Name string `yaml:"name"`
	// Preset fills in the token and headers of a known dashboard: headlamp,
	// kubernetes-dashboard, headlamp-proxy-auth, grafana, structured-auth.
	Preset string `yaml:"preset"`
	// Hosts are exact host names or "*.suffix" wildcards this profile answers for.
	Hosts []string `yaml:"hosts"`
	// Default makes this profile answer for hosts no profile lists (at most one).
	Default bool `yaml:"default"`
	// Token chooses what the dashboard receives.
	Token DashboardToken `yaml:"token"`
	// Headers are the response headers /auth sends for this dashboard, by name; values may
	// use ${token}, ${user}, ${email}, ${name}, ${preferred_username}, ${groups}, ${oid}.
	// They are merged over the preset's; an empty value removes a preset header.
	Headers map[string]string `yaml:"headers"`
	// AllowedGroups, AllowedUsers and AllowedEmailDomains admit a user who matches any of
	// the lists that are set; with none set every signed-in user is admitted.
	AllowedGroups       []string `yaml:"allowedGroups"`
	AllowedUsers        []string `yaml:"allowedUsers"`
	AllowedEmailDomains []string `yaml:"allowedEmailDomains"`
	// GraphGroupLookup resolves group membership through Microsoft Graph when Entra sent
	// the groups overage claim instead of the groups (more than 200).
	GraphGroupLookup bool `yaml:"graphGroupLookup"`
	// BearerPassThrough accepts requests that carry their own bearer JWT from one of these
	// issuers (CLIs, scripts) and passes it through unchanged. Empty: off.
	BearerPassThrough []BearerIssuer `yaml:"bearerPassThrough"`
}

// DashboardToken chooses the token a dashboard receives.
type DashboardToken struct {
	// Kind is access_token, id_token or none.
	Kind string `yaml:"kind"`
	// Scopes name the one resource of an access token, e.g. api://my-api/.default.
	Scopes string `yaml:"scopes"`
}

// BearerIssuer is an issuer whose tokens a dashboard accepts as they are.
type BearerIssuer struct {
	// IssuerURL is the token's iss, e.g. https://sts.windows.net/<tenant>/.
	IssuerURL string `yaml:"issuerURL"`
	// JWKSURL is where its keys are; empty means OIDC discovery on IssuerURL.
	JWKSURL string `yaml:"jwksURL"`
	// Audiences accepted in aud, e.g. the AKS server app id.
	Audiences []string `yaml:"audiences"`
}

// Provider describes the OIDC identity provider and our client registration with it.
type Provider struct {
	// IssuerURL is the OIDC issuer, e.g. https://login.microsoftonline.com/<tenant>/v2.0.
	IssuerURL string `yaml:"issuerURL"`
	// ClientID is the application (client) id of tokengate's app registration.
	ClientID string `yaml:"clientID"`
	// ClientSecret is the client secret; ClientSecretFile, when set, is read instead.
	ClientSecret     secret.String `yaml:"clientSecret"`
	ClientSecretFile string        `yaml:"clientSecretFile"`
	// ClientAuthMethod is how the secret is sent to the token endpoint:
	// "client_secret_post" (default) or "client_secret_basic".
	ClientAuthMethod string `yaml:"clientAuthMethod"`
	// ClientAuth is how tokengate proves itself to the token endpoint: "secret" (default;
	// the client secret, sent as ClientAuthMethod says), "certificate" (a client assertion
	// signed with Certificate) or "workloadIdentity" (the federated token of Azure Workload
	// Identity; no secret at all).
	ClientAuth string `yaml:"clientAuth"`
	// Certificate is the client certificate of clientAuth: certificate.
	Certificate ClientCertificate `yaml:"certificate"`
	// WorkloadIdentity configures clientAuth: workloadIdentity.
	WorkloadIdentity WorkloadIdentity `yaml:"workloadIdentity"`
	// Scopes are the OIDC scopes of the sign-in; default openid profile email offline_access.
	Scopes []string `yaml:"scopes"`
	// ResourceScope names the one resource whose access token /auth hands out, default
	// 6dae42f8-4368-4678-94ff-3960e28e3630/.default (AKS).
	ResourceScope string `yaml:"resourceScope"`
	// Timeout bounds every call to the provider (discovery, token, JWKS). Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// GraphURL is Microsoft Graph, used only to resolve groups overage. Default
	// https://graph.microsoft.com.
	GraphURL string `yaml:"graphURL"`
	// TrustedAudiences are audiences besides ClientID that an id_token may also name (OIDC
	// Core 3.1.3.7: with several audiences, every one must be trusted and azp must be the
	// client id). Default none: only the client id.
	TrustedAudiences []string `yaml:"trustedAudiences"`
	// ClockSkew is how far in the future a token's iat or nbf may be, for clocks that
	// disagree. Default 2m, at most 5m; 0s tolerates none.
	ClockSkew time.Duration `yaml:"clockSkew"`
	// RefreshTokenReuseDetection declares that the provider revokes a sign-in when one of its
	// refresh tokens is redeemed twice (Keycloak, Okta, Auth0, Dex; not Entra). The cookie
	// store then refreshes inside the request, never in the background, so the rotated
	// refresh token always leaves with the answer that writes it into the cookie.
	RefreshTokenReuseDetection bool `yaml:"refreshTokenReuseDetection"`
}

// ClientCertificate is a certificate uploaded to the app registration and its private key.
type ClientCertificate struct {
	// CertFile is a PEM file with the certificate (the first CERTIFICATE block is used).
	CertFile string `yaml:"certFile"`
	// KeyFile is a PEM file with its RSA private key (PKCS#1 or PKCS#8, unencrypted).
	KeyFile string `yaml:"keyFile"`
	// Algorithm signs the client assertion: RS256 (default; header x5t) or PS256 (x5t#S256).
	Algorithm string `yaml:"algorithm"`
}

// WorkloadIdentity configures client authentication by Azure Workload Identity. With it,
// provider.clientID defaults to $AZURE_CLIENT_ID and provider.issuerURL to
// $AZURE_AUTHORITY_HOST + $AZURE_TENANT_ID + "/v2.0", as the webhook injects them.
type WorkloadIdentity struct {
	// TokenFile is the projected federated token, read on every token call because the
	// kubelet rotates it. Default $AZURE_FEDERATED_TOKEN_FILE.
	TokenFile string `yaml:"tokenFile"`
}

// Cookie configures the sealed session cookie.
type Cookie struct {
	// Name of the session cookie, default "_tokengate". Chunks are Name_0, Name_1, …
	Name string `yaml:"name"`
	// Domain shared by the dashboards, e.g. ".example.com"; empty means host-only.
	Domain string `yaml:"domain"`
	// Secrets are base64 (std or URL, padded or not) encodings of 32-byte keys. The first
	// seals, all open, so keys can be rotated. SecretFiles, when set, are read instead: one
	// key per file.
	Secrets     []secret.String `yaml:"secrets"`
	SecretFiles []string        `yaml:"secretFiles"`
}

// Session configures how long a sign-in lasts.
type Session struct {
	// Lifetime is the absolute lifetime of a session, default 12h.
	Lifetime time.Duration `yaml:"lifetime"`
	// SignInTimeout is how long a started sign-in (its CSRF cookie) stays valid, default 10m.
	SignInTimeout time.Duration `yaml:"signInTimeout"`
	// Store is where sessions live: "cookie" (default; everything sealed in the browser, no
	// server state) or "redis" (the cookie holds only a session id; sign-out revokes, and
	// replicas share tokens and refresh once; configure redis).
	Store string `yaml:"store"`
}

// Redis configures the Redis server, Sentinel or Cluster behind session.store: redis.
type Redis struct {
	// URL of a single server: redis://[user@]host:port[/db], or rediss:// for TLS. Set URL
	// or Addrs, not both. The password goes in Password or PasswordFile, never in the URL.
	URL string `yaml:"url"`
	// Addrs are host:port seeds: Sentinels when MasterName is set, else Cluster nodes (or
	// one server).
	Addrs []string `yaml:"addrs"`
	// MasterName is the Sentinel master set's name; it turns Addrs into Sentinels.
	MasterName string `yaml:"masterName"`
	// Username for Redis ACLs (AUTH username password); empty means the default user.
	Username string `yaml:"username"`
	// Password is the Redis password; PasswordFile, when set, is read instead.
	Password     secret.String `yaml:"password"`
	PasswordFile string        `yaml:"passwordFile"`
	// DB is the database number (not with Cluster), default 0.
	DB int `yaml:"db"`
	// TLS configures TLS to Redis; a rediss:// URL turns it on too.
	TLS RedisTLS `yaml:"tls"`
	// Timeout bounds every Redis call, default 500ms.
	Timeout time.Duration `yaml:"timeout"`
	// SessionCacheTTL is how long a replica serves a session from memory without asking
	// Redis: a signed-out or revoked session keeps working this long on other replicas.
	// Default 5s, at most 30s.
	SessionCacheTTL time.Duration `yaml:"sessionCacheTTL"`
	// LockTTL is how long one replica may hold a session's refresh lock, default 10s; at
	// least provider.timeout, so a refresh never outlives its lock.
	LockTTL time.Duration `yaml:"lockTTL"`
	// LockReplicas is how many replicas must hold a session's refresh lock before its
	// refresh token is presented (Redis WAIT), so a failover cannot lose the lock. 0 (the
	// default) waits for none: right for one server; set 1 with Sentinel or Cluster.
	LockReplicas int `yaml:"lockReplicas"`
}

// RedisTLS configures TLS to Redis.
type RedisTLS struct {
	// Enabled turns TLS on (also implied by a rediss:// URL).
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of the CAs that sign the server certificate; empty means the
	// system roots.
	CAFile string `yaml:"caFile"`
	// ServerName is the name checked in the server certificate; empty means the host dialed.
	ServerName string `yaml:"serverName"`
}

// Token configures the access-token cache.
type Token struct {
	// SafetyMargin ends a cached token this long before its real expiry, default 60s.
	SafetyMargin time.Duration `yaml:"safetyMargin"`
	// RefreshAhead starts a background refresh when a token has less than this left, default 5m.
	RefreshAhead time.Duration `yaml:"refreshAhead"`
	// CacheMaxBytes bounds the in-memory token cache. Default 0: a quarter of the memory
	// limit (GOMEMLIMIT or the container's), at least 8 MiB; 64 MiB when there is no limit.
	CacheMaxBytes int64 `yaml:"cacheMaxBytes"`
	// IdPCallsPerSecond and IdPBurst bound this replica's token-endpoint calls for
	// refreshes (a token bucket), default 50 per second with bursts of 100.
	IdPCallsPerSecond int `yaml:"idpCallsPerSecond"`
	IdPBurst          int `yaml:"idpBurst"`
}

// ForwardAuth configures which proxy headers are believed.
type ForwardAuth struct {
	// Mode is "auto" (default), "ingress-nginx", "traefik", "caddy" or "envoy".
	Mode string `yaml:"mode"`
	// CacheTTL, when above zero, lets /auth answer with X-Accel-Expires so that an NGINX
	// auth cache (ingress-nginx auth-cache-key) may keep a 200 for at most this long, and
	// never longer than the token has left. Default 0: no hint.
	CacheTTL time.Duration `yaml:"cacheTTL"`
}

// Headers chooses the optional response headers of /auth.
type Headers struct {
	// PassGroups adds X-Auth-Request-Groups (comma-separated group ids).
	PassGroups bool `yaml:"passGroups"`
	// PassAccessToken adds X-Auth-Request-Access-Token (the bare token).
	PassAccessToken bool `yaml:"passAccessToken"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is json (default) or text.
	Format string `yaml:"format"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen is the address of a separate listener for /metrics, e.g. ":9090": the only
	// place /metrics is served by default. Empty: /metrics is not served at all, unless
	// InsecureServeOnListen.
	Listen string `yaml:"listen"`
	// InsecureServeOnListen serves /metrics on the main listener, which the ingress routes:
	// anyone who reaches the auth host then reads the metrics (user counts, dashboard
	// names, trace ids). Off by default; for installs that cannot open a second port.
	InsecureServeOnListen bool `yaml:"insecureServeOnListen"`
}

// Tracing shapes the traces of /auth. Whether and where traces go is the standard OTEL_*
// environment variables' business, not a key.
type Tracing struct {
	// StepSpans is auto (default) or always. auto: a step of /auth (session load, policy
	// decision, token cache lookup) gets a child span when it leaves memory, refuses or
	// fails; the in-memory path of a known, allowed session with a cached token is told by
	// the server span's attributes alone. always: every /auth has all three child spans,
	// which costs several times that path's own work.
	StepSpans string `yaml:"stepSpans"`
}

// Step span modes of tracing.stepSpans.
const (
	StepSpansAuto   = "auto"
	StepSpansAlways = "always"
)

// Debug configures the sign-in debug page.
type Debug struct {
	// Enabled serves /oauth2/debug: the signed-in user's decoded token claims (never a
	// token) and each dashboard's decision. Default false; it answers 404 when off.
	Enabled bool `yaml:"enabled"`
}
