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
func (s *server) observeAuth(c *gin.Context, span trace.Span, profile, proxy string, start time.Time) {
	decision := decisionOf(c.Writer.Status())
	s.Metrics.AuthRequest(c.Request.Context(), profile, decision, time.Since(start))
	if span == nil {
		return
	}
	if proxy == "" {
		s.endServerSpan(span, c, c.FullPath(), attrProfile.String(profile), attrDecision.String(decision.String()))
		return
	}
	s.endServerSpan(span, c, c.FullPath(), attrProfile.String(profile), attrDecision.String(decision.String()), attrProxy.String(proxy))
}

// Each child span below starts without options and gets its attributes in one call at its
// end: every option and every SetAttributes call is an allocation on the hot path.

// loadSession opens the request's session, in a span when tracing is on. A missing or
// invalid session is an answer (401), not an error of the span.
func (s *server) loadSession(c *gin.Context) (*session.Session, error) {
	if s.tracer == nil {
		return s.Sessions.Load(c.Request.Context(), c.Request)
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

// decide applies the profile's policy, in a span when tracing is on; Graph calls for groups
// overage become its children. The server span names the profile already.
func (s *server) decide(c *gin.Context, profile *dashboards.Profile, sess *session.Session, user *dashboards.User) bool {
	if s.tracer == nil {
		return s.admitted(c.Request.Context(), c, profile, sess, user)
	}
	ctx, span := s.tracer.Start(c.Request.Context(), spanPolicy)
	defer span.End()
	ok := s.admitted(ctx, c, profile, sess, user)
	span.SetAttributes(attrAllowed.Bool(ok))
	return ok
}

// token asks the token cache for the profile's token, counting the outcome and, when
// tracing is on, in a span whose children are the refresh and its call to the provider.
func (s *server) token(c *gin.Context, sess *session.Session, scope string) (session.Result, error) {
	ctx := c.Request.Context()
	var span trace.Span
	if s.tracer != nil {
		ctx, span = s.tracer.Start(ctx, spanTokenCache)
		defer span.End()
	}
	res, err := s.Tokens.Get(ctx, sess, scope)
	outcome := "miss"
	if err == nil {
		outcome = res.Outcome.String()
	}
	s.Metrics.CacheLookup(ctx, outcome)
	if span != nil {
		span.SetAttributes(attrScope.String(scope), attrCacheOutcome.String(outcome))
		if err != nil {
			// idp errors carry the OAuth error code and Entra's first description line,
			// never a token (internal/idp/errors.go).
			span.RecordError(err)
			span.SetStatus(codes.Error, "no token for the dashboard")
		}
	}
	return res, err
}
