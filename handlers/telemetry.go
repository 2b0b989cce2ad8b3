package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/internal/telemetry"
	"github.com/tokengate/tokengate/session"
)

// tracerName is the instrumentation scope of the spans handlers make.
const tracerName = "github.com/tokengate/tokengate/handlers"

// Span attributes of /auth. None of them ever holds a token, cookie or code: they name the
// dashboard profile, the proxy family, the decision and how the token cache answered.
const (
	attrProfile      = attribute.Key("tokengate.profile")
	attrProxy        = attribute.Key("tokengate.proxy")
	attrDecision     = attribute.Key("tokengate.decision")
	attrCacheOutcome = attribute.Key("tokengate.cache.outcome")
	attrScope        = attribute.Key("tokengate.token.scope")
	attrAllowed      = attribute.Key("tokengate.policy.allowed")
	attrSession      = attribute.Key("tokengate.session.found")
)

// Span names of the steps of /auth, children of the server span (serverspan.go).
const (
	spanSessionLoad = "session.load"
	spanPolicy      = "policy.decide"
	spanTokenCache  = "token_cache.get"
)

// useTracing installs the server-span middleware when tracing is on, and nothing otherwise:
// with tracing off a request pays for no middleware, no context and no span.
func (s *server) useTracing(r *gin.Engine) {
	if !s.Tracing.Enabled() {
		return
	}
	s.tracer = s.Tracing.Provider.Tracer(tracerName)
	r.Use(s.traceServer())
}

// decisionOf names an /auth answer by its status, as ARCHITECTURE.md's table does.
func decisionOf(status int) telemetry.Decision {
	switch {
	case status >= 200 && status < 300:
		return telemetry.Allow
	case status == http.StatusUnauthorized, status == http.StatusFound:
		return telemetry.Unauthenticated
	case status == http.StatusForbidden:
		return telemetry.Deny
	}
	return telemetry.Error
}

// observeAuth records the answer of one /auth request on the metrics and, when tracing is
// on, on its server span.
func (s *server) observeAuth(c *gin.Context, span trace.Span, notes authNotes, start time.Time) {
	status := c.Writer.Status()
	decision := decisionOf(status)
	s.Metrics.AuthRequest(c.Request.Context(), notes.profile, decision, time.Since(start))
	if span == nil {
		return
	}
	var buf [4]attribute.KeyValue
	attrs := append(buf[:0], attrProfile.String(notes.profile), attrDecision.String(decision.String()))
	if notes.proxy != "" {
		attrs = append(attrs, attrProxy.String(notes.proxy))
	}
	if notes.cache != "" {
		attrs = append(attrs, attrCacheOutcome.String(notes.cache))
	}
	s.endServerSpan(span, c, c.FullPath(), status, attrs...)
}

// The steps of /auth get child spans when there is something to see in them: a step that
// leaves memory (a cookie to decrypt, Redis, Microsoft Graph, a token refresh), or that
// refuses or fails. The steady state, a known session allowed with a cached token, takes a
// microsecond or so and would spend several times that on three child spans (issue 6's cost
// budget); its server span carries the decision and the cache outcome instead.
// tracing.stepSpans: always gives every /auth all three.
//
// A child span starts without options and gets its attributes in one call at its end:
// every option and every SetAttributes call is an allocation on the hot path.

// loadSession opens the request's session. A missing or invalid session is an answer
// (401), not an error of its span.
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

// decide applies the profile's policy. Its span holds the Graph calls for groups overage;
// the server span names the profile already.
func (s *server) decide(c *gin.Context, profile *dashboards.Profile, sess *session.Session, user *dashboards.User) bool {
	if s.tracer == nil {
		return s.admitted(c.Request.Context(), c, profile, sess, user, profile.Admit(user))
	}
	decision := profile.Admit(user) // nanoseconds: not worth a span when it simply allows
	if decision.Allowed && !s.allStepSpans {
		return true
	}
	ctx, span := s.tracer.Start(c.Request.Context(), spanPolicy)
	defer span.End()
	// The request carries the span too: a session cleared or a refresh token saved after a
	// Graph call talks to Redis under it.
	saved := c.Request
	c.Request = c.Request.WithContext(ctx)
	ok := s.admitted(ctx, c, profile, sess, user, decision)
	c.Request = saved
	span.SetAttributes(attrAllowed.Bool(ok))
	return ok
}

// token asks the token cache for the profile's token and counts the outcome. Its span holds
// the refresh and the call to the provider.
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
