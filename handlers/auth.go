package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/internal/forward"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
	"github.com/tokengate/tokengate/internal/telemetry"
	"github.com/tokengate/tokengate/session"
)

// auth answers the ingress's subrequest for one request to a dashboard and records the
// decision in the metrics and on the request's span. It is never logged when it succeeds:
// it is the hot path.
func (s *server) auth(c *gin.Context) {
	start := time.Now()
	var span trace.Span // the server span; nil when tracing is off
	if s.tracer != nil {
		span = s.startServerSpan(c, c.FullPath())
		defer func() {
			if p := recover(); p != nil {
				// The recovery middleware answers 500 after this span ended: say so here.
				s.endPanickedSpan(span, c)
				panic(p)
			}
			span.End()
		}()
	}
	notes := authNotes{profile: telemetry.NoProfile}
	s.forwardAuth(c, &notes)
	s.observeAuth(c, span, notes, start)
}

// authNotes are what one /auth answer tells the metrics and its server span.
type authNotes struct {
	profile string // the dashboard profile; telemetry.NoProfile when none matched
	proxy   string // the proxy family, once the forward headers are read
	cache   string // the token cache outcome; empty when no token was looked up
}

// forwardAuth answers (ARCHITECTURE.md, "One /auth request") and notes the dashboard
// profile, the proxy family and the token cache outcome. Every error path answers 4xx/5xx,
// never 2xx.
func (s *server) forwardAuth(c *gin.Context, notes *authNotes) {
	fwd, err := forward.Parse(s.Config.ForwardAuth.Mode, c.Request)
	if err != nil {
		s.fail(c, errorf(http.StatusBadRequest, err.Error(), nil))
		return
	}
	notes.proxy = fwd.Proxy
	if fwd.Navigation {
		c.Set(navigationKey, true)
	}
	if fwd.Proxy == forward.ProxyForwardAuth {
		c.Set(relaysAllCookiesKey, true)
	}
	profile, ok := s.Dashboards.Match(fwd.Host)
	if !ok {
		s.fail(c, errorf(http.StatusForbidden, "no dashboard is configured for host "+fwd.Host, nil))
		return
	}
	notes.profile = profile.Name
	sess, err := s.loadSession(c)
	if err != nil {
		if len(profile.BearerPassThrough) > 0 && s.passThrough(c, profile) {
			return
		}
		if he, down := storeUnavailable(err); down {
			s.fail(c, he) // the session may be fine: 503, never a sign-in loop
			return
		}
		s.unauthenticated(c, fwd, err)
		return
	}
	user := userOf(sess)
	if !s.decide(c, profile, sess, &user) {
		return
	}
	var token string
	var res session.Result
	if profile.Token != dashboards.NoToken {
		res, err = s.token(c, notes, sess, tokenScope(profile))
		if err != nil {
			s.tokenFailed(c, fwd, tokenScope(profile), err)
			return
		}
		s.keepRotated(c, sess, res)
		token = res.Token.AccessToken.Reveal()
	}
	resealed := false
	if rs, ok := s.Sessions.(cookieResealer); ok {
		resealed = rs.ResealCookie(c.Writer, c.Request, sess)
	}
	h := c.Writer.Header()
	// One backing array for every header value instead of a slice per header.
	values := make([]string, 0, len(profile.Headers))
	profile.WriteHeaders(func(name, value string) {
		values = append(values, value)
		h[name] = values[len(values)-1 : len(values) : len(values)]
	}, &user, token)
	if ttl := s.Config.ForwardAuth.CacheTTL; ttl > 0 {
		// No Cache-Control beside a positive hint: NGINX before 1.23 reads the headers in
		// order, and a no-store ahead of X-Accel-Expires ("C" < "X") stops the caching.
		secs := s.cacheSeconds(profile, res, ttl)
		if resealed {
			secs = 0 // an answer that sets a cookie is this browser's alone
		}
		h["X-Accel-Expires"] = []string{strconv.Itoa(secs)}
		if secs == 0 {
			h["Cache-Control"] = noStore
		}
	} else {
		h["Cache-Control"] = noStore
	}
	c.Status(http.StatusOK)
}

// noStore is shared by every /auth answer: header values are only read after the handler.
var noStore = []string{"no-store"}

// admitted applies the profile's first decision (Admit), before any token is fetched. A
// refusal is a 403 that keeps the session: one dashboard saying no never signs the user out
// of the others.
func (s *server) admitted(ctx context.Context, c *gin.Context, profile *dashboards.Profile, sess *session.Session, user *dashboards.User, decision dashboards.Decision) bool {
	if decision.NeedGroups && s.Groups != nil {
		groups, rotated, err := s.Groups.Groups(ctx, sess)
		switch {
		case errors.Is(err, idp.ErrGraphDenied):
			s.fail(c, errorf(http.StatusForbidden, profile.Name+" needs your group memberships, and Microsoft Graph refused to list them: "+
				"ask an administrator to consent to Microsoft Graph User.Read for tokengate", err))
			return false
		case errors.Is(err, idp.ErrInvalidGrant):
			s.Sessions.Clear(c.Writer, c.Request)
			s.fail(c, errorf(http.StatusUnauthorized, "your sign-in has ended; sign in again", err))
			return false
		case err != nil:
			s.fail(c, errorf(http.StatusServiceUnavailable, "could not read your group memberships from Microsoft Graph; retry shortly", err))
			return false
		}
		if !rotated.IsEmpty() && rotated != sess.RefreshToken {
			s.saveRefreshToken(c, sess, rotated)
		}
		decision = profile.AdmitGroups(user, groups)
	}
	if !decision.Allowed {
		s.Logger.InfoContext(ctx, "access denied", "dashboard", profile.Name, "user", user.Login(), "subject", sess.Subject)
		s.fail(c, errorf(http.StatusForbidden, decision.Reason, nil))
		return false
	}
	return true
}

// tokenScope is the cache scope of the token a profile sends.
func tokenScope(p *dashboards.Profile) string {
	if p.Token == dashboards.IDToken {
		return idp.IDTokenScope
	}
	return p.Scope
}

// keepRotated writes a rotated refresh token back into the cookie.
func (s *server) keepRotated(c *gin.Context, sess *session.Session, res session.Result) {
	if newRT := res.Token.RefreshToken; !newRT.IsEmpty() && newRT != sess.RefreshToken {
		s.saveRefreshToken(c, sess, newRT)
	}
}

// relaysAllCookiesKey marks an /auth request from Traefik ForwardAuth or Caddy forward_auth.
// Traefik hands the browser every Set-Cookie of a 2xx answer whose name is listed in
// addAuthCookiesToResponse, chunks included, and Caddy hands it none, so a chunked session
// arrives whole or not at all. ingress-nginx (auth-always-set-cookie) relays only the first
// Set-Cookie: a chunked session would arrive half new, half old, and no longer open.
const relaysAllCookiesKey = "tokengate.relaysAllCookies"

// cookieResealer is a store whose cookie outlives a change of the cookie key unless it is
// sealed again (the Redis store: its cookie changes only at sign-in). ResealCookie writes the
// cookie sealed with the primary key when an older key opened it, and reports whether it did.
type cookieResealer interface {
	ResealCookie(w http.ResponseWriter, r *http.Request, sess *session.Session) bool
}

var _ cookieResealer = (*session.RedisStore)(nil)

// rotationSaver is a store that may decline to write a session from an /auth answer (the
// cookie store, when the session needs more than one cookie).
type rotationSaver interface {
	SaveRotated(w http.ResponseWriter, r *http.Request, s *session.Session) (bool, error)
}

var _ rotationSaver = (*session.CookieStore)(nil)

// saveRefreshToken writes the session with its rotated refresh token from an /auth answer.
// Behind ingress-nginx a session that needs several cookies is not written (SaveRotated):
// Entra keeps the old refresh token valid and the token cache uses the newest one.
func (s *server) saveRefreshToken(c *gin.Context, sess *session.Session, rt secret.String) {
	updated := *sess
	updated.RefreshToken = rt
	var err error
	if rs, ok := s.Sessions.(rotationSaver); ok && !c.GetBool(relaysAllCookiesKey) {
		_, err = rs.SaveRotated(c.Writer, c.Request, &updated)
	} else {
		err = s.Sessions.Save(c.Writer, c.Request, &updated)
	}
	if err != nil {
		s.Logger.WarnContext(c.Request.Context(), "could not write the rotated refresh token", "error", err)
	}
}

// cacheSeconds is how long an NGINX auth cache may keep this answer: at most ttl, and never
// past the point where the token cache would stop serving the token itself. Tokens served
// while the provider is down, and answers that rotate the cookie, are never cached.
func (s *server) cacheSeconds(p *dashboards.Profile, res session.Result, ttl time.Duration) int {
	if p.Token == dashboards.NoToken {
		return int(ttl / time.Second)
	}
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
func (s *server) unauthenticated(c *gin.Context, fwd forward.Request, cause error) {
	if fwd.Proxy != forward.ProxyIngressNginx && fwd.Navigation {
		c.Header("Cache-Control", "no-store")
		c.Redirect(http.StatusFound, s.signInURL+"?rd="+url.QueryEscape(fwd.URL()))
		c.Abort()
		return
	}
	c.Header("WWW-Authenticate", `Bearer realm="tokengate"`)
	s.fail(c, errorf(http.StatusUnauthorized, "not signed in", cause))
}

// tokenFailed maps a failure to get a token for scope to the proxy's answer.
func (s *server) tokenFailed(c *gin.Context, fwd forward.Request, scope string, err error) {
	switch {
	case errors.Is(err, idp.ErrInvalidGrant):
		// The refresh token is dead (revoked, expired, sign-in frequency): the session is over.
		// fail logs a 401 at debug only, so the refresh failure gets its own line.
		s.Logger.InfoContext(c.Request.Context(), "token refresh refused; session ended", "scope", scope, "error", err)
		s.Sessions.Clear(c.Writer, c.Request)
		s.unauthenticated(c, fwd, err)
	case errors.Is(err, idp.ErrConsentRequired):
		s.Logger.WarnContext(c.Request.Context(), "token refresh refused: consent required", "scope", scope, "error", err)
		s.fail(c, errorf(http.StatusForbidden, "the identity provider requires consent for "+scope+"; ask an administrator to grant admin consent", err))
	case errors.Is(err, session.ErrStoreUnavailable):
		he, _ := storeUnavailable(err)
		s.fail(c, he)
	case errors.Is(err, idp.ErrInvalidClient):
		s.fail(c, errorf(http.StatusServiceUnavailable, "the identity provider rejected tokengate's client credentials; the operator must fix them", err))
	case errors.Is(err, idp.ErrThrottled):
		s.fail(c, errorf(http.StatusServiceUnavailable, "token requests to the identity provider are being limited and no valid token is cached; retry after the Retry-After delay", err))
	default:
		s.fail(c, errorf(http.StatusServiceUnavailable, "identity provider unavailable and no valid token cached; retry shortly", err))
	}
}

// userOf is the view of the session the dashboards package decides on.
func userOf(sess *session.Session) dashboards.User {
	return dashboards.User{
		OID: sess.Subject, Name: sess.Name, PreferredUsername: sess.PreferredUsername,
		Email: sess.Email, Groups: sess.Groups, GroupsOverage: sess.GroupsOverage,
	}
}

// bearerOf returns the token of an "Authorization: Bearer …" header.
func bearerOf(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(v[7:])
	return tok, tok != ""
}
