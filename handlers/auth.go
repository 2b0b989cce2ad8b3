package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/internal/forward"
	"github.com/tokengate/tokengate/internal/idp"
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

// forwardAuth answers (docs/ARCHITECTURE.md, "One /auth request"), one step after the other, and
// notes the dashboard profile, the proxy family and the token cache outcome. Every error path
// answers 4xx/5xx, never 2xx.
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
	whole := relaysAllCookies(fwd)
	if !s.decide(c, profile, sess, &user, whole) {
		return
	}
	var res session.Result
	if profile.Token != dashboards.NoToken {
		res, err = s.token(c, notes, sess, tokenScope(profile))
		if err != nil {
			s.tokenFailed(c, fwd, tokenScope(profile), err)
			return
		}
		s.saveRotated(c, sess, res.Token.RefreshToken, whole)
	}
	resealed := s.Sessions.ResealCookie(c.Writer, c.Request, sess)
	if resealed && s.resealByRedirect(c, fwd, sess) { // reseal.go
		return
	}
	s.allow(c, profile, &user, res, resealed)
}

// relaysAllCookies says whether the proxy hands the browser every Set-Cookie of a 2xx /auth
// answer. Traefik ForwardAuth relays the names listed in addAuthCookiesToResponse, chunks
// included, and Caddy forward_auth relays none, so a chunked session arrives whole or not at
// all. ingress-nginx (auth-always-set-cookie) relays only the first Set-Cookie: a chunked
// session would arrive half new, half old, and no longer open.
func relaysAllCookies(fwd forward.Request) bool {
	return fwd.Proxy == forward.ProxyForwardAuth
}

// The steps of /auth get child spans when there is something to see in them: a step that
// leaves memory (a cookie to decrypt, Redis, Microsoft Graph, a token refresh), or that
// refuses or fails. The steady state, a known session allowed with a cached token, takes a
// microsecond or so and would spend several times that on three child spans (BENCHMARKS.md,
// "Tracing"); its server span carries the decision and the cache outcome instead.
// tracing.stepSpans: always gives every /auth all three.
//
// A child span starts without options and gets its attributes in one call at its end:
// every option and every SetAttributes call is an allocation on the hot path.

// loadSession opens the request's session (step 3). A missing or invalid session is an
// answer (401), not an error of its span.
func (s *server) loadSession(c *gin.Context) (*session.Session, error) {
	if s.tracer == nil {
		return s.Sessions.Load(c.Request.Context(), c.Request)
	}
	if s.peekSessions != nil {
		if sess, ok := s.peekSessions.Peek(c.Request); ok {
			return sess, nil
		}
	}
	ctx, span := s.tracer.Start(c.Request.Context(), spanSessionLoad)
	defer span.End()
	sess, err := s.Sessions.Load(ctx, c.Request)
	span.SetAttributes(attrSession.Bool(err == nil))
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		span.RecordError(err)
		span.SetStatus(codes.Error, "session store failed")
	}
	return sess, err
}

// decide applies the profile's policy (step 4) and reports whether the user may go on; else
// it has answered. A refusal is a 403 that keeps the session: one dashboard saying no never
// signs the user out of the others. Its span holds the Graph calls for groups overage; the
// server span names the profile already.
func (s *server) decide(c *gin.Context, profile *dashboards.Profile, sess *session.Session, user *dashboards.User, whole bool) bool {
	first := profile.Admit(user) // nanoseconds: not worth a span when it simply allows
	if s.tracer == nil || (first.Allowed && !s.allStepSpans) {
		return first.Allowed || s.admitted(c, profile, sess, user, first, whole)
	}
	ctx, span := s.tracer.Start(c.Request.Context(), spanPolicy)
	defer span.End()
	// The request carries the span too: a session cleared or a refresh token saved after a
	// Graph call talks to Redis under it.
	saved := c.Request
	c.Request = c.Request.WithContext(ctx)
	ok := s.admitted(c, profile, sess, user, first, whole)
	c.Request = saved
	span.SetAttributes(attrAllowed.Bool(ok))
	return ok
}

// admitted finishes decide past the profile's first decision: the Graph lookup of an overage
// user (admission), the saving of a refresh token it rotated, and the refusal's answer.
func (s *server) admitted(c *gin.Context, profile *dashboards.Profile, sess *session.Session, user *dashboards.User, first dashboards.Decision, whole bool) bool {
	ctx := c.Request.Context()
	decision, rotated, err := s.admission(ctx, profile, sess, user, first)
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
	s.saveRotated(c, sess, rotated, whole)
	if !decision.Allowed {
		s.Logger.InfoContext(ctx, "access denied", "dashboard", profile.Name, "user", user.Login(), "subject", sess.Subject)
		s.fail(c, errorf(http.StatusForbidden, decision.Reason, nil))
		return false
	}
	return true
}

// token asks the token cache for the profile's token (step 5) and counts the outcome. Its
// span holds the refresh and the call to the provider.
func (s *server) token(c *gin.Context, notes *authNotes, sess *session.Session, scope string) (session.Result, error) {
	ctx := c.Request.Context()
	if s.peekTokens != nil {
		if res, ok := s.peekTokens.Peek(sess, scope); ok {
			notes.cache = res.Outcome.String()
			s.Metrics.CacheLookup(ctx, notes.cache)
			return res, nil
		}
	}
	var span trace.Span
	if s.tracer != nil {
		ctx, span = s.tracer.Start(ctx, spanTokenCache)
		defer span.End()
	}
	res, err := s.Tokens.Get(ctx, sess, scope)
	notes.cache = "miss"
	if err == nil {
		notes.cache = res.Outcome.String()
	}
	s.Metrics.CacheLookup(ctx, notes.cache)
	if span != nil {
		span.SetAttributes(attrScope.String(scope), attrCacheOutcome.String(notes.cache))
		if err != nil {
			// idp errors carry the OAuth error code and Entra's first description line,
			// never a token (internal/idp/errors.go).
			span.RecordError(err)
			span.SetStatus(codes.Error, "no token for the dashboard")
		}
	}
	return res, err
}

// allow answers 200 with the profile's headers (step 6), and tells an NGINX auth cache how
// long it may keep the answer: never when the answer sets a cookie, which is this browser's
// alone.
func (s *server) allow(c *gin.Context, profile *dashboards.Profile, user *dashboards.User, res session.Result, setsCookie bool) {
	h := c.Writer.Header()
	// One backing array for every header value instead of a slice per header.
	values := make([]string, 0, len(profile.Headers))
	profile.WriteHeaders(func(name, value string) {
		values = append(values, value)
		h[name] = values[len(values)-1 : len(values) : len(values)]
	}, user, res.Token.AccessToken.Reveal())
	if ttl := s.Config.ForwardAuth.CacheTTL; ttl > 0 {
		// No Cache-Control beside a positive hint: NGINX before 1.23 reads the headers in
		// order, and a no-store ahead of X-Accel-Expires ("C" < "X") stops the caching.
		secs := s.cacheSeconds(profile, res, ttl)
		if setsCookie {
			secs = 0
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

// unauthenticated answers a request without a usable session, per docs/ARCHITECTURE.md's table:
// ingress-nginx turns 401 into its auth-signin redirect itself; Traefik and Caddy pass our
// answer to the browser, so a page navigation gets the redirect from us. XHR gets 401 always,
// since a redirect to a login page is useless to a script.
func (s *server) unauthenticated(c *gin.Context, fwd forward.Request, cause error) {
	if fwd.Proxy != forward.ProxyIngressNginx && fwd.Navigation {
		redirect(c, s.signInURL+"?rd="+url.QueryEscape(fwd.URL()))
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
