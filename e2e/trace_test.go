package e2e

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/tokengate/tokengate/internal/browser"
)

// Trace contexts as ingress-nginx's OpenTelemetry module would inject them: fixed ids (the
// examples of W3C Trace Context §3.2), sampled.
const (
	ingressTraceID   = "4bf92f3577b34da6a3ce929d0e0e4736"
	ingressSpanID    = "00f067aa0ba902b7"
	anonymousTraceID = "0af7651916cd43dd8448eb211c80319c"
	anonymousSpanID  = "b7ad6b7169203331"
)

// A trace of one /auth through NGINX shows the decision and the cache
// outcome under the ingress's trace id. Debian's NGINX has no OpenTelemetry module, so the
// test sends the traceparent that module would have injected; NGINX passes the request's
// headers on to the auth_request subrequest, as ingress-nginx does for auth-url. tokengate
// exports over OTLP/HTTP, configured only by the OTEL_* variables an operator would set.
func TestTraceThroughNGINX(t *testing.T) {
	t.Parallel()
	rc := newOTLPReceiver(t)
	s := newStack(t, stackOptions{Proxy: "nginx", Mode: "ingress-nginx", Env: []string{
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + rc.srv.URL,
		"OTEL_BSP_SCHEDULE_DELAY=100", // ms: export within the poll, not after 5s
		"OTEL_SERVICE_NAME=tokengate-e2e",
	}})
	b := s.newBrowser()
	s.signIn(b, https(headlamp, "/"), "alice")
	code := callbackParam(b, "code")

	// A signed-in dashboard call: allowed from the token cache, under the ingress's span.
	page, err := b.Fetch(http.MethodGet, https(headlamp, "/api/v1/pods"), traced(xhrHeaders, ingressTraceID, ingressSpanID))
	mustf(t, err, "traced request")
	if page.Status != http.StatusOK || string(page.Body) != s.dashboards[headlamp].Body() {
		t.Fatalf("traced request got %d %q; want 200 from headlamp", page.Status, snippet(page.Body))
	}
	server := rc.waitServerSpan(t, ingressTraceID)
	checkServerSpan(t, server, ingressSpanID, map[string]string{
		"tokengate.decision": "allow", "tokengate.cache.outcome": "hit", "tokengate.proxy": "ingress-nginx",
		"tokengate.profile": "default", "http.route": "/auth", "http.response.status_code": "200",
	})
	t.Logf("trace %s: %v", ingressTraceID, rc.names(ingressTraceID))

	// No session: unauthenticated, and the session lookup has its own span saying so.
	page, err = s.newBrowser().Fetch(http.MethodGet, https(headlamp, "/api/v1/pods"), traced(xhrHeaders, anonymousTraceID, anonymousSpanID))
	mustf(t, err, "traced request without a session")
	if page.Status != http.StatusFound { // ingress-nginx's error_page turns the 401 into its sign-in
		t.Fatalf("traced request without a session got %d; want 302", page.Status)
	}
	server = rc.waitServerSpan(t, anonymousTraceID)
	checkServerSpan(t, server, anonymousSpanID, map[string]string{
		"tokengate.decision": "unauthenticated", "tokengate.cache.outcome": "", "tokengate.proxy": "ingress-nginx",
		"http.response.status_code": "401",
	})
	load, ok := rc.child(server, "session.load")
	if !ok {
		t.Fatalf("no session.load span under the /auth span of trace %s; spans %v", anonymousTraceID, rc.names(anonymousTraceID))
	}
	if got := load.Attrs["tokengate.session.found"]; got != "false" {
		t.Errorf("session.load tokengate.session.found = %q; want false", got)
	}

	checkNoSecrets(t, rc, s.traceSecrets(t, b, code))
	if err := rc.err(); err != nil {
		t.Errorf("OTLP receiver: %v", err)
	}
}

// traced returns header plus the traceparent of a sampled span of the ingress.
func traced(header http.Header, traceID, spanID string) http.Header {
	h := header.Clone()
	h.Set("Traceparent", "00-"+traceID+"-"+spanID+"-01")
	return h
}

// checkServerSpan checks the /auth server span continues the ingress's span and holds want
// ("" for an attribute that must be absent).
func checkServerSpan(t *testing.T, server span, parent string, want map[string]string) {
	t.Helper()
	if server.ParentID != parent {
		t.Errorf("/auth span parent = %q; want the ingress's span %s", server.ParentID, parent)
	}
	if server.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("/auth span kind = %v; want server", server.Kind)
	}
	if server.Service != "tokengate-e2e" {
		t.Errorf("/auth span service.name = %q; want OTEL_SERVICE_NAME's tokengate-e2e", server.Service)
	}
	if server.StatusCode == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("/auth span status = error %q; want unset for a 2xx or 4xx answer", server.StatusMessage)
	}
	for k, v := range want {
		if got := server.Attrs[k]; got != v {
			t.Errorf("/auth span %s = %q; want %q", k, got, v)
		}
	}
}

// traceSecrets names every credential the stack handed the browser and the dashboard, by
// what it is. None may reach an exported span; the test never prints their values.
func (s *stack) traceSecrets(t *testing.T, b *browser.Browser, code string) map[string]string {
	t.Helper()
	secrets := map[string]string{"the client secret": e2eClientSecret, "the authorization code": code}
	for _, c := range b.Client.Jar.Cookies(&url.URL{Scheme: "https", Host: headlamp, Path: "/"}) {
		if strings.HasPrefix(c.Name, "_tokengate") {
			secrets["the session cookie "+c.Name] = c.Value
		}
	}
	sess, err := s.session(b)
	mustf(t, err, "open the browser's session")
	secrets["the refresh token"] = sess.RefreshToken.Reveal()
	secrets["the session id"] = sess.ID // the Redis store's bearer credential
	for i, h := range s.dashboards[headlamp].Hits() {
		if tok, ok := strings.CutPrefix(h.Header.Get("Authorization"), "Bearer "); ok {
			secrets["the access token of dashboard request "+strconv.Itoa(i)] = tok
		}
	}
	for what, v := range secrets {
		if len(v) < 8 { // an empty or tiny value would match anything: the check would lie
			t.Fatalf("%s is %d bytes; the leak check needs the real value", what, len(v))
		}
	}
	return secrets
}

// checkNoSecrets fails for every span field, and every whole export body, that holds one of
// secrets. The message names the secret and where it was, never its value.
func checkNoSecrets(t *testing.T, rc *otlpReceiver, secrets map[string]string) {
	t.Helper()
	spans, bodies := rc.all()
	if len(bodies) == 0 {
		t.Fatal("no OTLP export received")
	}
	for what, v := range secrets {
		for _, sp := range spans {
			for _, f := range sp.Fields {
				if strings.Contains(f.Value, v) {
					t.Errorf("span %q (trace %s) %s holds %s", sp.Name, sp.TraceID, f.Where, what)
				}
			}
		}
		for i, body := range bodies {
			if bytes.Contains(body, []byte(v)) {
				t.Errorf("OTLP export %d holds %s", i, what)
			}
		}
	}
}

// callbackParam returns a query parameter of the OAuth callback among the browser's hops.
func callbackParam(b *browser.Browser, name string) string {
	for _, h := range b.Hops {
		if u, err := url.Parse(h); err == nil && u.Path == "/oauth2/callback" {
			return u.Query().Get(name)
		}
	}
	return ""
}
