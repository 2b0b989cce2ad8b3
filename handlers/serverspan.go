package handlers

import (
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// traceServer starts the server span of each request, continuing the ingress's W3C trace
// context. It replaces otelgin on purpose: otelgin computes a dozen semantic-convention
// attributes and its HTTP metrics on every request, which doubled the cost of tracing /auth
// (the tracing budget allows it to cut cache-hit throughput by 25% at most). The span keeps what
// an on-call engineer needs: name "METHOD route", kind server, method, route, status, and
// the parent from traceparent. Probes and scrapes are not traced; /auth opens its own server
// span (auth.go), so that its decision joins the other attributes in one write.
func (s *server) traceServer() gin.HandlerFunc {
	return func(c *gin.Context) {
		route := c.FullPath()
		switch route {
		case "/healthz", "/readyz", "/metrics", authRoute, oauth2AuthRoute:
			c.Next()
			return
		case "":
			route = "unmatched"
		}
		span := s.startServerSpan(c, route)
		defer span.End()
		c.Next()
		s.endServerSpan(span, c, route, c.Writer.Status())
	}
}

// serverSpanKind is built once: an option made per request costs an allocation per request.
var serverSpanKind = trace.WithSpanKind(trace.SpanKindServer)

// startServerSpan opens the server span of a request under the trace of its traceparent and
// makes the request's context carry it. Attributes come at the end, in one call: the SDK
// grows the span's attribute list on every call, and /auth is the hot path.
func (s *server) startServerSpan(c *gin.Context, route string) trace.Span {
	r := c.Request
	ctx := s.Tracing.Propagator.Extract(r.Context(), traceHeaders(r.Header))
	ctx, span := s.tracer.Start(ctx, s.spanNames.name(r.Method, route), serverSpanKind)
	c.Request = r.WithContext(ctx)
	return span
}

// endServerSpan writes the attributes every server span has, and extra ones, in one call.
// A 5xx answer is an error of the span; a 4xx is the client's (OpenTelemetry's HTTP
// semantic conventions for server spans).
func (s *server) endServerSpan(span trace.Span, c *gin.Context, route string, status int, extra ...attribute.KeyValue) {
	buf := attrBuffers.Get().(*attrBuffer)
	attrs := append(buf[:0],
		semconv.HTTPRequestMethodKey.String(c.Request.Method),
		semconv.HTTPRouteKey.String(route),
		semconv.HTTPResponseStatusCodeKey.Int(status))
	span.SetAttributes(append(attrs, extra...)...)
	clear(buf[:]) // the span copied them; keep no strings alive in the pool
	attrBuffers.Put(buf)
	if status >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// endPanickedSpan ends the server span of a handler that panicked: the answer will be the
// recovery middleware's 500.
func (s *server) endPanickedSpan(span trace.Span, c *gin.Context) {
	s.endServerSpan(span, c, c.FullPath(), http.StatusInternalServerError)
	span.End()
}

// attrBuffer holds a server span's attributes on their way to SetAttributes, which copies
// them: the slice passed to an interface method escapes, and a fresh one per request is
// half a kilobyte of garbage on the hot path.
type attrBuffer [8]attribute.KeyValue

var attrBuffers = sync.Pool{New: func() any { return new(attrBuffer) }}

// spanNames are the names "METHOD route" of the server spans of the routes tokengate
// serves, made once rather than concatenated on every request.
type spanNames map[[2]string]string

func newSpanNames(routes gin.RoutesInfo) spanNames {
	names := spanNames{}
	for _, r := range routes {
		names[[2]string{r.Method, r.Path}] = r.Method + " " + r.Path
	}
	return names
}

func (n spanNames) name(method, route string) string {
	if name, ok := n[[2]string{method, route}]; ok {
		return name
	}
	return method + " " + route // unmatched routes and methods
}

// traceHeaders carries a request's W3C trace headers to the propagator. Unlike
// propagation.HeaderCarrier it does not canonicalize "traceparent", "tracestate" and
// "baggage" on every lookup: each canonicalization of a lower-case name is an allocation,
// three per request.
type traceHeaders http.Header

var _ propagation.TextMapCarrier = traceHeaders(nil)

func (h traceHeaders) Get(key string) string {
	if v := h[canonicalTraceHeader(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values lets the baggage propagator read every baggage header of a request.
func (h traceHeaders) Values(key string) []string { return h[canonicalTraceHeader(key)] }

func (h traceHeaders) Set(key, value string) { http.Header(h).Set(key, value) }

func (h traceHeaders) Keys() []string { return propagation.HeaderCarrier(h).Keys() }

func canonicalTraceHeader(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	case "baggage":
		return "Baggage"
	}
	return http.CanonicalHeaderKey(key)
}
