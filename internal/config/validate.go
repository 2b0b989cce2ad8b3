package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/forward"
)

// Values of Provider.ClientAuthMethod.
const (
	AuthClientSecretPost  = "client_secret_post"
	AuthClientSecretBasic = "client_secret_basic"
)

// Bounds that Validate enforces.
const (
	// MaxSessionLifetime is Entra's refresh-token lifetime: a session cannot outlive it.
	MaxSessionLifetime = 90 * 24 * time.Hour
	// MinCacheMaxBytes keeps the token cache large enough to hold a useful number of tokens.
	MinCacheMaxBytes = 1 << 20
)

// Validate reports every problem of c at once as a *ValidationError, each naming its key path
// ("cookie.secrets[1]: decodes to 16 bytes; want 32 (AES-256)"). It is pure: no file or
// network access, and c is not modified. Messages never contain a secret value.
func (c *Config) Validate() error {
	var ps problems
	public := c.validateTop(&ps)
	c.validateProvider(&ps)
	c.validatePlaceholders(&ps) // placeholders.go
	c.validateCookie(&ps, public)
	c.validateTimes(&ps)
	c.validateRedis(&ps)
	c.validateDashboards(&ps)
	if _, err := parseWebURL(c.Provider.GraphURL, "https://graph.microsoft.com"); err != nil {
		ps.addErr("provider.graphURL", err)
	}
	if !slices.Contains(forward.Modes, c.ForwardAuth.Mode) {
		ps.add("forwardAuth.mode", "%q is not one of %s", c.ForwardAuth.Mode, strings.Join(forward.Modes, ", "))
	}
	if c.ForwardAuth.CacheTTL < 0 || c.ForwardAuth.CacheTTL > 5*time.Minute {
		ps.add("forwardAuth.cacheTTL", "%s is outside 0s–5m: a longer auth cache keeps signed-out users in", c.ForwardAuth.CacheTTL)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		ps.add("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if !slices.Contains([]string{"json", "text"}, c.Log.Format) {
		ps.add("log.format", "%q is not one of json, text", c.Log.Format)
	}
	if !slices.Contains([]string{StepSpansAuto, StepSpansAlways}, c.Tracing.StepSpans) {
		ps.add("tracing.stepSpans", "%q is not one of auto, always", c.Tracing.StepSpans)
	}
	c.validateMetrics(&ps)
	return ps.err()
}

// MaxShutdownDelay bounds shutdownDelay: Kubernetes' default grace period is 30s, and a
// longer delay only slows every rollout.
const MaxShutdownDelay = time.Minute

// validateTop checks the top-level keys and returns the parsed public URL (nil when invalid).
func (c *Config) validateTop(ps *problems) *url.URL {
	public, err := parseWebURL(c.PublicURL, "https://auth.example.com")
	if err != nil {
		ps.addErr("publicURL", err)
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		ps.add("listen", "%q is not host:port; want e.g. :4180", c.Listen)
	}
	if c.ShutdownDelay < 0 || c.ShutdownDelay > MaxShutdownDelay {
		ps.add("shutdownDelay", "%s is outside 0s–1m", c.ShutdownDelay)
	}
	for i, d := range c.AllowedRedirectDomains {
		if err := checkDomain(d); err != nil {
			ps.add(fmt.Sprintf("allowedRedirectDomains[%d]", i), "%q %w", d, err)
		}
	}
	return public
}

func (c *Config) validateProvider(ps *problems) {
	p := &c.Provider
	if _, err := parseWebURL(p.IssuerURL, "https://login.microsoftonline.com/<tenant-id>/v2.0"); err != nil {
		ps.addErr("provider.issuerURL", err)
	}
	if p.ClientID == "" {
		ps.add("provider.clientID", "required: the application (client) id of the app registration")
	}
	if !p.secretless() && p.ClientSecret.IsEmpty() && p.ClientSecretFile == "" {
		ps.add("provider.clientSecret", "required: set provider.clientSecret or provider.clientSecretFile (or a secretless provider.clientAuth: certificate, workloadIdentity)")
	}
	c.validateClientAuth(ps) // clientauth.go
	if p.ClientAuthMethod != AuthClientSecretPost && p.ClientAuthMethod != AuthClientSecretBasic {
		ps.add("provider.clientAuthMethod", "%q is not one of %s, %s",
			p.ClientAuthMethod, AuthClientSecretPost, AuthClientSecretBasic)
	}
	for i, s := range p.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\n") {
			ps.add(fmt.Sprintf("provider.scopes[%d]", i),
				"%q is not one scope; list each scope separately (comma-separated in TOKENGATE_PROVIDER_SCOPES)", s)
		}
	}
	if !slices.Contains(p.Scopes, "openid") {
		ps.add("provider.scopes", "must contain openid: without it there is no id_token to sign the user in")
	}
	if !slices.Contains(p.Scopes, "offline_access") {
		ps.add("provider.scopes", "must contain offline_access: no refresh token without offline_access, so every token expiry would be a new sign-in")
	}
	if err := checkResourceScope(p.ResourceScope); err != nil {
		ps.addErr("provider.resourceScope", err)
	}
	c.validateTokenChecks(ps)
	if p.Timeout <= 0 {
		ps.add("provider.timeout", "%s must be > 0: every call to the provider needs a timeout", p.Timeout)
	}
}

func (c *Config) validateCookie(ps *problems, public *url.URL) {
	ck := &c.Cookie
	if len(ck.Secrets) == 0 {
		ps.add("cookie.secrets", "at least one key required (or cookie.secretFiles); generate one with: openssl rand -base64 32")
	}
	for i, s := range ck.Secrets {
		if _, err := decodeCookieKey(s); err != nil {
			ps.addErr(c.cookieSecretKey(i), err)
		}
	}
	if !isCookieToken(ck.Name) {
		ps.add("cookie.name", "%q is not a valid cookie name (RFC 6265 token: no spaces, separators or control characters)", ck.Name)
	}
	if ck.Domain == "" {
		return
	}
	if strings.HasPrefix(ck.Name, "__Host-") {
		ps.add("cookie.domain", "must be empty: browsers reject a __Host- cookie with a Domain")
	}
	d := strings.ToLower(strings.TrimPrefix(ck.Domain, "."))
	if err := checkHost(d); err != nil {
		ps.add("cookie.domain", "%q %w", ck.Domain, err)
		return
	}
	if public == nil {
		return // publicURL is already reported; no host to compare with
	}
	if host := strings.ToLower(public.Hostname()); host != d && !strings.HasSuffix(host, "."+d) {
		ps.add("cookie.domain", "%q does not contain the public host %s: the browser would refuse a cookie tokengate cannot set", ck.Domain, host)
	}
}

func (c *Config) validateTimes(ps *problems) {
	if l := c.Session.Lifetime; l <= 0 || l > MaxSessionLifetime {
		ps.add("session.lifetime", "%s must be > 0 and at most 2160h (90 days, the refresh-token lifetime)", l)
	}
	if t := c.Session.SignInTimeout; t < time.Minute || t > time.Hour {
		ps.add("session.signInTimeout", "%s must be between 1m and 1h", t)
	}
	if c.Token.SafetyMargin < 0 {
		ps.add("token.safetyMargin", "%s must be >= 0", c.Token.SafetyMargin)
	}
	if c.Token.RefreshAhead < 0 {
		ps.add("token.refreshAhead", "%s must be >= 0", c.Token.RefreshAhead)
	}
	if b := c.Token.CacheMaxBytes; b != 0 && b < MinCacheMaxBytes {
		ps.add("token.cacheMaxBytes", "%d must be 0 (sized from the memory limit) or at least %d (1 MiB)", b, MinCacheMaxBytes)
	}
	if r := c.Token.IdPCallsPerSecond; r < 1 || r > 10000 {
		ps.add("token.idpCallsPerSecond", "%d must be between 1 and 10000", r)
	}
	if b := c.Token.IdPBurst; b < 1 || b > 100000 {
		ps.add("token.idpBurst", "%d must be between 1 and 100000", b)
	}
}

// validateMetrics checks the separate /metrics listener, when one is set.
func (c *Config) validateMetrics(ps *problems) {
	l := c.Metrics.Listen
	if l == "" {
		return
	}
	if c.Metrics.InsecureServeOnListen {
		ps.add("metrics.insecureServeOnListen", "true with metrics.listen %q set; choose one place for /metrics", l)
	}
	if _, port, err := net.SplitHostPort(l); err != nil || port == "" {
		ps.add("metrics.listen", "%q is not host:port; want e.g. :9090", l)
		return
	}
	if l == c.Listen {
		ps.add("metrics.listen", "%q is also listen; /metrics needs a listener the ingress does not route", l)
	}
}

// maxClockSkew bounds provider.clockSkew: beyond it a token minted for a later attack, or a
// clock that is simply wrong, would pass the iat check.
const maxClockSkew = 5 * time.Minute

// validateTokenChecks checks the keys of the id_token and access token checks.
func (c *Config) validateTokenChecks(ps *problems) {
	p := &c.Provider
	if p.ClockSkew < 0 || p.ClockSkew > maxClockSkew {
		ps.add("provider.clockSkew", "%s: want 0s to %s", p.ClockSkew, maxClockSkew)
	}
	for i, a := range p.TrustedAudiences {
		if a == "" || strings.TrimSpace(a) != a || strings.ContainsAny(a, "\x00\r\n\t") {
			ps.add(fmt.Sprintf("provider.trustedAudiences[%d]", i), "%q: want an audience (an application id or URI) without spaces", a)
		}
	}
}
