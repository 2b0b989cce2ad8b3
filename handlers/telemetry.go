package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokengate/tokengate/internal/telemetry"
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

// decisionOf names an /auth answer by its status, as docs/ARCHITECTURE.md's table does.
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
