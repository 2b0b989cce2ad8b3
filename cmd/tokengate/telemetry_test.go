package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/telemetry"
)

// newTracedHarness is the harness with every span recorded in memory, synchronously, through
// the real handler stack.
func newTracedHarness(t *testing.T, tweak func(*config.Config), outbound http.RoundTripper) (*harness, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return newHarnessWith(t, tweak, harnessOptions{tracing: telemetry.NewTracingWith(tp), outbound: outbound}), exp
}

// twoDashboards admits alice on headlamp (the default profile) and refuses her on devs.
func twoDashboards(c *config.Config) {
	c.Dashboards = []config.Dashboard{
		{Name: "headlamp", Preset: "headlamp", Hosts: []string{"headlamp.example.test"}, Default: true},
		{Name: "devs", Preset: "headlamp", Hosts: []string{"dev.example.test"}, AllowedGroups: []string{devidp.GroupDevelopers}},
	}
}

// spanNamed returns the last span called name.
func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	for i := len(spans) - 1; i >= 0; i-- {
		if spans[i].Name == name {
			return spans[i]
		}
	}
	t.Fatalf("no span %q among %v", name, spanNames(spans))
	return tracetest.SpanStub{}
}

// childOf returns the span of kind under parent, or fails.
func childOf(t *testing.T, spans tracetest.SpanStubs, parent tracetest.SpanStub, kind trace.SpanKind) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Parent.SpanID() == parent.SpanContext.SpanID() && s.SpanKind == kind {
			return s
		}
	}
	t.Fatalf("no %v span under %s", kind, parent.Name)
	return tracetest.SpanStub{}
}

func attrOf(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}

const (
	ingressTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ingressSpanID  = "00f067aa0ba902b7"
)

// A trace of one /auth cache hit shows, under the ingress's trace id, the decision, the
// profile, the proxy and the cache outcome. With tracing.stepSpans auto the in-memory steps
// make no child spans; with always, each step is a child span with its own outcome.
func TestAuthTraceContinuesTheIngressTrace(t *testing.T) {
	serverAttrs := map[string]string{
		"tokengate.decision": "allow", "tokengate.profile": "headlamp", "tokengate.proxy": "forward-auth",
		"tokengate.cache.outcome": "hit", "http.response.status_code": "200", "http.route": "/auth"}
	stepAttrs := map[string]map[string]string{
		"session.load":    {"tokengate.session.found": "true"},
		"policy.decide":   {"tokengate.policy.allowed": "true"},
		"token_cache.get": {"tokengate.cache.outcome": "hit", "tokengate.token.scope": config.DefaultResourceScope},
	}
	tests := []struct {
		stepSpans string
		wantSteps bool
	}{
		{stepSpans: config.StepSpansAuto},
		{stepSpans: config.StepSpansAlways, wantSteps: true},
	}
	for _, tt := range tests {
		t.Run(tt.stepSpans, func(t *testing.T) {
			h, exp := newTracedHarness(t, func(c *config.Config) {
				twoDashboards(c)
				c.Tracing.StepSpans = tt.stepSpans
			}, nil)
			h.signIn("alice")
			exp.Reset()
			traceparent := http.Header{"Traceparent": {"00-" + ingressTraceID + "-" + ingressSpanID + "-01"}}
			if page := h.authRequest(traceparent); page.Status != http.StatusOK {
				t.Fatalf("/auth = %d; want 200", page.Status)
			}
			spans := exp.GetSpans()
			server := spanNamed(t, spans, "GET /auth")
			if got := server.SpanContext.TraceID().String(); got != ingressTraceID {
				t.Errorf("server span trace id = %s; want the ingress's %s", got, ingressTraceID)
			}
			if got := server.Parent.SpanID().String(); got != ingressSpanID || !server.Parent.IsRemote() {
				t.Errorf("server span parent = %s (remote %v); want the ingress's span %s", got, server.Parent.IsRemote(), ingressSpanID)
			}
			checkAttrs(t, server, serverAttrs)
			if !tt.wantSteps {
				if len(spans) != 1 {
					t.Errorf("spans %v; want the server span alone on the in-memory path", spanNames(spans))
				}
				return
			}
			for name, attrs := range stepAttrs {
				s := spanNamed(t, spans, name)
				if s.SpanContext.TraceID() != server.SpanContext.TraceID() || s.Parent.SpanID() != server.SpanContext.SpanID() {
					t.Errorf("%s is not a child of the server span", name)
				}
				checkAttrs(t, s, attrs)
			}
		})
	}
}

// With tracing.stepSpans auto, a step that does work beyond memory still gets its span,
// with that work under it.
func TestStepSpansWhenTheyDoWork(t *testing.T) {
	overageDashboards := func(c *config.Config) {
		c.Dashboards = []config.Dashboard{
			{Name: "home", Preset: "grafana", Default: true},
			{Name: "ops", Preset: "headlamp", Hosts: []string{"ops.example.test"},
				AllowedGroups: []string{devidp.GroupDevelopers}, GraphGroupLookup: true},
		}
	}
	tests := []struct {
		name      string
		tweak     func(*config.Config)
		user      string
		before    func(h *harness)
		header    http.Header
		span      string
		attrs     map[string]string
		wantChild bool // the span has children: the work it did
	}{
		{name: "groups overage asks Graph", tweak: overageDashboards, user: "overage",
			header: http.Header{"X-Forwarded-Host": {"ops.example.test"}},
			span:   "policy.decide", attrs: map[string]string{"tokengate.policy.allowed": "true"}, wantChild: true},
		{name: "token in the refresh-ahead window", user: "alice",
			before: func(h *harness) { h.clock.Advance(testTokenLifetime - 3*time.Minute) },
			span:   "token_cache.get", attrs: map[string]string{"tokengate.cache.outcome": "refresh_ahead"}},
		{name: "token expired", user: "alice",
			before: func(h *harness) { h.clock.Advance(testTokenLifetime + time.Minute) },
			span:   "token_cache.get", attrs: map[string]string{"tokengate.cache.outcome": "refreshed"}, wantChild: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, exp := newTracedHarness(t, tt.tweak, nil)
			h.signIn(tt.user)
			if tt.before != nil {
				tt.before(h)
			}
			exp.Reset()
			if page := h.authRequest(tt.header); page.Status != http.StatusOK {
				t.Fatalf("/auth = %d; want 200", page.Status)
			}
			spans := exp.GetSpans()
			server := spanNamed(t, spans, "GET /auth")
			step := spanNamed(t, spans, tt.span)
			if step.Parent.SpanID() != server.SpanContext.SpanID() {
				t.Errorf("%s is not a child of the server span", tt.span)
			}
			checkAttrs(t, step, tt.attrs)
			if tt.wantChild {
				children := 0
				for _, s := range spans {
					if s.Parent.SpanID() == step.SpanContext.SpanID() {
						children++
					}
				}
				if children == 0 {
					t.Errorf("%s has no child spans among %v; want the work it did under it", tt.span, spanNames(spans))
				}
			}
		})
	}
}

// A request without a session: the session load has its span, saying so, and the answer is
// unauthenticated; no policy or token step runs.
func TestNoSessionTrace(t *testing.T) {
	h, exp := newTracedHarness(t, nil, nil)
	if page := h.authRequest(nil); page.Status != http.StatusUnauthorized && page.Status != http.StatusFound {
		t.Fatalf("/auth without a session = %d; want 401 or 302", page.Status)
	}
	spans := exp.GetSpans()
	checkAttrs(t, spanNamed(t, spans, "GET /auth"), map[string]string{"tokengate.decision": "unauthenticated"})
	checkAttrs(t, spanNamed(t, spans, "session.load"), map[string]string{"tokengate.session.found": "false"})
	for _, s := range spans {
		if s.Name == "policy.decide" || s.Name == "token_cache.get" {
			t.Errorf("a request without a session made a %s span", s.Name)
		}
	}
}

// checkAttrs fails for every attribute of want that s lacks or holds another value of.
func checkAttrs(t *testing.T, s tracetest.SpanStub, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := attrOf(s, k); got != v {
			t.Errorf("%s %s = %q; want %q", s.Name, k, got, v)
		}
	}
}

func spanNames(spans tracetest.SpanStubs) []string {
	names := make([]string, 0, len(spans))
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return names
}

// A refresh shows up under the token cache lookup, with the provider's HTTP call under it,
// and the traceparent reaches the provider.
func TestRefreshTrace(t *testing.T) {
	tap := &tokenTap{}
	h, exp := newTracedHarness(t, nil, tap)
	h.signIn("alice")
	h.clock.Advance(testTokenLifetime + time.Minute)
	exp.Reset()
	if page := h.authRequest(nil); page.Status != http.StatusOK {
		t.Fatalf("/auth after expiry = %d; want 200", page.Status)
	}
	spans := exp.GetSpans()
	server := spanNamed(t, spans, "GET /auth")
	lookup := spanNamed(t, spans, "token_cache.get")
	if got := attrOf(lookup, "tokengate.cache.outcome"); got != "refreshed" {
		t.Errorf("cache outcome = %q; want refreshed", got)
	}
	refresh := spanNamed(t, spans, "idp.refresh")
	if refresh.Parent.SpanID() != lookup.SpanContext.SpanID() {
		t.Errorf("idp.refresh is not a child of the token cache lookup")
	}
	call := childOf(t, spans, refresh, trace.SpanKindClient)
	if got := attrOf(call, "http.response.status_code"); got != "200" {
		t.Errorf("token call status attribute = %q; want 200", got)
	}
	if got := tap.lastTraceparent(); !strings.Contains(got, server.SpanContext.TraceID().String()) {
		t.Errorf("traceparent at the provider = %q; want trace %s", got, server.SpanContext.TraceID())
	}
}

// Sign-in: the callback's span holds the code redemption and its HTTP call; the "signed in"
// log line names the callback's trace and span.
func TestSignInTrace(t *testing.T) {
	h, exp := newTracedHarness(t, nil, nil)
	h.signIn("alice")
	spans := exp.GetSpans()
	spanNamed(t, spans, "GET /oauth2/start")
	callback := spanNamed(t, spans, "GET /oauth2/callback")
	if got := attrOf(callback, "http.response.status_code"); got != "302" {
		t.Errorf("callback status = %q; want 302", got)
	}
	exchange := spanNamed(t, spans, "idp.exchange")
	if exchange.Parent.SpanID() != callback.SpanContext.SpanID() {
		t.Errorf("idp.exchange is not a child of the callback span")
	}
	childOf(t, spans, exchange, trace.SpanKindClient)
	var decisions []string
	for _, s := range spans {
		if s.Name == "GET /auth" {
			decisions = append(decisions, attrOf(s, "tokengate.decision"))
		}
	}
	if strings.Join(decisions, ",") != "unauthenticated,allow" {
		t.Errorf("/auth decisions through the sign-in = %v; want unauthenticated, then allow", decisions)
	}
	// The first /auth with the new cookie decrypts it: a session.load span says so.
	allowed := tracetest.SpanStub{}
	for _, s := range spans {
		if s.Name == "GET /auth" && attrOf(s, "tokengate.decision") == "allow" {
			allowed = s
		}
	}
	load := childOf(t, spans, allowed, trace.SpanKindInternal)
	if load.Name != "session.load" || attrOf(load, "tokengate.session.found") != "true" {
		t.Errorf("first allowed /auth: child %s found=%s; want session.load found=true", load.Name, attrOf(load, "tokengate.session.found"))
	}
	line := logLine(t, h.logs.String(), "signed in")
	if !strings.Contains(line, `"trace_id":"`+callback.SpanContext.TraceID().String()+`"`) ||
		!strings.Contains(line, `"span_id":"`+callback.SpanContext.SpanID().String()+`"`) {
		t.Errorf("sign-in log line %s; want the callback's trace_id and span_id", line)
	}
}

// A refusal: decision deny on the span, the policy span says so, and the log line carries
// the trace.
func TestDenyTrace(t *testing.T) {
	h, exp := newTracedHarness(t, twoDashboards, nil)
	h.signIn("alice")
	exp.Reset()
	if page := h.authRequest(http.Header{"X-Forwarded-Host": {"dev.example.test"}}); page.Status != http.StatusForbidden {
		t.Fatalf("/auth on devs = %d; want 403", page.Status)
	}
	spans := exp.GetSpans()
	server := spanNamed(t, spans, "GET /auth")
	if got := attrOf(server, "tokengate.decision") + "/" + attrOf(server, "tokengate.profile"); got != "deny/devs" {
		t.Errorf("decision/profile = %s; want deny/devs", got)
	}
	if got := attrOf(spanNamed(t, spans, "policy.decide"), "tokengate.policy.allowed"); got != "false" {
		t.Errorf("policy allowed = %s; want false", got)
	}
	for _, s := range spans {
		if s.Name == "token_cache.get" {
			t.Errorf("a refused request looked up a token")
		}
	}
	if line := logLine(t, h.logs.String(), "access denied"); !strings.Contains(line, server.SpanContext.TraceID().String()) {
		t.Errorf("deny log line %s; want trace %s", line, server.SpanContext.TraceID())
	}
}

// With tracing off no middleware reads traceparent: the request's log lines carry no trace,
// even when the ingress sent one.
func TestTracingOffIgnoresTraceparent(t *testing.T) {
	h := newHarness(t, twoDashboards)
	h.signIn("alice")
	h.authRequest(http.Header{"Traceparent": {"00-" + ingressTraceID + "-" + ingressSpanID + "-01"},
		"X-Forwarded-Host": {"dev.example.test"}})
	if line := logLine(t, h.logs.String(), "access denied"); strings.Contains(line, "trace_id") {
		t.Errorf("tracing off, yet the log line has a trace: %s", line)
	}
}

// logLine returns the last log line whose message is msg.
func logLine(t *testing.T, logs, msg string) string {
	t.Helper()
	lines := strings.Split(logs, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], `"msg":"`+msg+`"`) {
			return lines[i]
		}
	}
	t.Fatalf("no log line %q in:\n%s", msg, logs)
	return ""
}
