package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/session"
)

// auth answers the ingress's subrequest for one request to a dashboard (ARCHITECTURE.md,
// "One /auth request"). Every error path answers 4xx/5xx, never 2xx.
func (s *server) auth(c *gin.Context) {
	fwd, err := ParseForward(s.Config.ForwardAuth.Mode, c.Request.Header)
	if err != nil {
		s.fail(c, errorf(http.StatusBadRequest, err.Error(), nil))
		return
	}
	sess, err := s.Sessions.Load(c.Request)
	if err != nil {
		s.unauthenticated(c, fwd, err)
		return
	}
	scope := s.Config.Provider.ResourceScope
	res, err := s.Tokens.Get(c.Request.Context(), sess, scope)
	if err != nil {
		s.tokenFailed(c, fwd, err)
		return
	}
	if newRT := res.Token.RefreshToken; !newRT.IsEmpty() && newRT != sess.RefreshToken {
		// The provider rotated the refresh token: keep the new one in the cookie.
		// ingress-nginx relays only the first Set-Cookie of an auth answer, which is
		// why the store keeps a session in one cookie whenever it fits.
		updated := *sess
		updated.RefreshToken = newRT
		if err := s.Sessions.Save(c.Writer, c.Request, &updated); err != nil {
			s.Logger.WarnContext(c.Request.Context(), "could not write the rotated refresh token", "error", err)
		}
	}
	h := c.Writer.Header()
	h["Authorization"] = []string{"Bearer " + res.Token.AccessToken.Reveal()}
	setIfPresent(h, "X-Auth-Request-User", firstNonEmpty(sess.PreferredUsername, sess.Email, sess.Subject))
	setIfPresent(h, "X-Auth-Request-Email", sess.Email)
	setIfPresent(h, "X-Auth-Request-Preferred-Username", sess.PreferredUsername)
	if s.Config.Headers.PassGroups {
		setIfPresent(h, "X-Auth-Request-Groups", strings.Join(sess.Groups, ","))
	}
	if s.Config.Headers.PassAccessToken {
		h["X-Auth-Request-Access-Token"] = []string{res.Token.AccessToken.Reveal()}
	}
	h["Cache-Control"] = []string{"no-store"}
	if ttl := s.Config.ForwardAuth.CacheTTL; ttl > 0 {
		h["X-Accel-Expires"] = []string{strconv.Itoa(s.cacheSeconds(res, ttl))}
	}
	c.Status(http.StatusOK)
}

// cacheSeconds is how long an NGINX auth cache may keep this answer: at most ttl, and never
// past the point where the cache would stop serving the token itself. Tokens served while
// the provider is down are never cached: the next request should try again.
func (s *server) cacheSeconds(res session.Result, ttl time.Duration) int {
	if res.Outcome == session.Stale || !res.Token.RefreshToken.IsEmpty() {
		return 0
	}
	left := res.Token.Expiry.Sub(s.Now()) - s.Config.Token.SafetyMargin
	return int(max(0, min(ttl, left)) / time.Second)
}

// unauthenticated answers a request without a usable session, per ARCHITECTURE.md's table:
// ingress-nginx turns 401 into its auth-signin redirect itself; Traefik and Caddy pass our
// answer to the browser, so a page navigation gets the redirect from us. XHR gets 401 always,
// since a redirect to a login page is useless to a script.
func (s *server) unauthenticated(c *gin.Context, fwd ForwardRequest, cause error) {
	if fwd.Proxy != "ingress-nginx" && fwd.Navigation {
		c.Header("Cache-Control", "no-store")
		c.Redirect(http.StatusFound, s.signInURL+"?rd="+url.QueryEscape(fwd.URL()))
		c.Abort()
		return
	}
	c.Header("WWW-Authenticate", `Bearer realm="tokengate"`)
	s.fail(c, errorf(http.StatusUnauthorized, "not signed in", cause))
}

// tokenFailed maps a failure to get an access token to the proxy's answer.
func (s *server) tokenFailed(c *gin.Context, fwd ForwardRequest, err error) {
	switch {
	case errors.Is(err, idp.ErrInvalidGrant):
		// The refresh token is dead (revoked, expired, sign-in frequency): the session is over.
		s.Sessions.Clear(c.Writer, c.Request)
		s.unauthenticated(c, fwd, err)
	case errors.Is(err, idp.ErrConsentRequired):
		s.fail(c, errorf(http.StatusForbidden, "the identity provider requires consent for "+s.Config.Provider.ResourceScope+"; ask an administrator to grant admin consent", err))
	case errors.Is(err, idp.ErrInvalidClient):
		s.fail(c, errorf(http.StatusServiceUnavailable, "the identity provider rejected tokengate's client credentials; the operator must fix them", err))
	default:
		s.fail(c, errorf(http.StatusServiceUnavailable, "identity provider unavailable and no valid token cached; retry shortly", err))
	}
}

func setIfPresent(h http.Header, key, value string) {
	if value != "" {
		h[key] = []string{value}
	}
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
