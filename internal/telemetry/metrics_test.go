package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/trace"
)

// scrape fetches /metrics from m and parses the text exposition.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics = %d; want 200", rec.Code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, rec.Body.String())
	}
	return families
}

// value returns the counter value (or histogram count) of the series of family with exactly
// the labels given (other labels ignored), and whether it exists.
func value(families map[string]*dto.MetricFamily, family string, labels map[string]string) (float64, bool) {
	f, ok := families[family]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func TestMetricsExposition(t *testing.T) {
	m, err := NewMetrics("v1.2.3", []string{"headlamp"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m.AuthRequest(ctx, "headlamp", Allow, 40*time.Microsecond)
	m.AuthRequest(ctx, "headlamp", Allow, 60*time.Microsecond)
	m.AuthRequest(ctx, "headlamp", Deny, time.Millisecond)
	m.AuthRequest(ctx, "added-later", Error, time.Millisecond)
	m.CacheLookup(ctx, "hit")
	m.CacheLookup(ctx, "refresh_ahead")
	m.SignIn(ctx)
	m.SignOut(ctx)
	m.SignOut(ctx)

	families := scrape(t, m)
	tests := []struct {
		name   string
		family string
		labels map[string]string
		want   float64
	}{
		{name: "allowed", family: "tokengate_auth_requests_total", labels: map[string]string{"decision": "allow", "profile": "headlamp"}, want: 2},
		{name: "denied", family: "tokengate_auth_requests_total", labels: map[string]string{"decision": "deny", "profile": "headlamp"}, want: 1},
		{name: "profile not named at start", family: "tokengate_auth_requests_total", labels: map[string]string{"decision": "error", "profile": "added-later"}, want: 1},
		{name: "latency histogram", family: "tokengate_auth_duration_seconds", labels: map[string]string{"decision": "allow", "profile": "headlamp"}, want: 2},
		{name: "cache hit", family: "tokengate_token_cache_lookups_total", labels: map[string]string{"outcome": "hit"}, want: 1},
		{name: "cache refresh ahead", family: "tokengate_token_cache_lookups_total", labels: map[string]string{"outcome": "refresh_ahead"}, want: 1},
		{name: "sign-ins", family: "tokengate_sign_ins_total", want: 1},
		{name: "sign-outs", family: "tokengate_sign_outs_total", want: 2},
		{name: "build info", family: "tokengate_build_info", labels: map[string]string{"version": "v1.2.3"}, want: 1},
		{name: "go runtime", family: "go_goroutines", want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := value(families, tt.family, tt.labels)
			if !ok {
				t.Fatalf("no series %s%v in /metrics", tt.family, tt.labels)
			}
			if tt.want >= 0 && got != tt.want {
				t.Errorf("%s%v = %v; want %v", tt.family, tt.labels, got, tt.want)
			}
		})
	}
	if _, ok := value(families, "tokengate_auth_requests_total", map[string]string{"decision": "unauthenticated"}); ok {
		t.Errorf("a series for a decision never recorded was exported")
	}
	if b := families["tokengate_auth_duration_seconds"].GetMetric()[0].GetHistogram().GetBucket(); b[0].GetUpperBound() != 0.0001 {
		t.Errorf("first /auth bucket = %v; want 0.0001 s (cache hits take microseconds)", b[0].GetUpperBound())
	}
}

// With tracing on, the /auth latency histogram keeps the trace of a request per bucket,
// exposed as an OpenMetrics exemplar to scrapers that ask for OpenMetrics; the text format
// stays as it was.
func TestAuthLatencyExemplars(t *testing.T) {
	m, err := NewMetrics("dev", []string{"headlamp"})
	if err != nil {
		t.Fatal(err)
	}
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled}))
	m.AuthRequest(ctx, "headlamp", Allow, 300*time.Microsecond)
	tests := []struct {
		accept       string
		wantExemplar bool
	}{
		{accept: "application/openmetrics-text; version=1.0.0", wantExemplar: true},
		{accept: "", wantExemplar: false},
	}
	for _, tt := range tests {
		t.Run("accept "+tt.accept, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			rec := httptest.NewRecorder()
			m.Handler().ServeHTTP(rec, req)
			body := rec.Body.String()
			var bucket string
			for line := range strings.SplitSeq(body, "\n") {
				if strings.HasPrefix(line, "tokengate_auth_duration_seconds_bucket") && strings.Contains(line, `le="0.0005"`) {
					bucket = line
				}
			}
			if bucket == "" {
				t.Fatalf("no 0.5 ms bucket of tokengate_auth_duration_seconds in:\n%s", body)
			}
			got := strings.Contains(bucket, `trace_id="4bf92f3577b34da6a3ce929d0e0e4736"`) && strings.Contains(bucket, `span_id="00f067aa0ba902b7"`)
			if got != tt.wantExemplar {
				t.Errorf("bucket line %q; want an exemplar with the trace: %v", bucket, tt.wantExemplar)
			}
		})
	}
}

// The /auth hot path records two measurements per request; with pre-built attribute sets that
// costs no allocation.
func TestAuthRequestDoesNotAllocate(t *testing.T) {
	m, err := NewMetrics("dev", []string{"headlamp"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m.AuthRequest(ctx, "headlamp", Allow, time.Millisecond) // first use creates the series
	m.CacheLookup(ctx, "hit")
	allocs := testing.AllocsPerRun(1000, func() {
		m.AuthRequest(ctx, "headlamp", Allow, time.Millisecond)
		m.CacheLookup(ctx, "hit")
	})
	if allocs > 0 {
		t.Errorf("AuthRequest+CacheLookup allocate %.1f times per request; want 0", allocs)
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	ctx := context.Background()
	m.AuthRequest(ctx, "x", Allow, time.Second)
	m.CacheLookup(ctx, "hit")
	m.SignIn(ctx)
	m.SignOut(ctx)
	if rt := m.IdPTransport(http.DefaultTransport); rt != http.DefaultTransport {
		t.Errorf("nil Metrics wrapped the transport")
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
}

func TestIdPTransport(t *testing.T) {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/token") && r.URL.Query().Get("fail") != "":
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		case strings.HasSuffix(r.URL.Path, "/keys") && r.URL.Query().Get("fail") != "":
			http.Error(w, "down", http.StatusBadGateway)
		}
	}))
	defer idp.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	m, err := NewMetrics("dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: m.IdPTransport(nil), Timeout: 5 * time.Second}
	for _, u := range []string{
		idp.URL + "/t/v2.0/.well-known/openid-configuration",
		idp.URL + "/t/oauth2/v2.0/token",
		idp.URL + "/t/oauth2/v2.0/token",
		idp.URL + "/t/oauth2/v2.0/token?fail=1",
		idp.URL + "/t/discovery/v2.0/keys?fail=1",
		idp.URL + "/graph/v1.0/me/getMemberObjects",
		closed.URL + "/t/oauth2/v2.0/token",
	} {
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
		} else if !strings.HasPrefix(u, closed.URL) {
			t.Fatalf("GET %s: %v", u, err)
		}
	}
	families := scrape(t, m)
	tests := []struct {
		name     string
		endpoint string
		outcome  string
		want     float64
	}{
		{name: "discovery", endpoint: EndpointDiscovery, outcome: OutcomeOK, want: 1},
		{name: "token ok", endpoint: EndpointToken, outcome: OutcomeOK, want: 2},
		{name: "token rejected", endpoint: EndpointToken, outcome: OutcomeRejected, want: 1},
		{name: "token unreachable", endpoint: EndpointToken, outcome: OutcomeUnreachable, want: 1},
		{name: "keys server error", endpoint: EndpointKeys, outcome: OutcomeServerError, want: 1},
		{name: "graph", endpoint: EndpointGraph, outcome: OutcomeOK, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			labels := map[string]string{"endpoint": tt.endpoint, "outcome": tt.outcome}
			if got, _ := value(families, "tokengate_idp_requests_total", labels); got != tt.want {
				t.Errorf("tokengate_idp_requests_total%v = %v; want %v", labels, got, tt.want)
			}
			if got, _ := value(families, "tokengate_idp_request_duration_seconds", labels); got != tt.want {
				t.Errorf("tokengate_idp_request_duration_seconds%v count = %v; want %v", labels, got, tt.want)
			}
		})
	}
}

func TestEndpointOf(t *testing.T) {
	tests := []struct {
		name string
		path string
		want string
	}{
		{name: "entra v2 discovery", path: "/tenant/v2.0/.well-known/openid-configuration", want: EndpointDiscovery},
		{name: "entra v2 token", path: "/tenant/oauth2/v2.0/token", want: EndpointToken},
		{name: "entra v1 token", path: "/tenant/oauth2/token", want: EndpointToken},
		{name: "entra keys", path: "/tenant/discovery/v2.0/keys", want: EndpointKeys},
		{name: "generic jwks", path: "/protocol/openid-connect/certs", want: EndpointKeys},
		{name: "graph", path: "/v1.0/me/getMemberObjects", want: EndpointGraph},
		{name: "anything else", path: "/tenant/oauth2/v2.0/authorize", want: EndpointOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := endpointOf(tt.path); got != tt.want {
				t.Errorf("endpointOf(%q) = %q; want %q", tt.path, got, tt.want)
			}
		})
	}
}
