package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/telemetry"
)

// tokenTap carries tokengate's calls to the identity provider and keeps what a leak test
// looks for: every code, verifier, secret and token on the wire, and the last traceparent.
type tokenTap struct {
	mu          sync.Mutex
	seen        []string
	traceparent string
}

func (tp *tokenTap) RoundTrip(req *http.Request) (*http.Response, error) {
	var sent url.Values
	if req.Body != nil {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		sent, _ = url.ParseQuery(string(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	var got map[string]any
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		_ = json.Unmarshal(body, &got) // discovery and keys are JSON too; their fields are public
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.traceparent = req.Header.Get("Traceparent")
	for _, k := range []string{"code", "code_verifier", "refresh_token", "client_secret", "client_assertion"} {
		tp.seen = append(tp.seen, sent.Get(k))
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if v, ok := got[k].(string); ok {
			tp.seen = append(tp.seen, v)
		}
	}
	return resp, err
}

func (tp *tokenTap) secrets() []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]string(nil), tp.seen...)
}

func (tp *tokenTap) lastTraceparent() string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.traceparent
}

// otlpReceiver is an OTLP/HTTP collector in the test process: it decodes every
// POST /v1/traces with the OTLP protobuf types.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.ResourceSpans
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces application/x-protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(raw, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.spans = append(o.spans, req.GetResourceSpans()...)
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// TestOTLPExport runs tokengate with tracing configured as an operator would, by OTEL_*
// variables only, and checks that a receiver gets the /auth span of the ingress's trace.
func TestOTLPExport(t *testing.T) {
	recv := &otlpReceiver{}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER"} {
		t.Setenv(k, "")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	tracing, err := telemetry.NewTracing(t.Context(), version, io.Discard)
	if err != nil || !tracing.Enabled() {
		t.Fatalf("NewTracing = %v, enabled %v; want OTLP tracing", err, tracing.Enabled())
	}
	h := newHarnessWith(t, nil, harnessOptions{tracing: tracing})
	h.signIn("alice")
	h.authRequest(http.Header{"Traceparent": {"00-" + ingressTraceID + "-" + ingressSpanID + "-01"}})
	if err := tracing.Shutdown(t.Context()); err != nil { // flushes the batch
		t.Fatalf("Shutdown = %v", err)
	}

	recv.mu.Lock()
	defer recv.mu.Unlock()
	var found *tracepb.Span
	service := ""
	for _, rs := range recv.spans {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				if s.GetName() == "GET /auth" && fmt.Sprintf("%x", s.GetTraceId()) == ingressTraceID {
					found = s
				}
			}
		}
	}
	if found == nil {
		t.Fatalf("the receiver got no GET /auth span of trace %s (%d resource spans)", ingressTraceID, len(recv.spans))
	}
	if service != telemetry.ServiceName {
		t.Errorf("service.name = %q; want %q", service, telemetry.ServiceName)
	}
	attrs := map[string]string{}
	for _, a := range found.GetAttributes() {
		attrs[a.GetKey()] = a.GetValue().GetStringValue()
	}
	if attrs["tokengate.decision"] != "allow" || attrs["tokengate.profile"] != "default" {
		t.Errorf("exported /auth span attributes %v; want decision allow, profile default", attrs)
	}
}

// scrapeMetrics reads and parses url (a /metrics endpoint).
func scrapeMetrics(t *testing.T, client *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d; want 200", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return families
}

// sample is the value of the series of family whose labels include labels: a counter's
// value, a histogram's count, a gauge's value; -1 when there is none.
func sample(families map[string]*dto.MetricFamily, family string, labels map[string]string) float64 {
next:
	for _, m := range families[family].GetMetric() {
		for _, l := range m.GetLabel() {
			if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// TestMetricsAfterTraffic drives sign-in, hits, a refusal, an anonymous request, a refresh
// and a sign-out, then scrapes /metrics on the main listener (tracing off: metrics are on
// regardless; metrics.insecureServeOnListen, to scrape it through the test server).
func TestMetricsAfterTraffic(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { twoDashboards(c); c.Metrics.InsecureServeOnListen = true })
	h.signIn("alice")                                                    // /auth: unauthenticated, then allow (hit)
	h.authRequest(nil)                                                   // allow (hit)
	h.authRequest(http.Header{"X-Forwarded-Host": {"dev.example.test"}}) // deny
	anonymous := browser.New(h.auth.Client().Transport)
	if _, err := anonymous.Fetch(http.MethodGet, h.auth.URL+"/auth", http.Header{
		"X-Forwarded-Method": {"GET"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"headlamp.example.test"},
		"X-Forwarded-Uri": {"/"}, "Accept": {"application/json"}}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(testTokenLifetime + time.Minute)
	h.authRequest(nil) // allow (refreshed)
	if _, err := h.browser.Navigate(h.auth.URL + "/oauth2/sign_out"); err != nil {
		t.Fatal(err)
	}

	families := scrapeMetrics(t, h.auth.Client(), h.auth.URL+"/metrics")
	tests := []struct {
		name   string
		family string
		labels map[string]string
		want   float64 // -2: any value, as long as the series exists
	}{
		{name: "allowed", family: "tokengate_auth_requests_total", labels: map[string]string{"decision": "allow", "profile": "headlamp"}, want: 3},
		{name: "refused", family: "tokengate_auth_requests_total", labels: map[string]string{"decision": "deny", "profile": "devs"}, want: 1},
		{name: "anonymous", family: "tokengate_auth_requests_total", labels: map[string]string{"decision": "unauthenticated", "profile": "headlamp"}, want: 2},
		{name: "latency", family: "tokengate_auth_duration_seconds", labels: map[string]string{"decision": "allow", "profile": "headlamp"}, want: 3},
		{name: "cache hits", family: "tokengate_token_cache_lookups_total", labels: map[string]string{"outcome": "hit"}, want: 2},
		{name: "cache refreshes", family: "tokengate_token_cache_lookups_total", labels: map[string]string{"outcome": "refreshed"}, want: 1},
		{name: "token calls", family: "tokengate_idp_requests_total", labels: map[string]string{"endpoint": "token", "outcome": "ok"}, want: 2},
		{name: "token latency", family: "tokengate_idp_request_duration_seconds", labels: map[string]string{"endpoint": "token", "outcome": "ok"}, want: 2},
		{name: "discovery", family: "tokengate_idp_requests_total", labels: map[string]string{"endpoint": "discovery", "outcome": "ok"}, want: -2},
		{name: "keys", family: "tokengate_idp_requests_total", labels: map[string]string{"endpoint": "jwks", "outcome": "ok"}, want: -2},
		{name: "sign-ins", family: "tokengate_sign_ins_total", want: 1},
		{name: "sign-outs", family: "tokengate_sign_outs_total", want: 1},
		{name: "build info", family: "tokengate_build_info", labels: map[string]string{"version": version, "goversion": runtime.Version()}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sample(families, tt.family, tt.labels)
			if got == -1 || (tt.want != -2 && got != tt.want) {
				t.Errorf("%s%v = %v; want %v", tt.family, tt.labels, got, tt.want)
			}
		})
	}
}

// TestGrafanaDashboardQueriesExistingSeries keeps deploy/grafana in step with /metrics: every
// tokengate metric a panel queries must be exported.
func TestGrafanaDashboardQueriesExistingSeries(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/grafana/tokengate-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(raw) {
		t.Fatal("the dashboard is not JSON")
	}
	h := newHarness(t, func(c *config.Config) { c.Metrics.InsecureServeOnListen = true })
	h.signIn("alice")
	if _, err := h.browser.Navigate(h.auth.URL + "/oauth2/sign_out"); err != nil {
		t.Fatal(err)
	}
	families := scrapeMetrics(t, h.auth.Client(), h.auth.URL+"/metrics")
	// The Redis panels' series come from a replica on the Redis store that refreshed once.
	c := newRedisCluster(t, 1, false)
	c.signIn("alice")
	c.clock.Advance(testTokenLifetime)
	c.wantStatus("a refresh under the lock", 0, http.StatusOK)
	maps.Copy(families, scrapeMetrics(t, c.replicas[0].srv.Client(), c.replicas[0].srv.URL+"/metrics"))
	used := regexp.MustCompile(`\b(tokengate_[a-z_]+|go_[a-z_]+|process_[a-z_]+)`).FindAllString(string(raw), -1)
	if len(used) < 8 {
		t.Fatalf("the dashboard queries %d series; want every tokengate metric", len(used))
	}
	for _, name := range used {
		family := strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count")
		if _, ok := families[family]; !ok {
			t.Errorf("the dashboard queries %s, which /metrics does not export", name)
		}
	}
}

// /metrics is on the main listener, which the ingress routes, only when the operator asks
// for it: by default it is nowhere until metrics.listen names a listener of its own.
func TestMetricsNotOnMainListenerByDefault(t *testing.T) {
	tests := []struct {
		name       string
		tweak      func(*config.Config)
		wantStatus int
	}{
		{name: "default", wantStatus: http.StatusNotFound},
		{name: "metrics.listen", tweak: func(c *config.Config) { c.Metrics.Listen = "127.0.0.1:0" }, wantStatus: http.StatusNotFound},
		{name: "insecureServeOnListen", tweak: func(c *config.Config) { c.Metrics.InsecureServeOnListen = true }, wantStatus: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.tweak)
			// As the ingress would forward an outsider's request, and as a scraper would.
			for _, hdr := range []http.Header{{"X-Forwarded-For": {"203.0.113.7"}, "X-Forwarded-Host": {"auth.example.com"}}, {}} {
				page, err := h.browser.Fetch(http.MethodGet, h.auth.URL+"/metrics", hdr)
				if err != nil {
					t.Fatal(err)
				}
				if page.Status != tc.wantStatus || (tc.wantStatus != http.StatusOK && strings.Contains(string(page.Body), "tokengate_")) {
					t.Errorf("/metrics on the main listener = %d; want %d", page.Status, tc.wantStatus)
				}
			}
		})
	}
}

// With metrics.listen set, /metrics leaves the main listener (which the ingress may expose)
// for a listener of its own.
func TestMetricsOnSeparateListener(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Metrics.Listen = "127.0.0.1:0" })
	resp, err := h.auth.Client().Get(h.auth.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the main listener = %d; want 404", resp.StatusCode)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.app.metricsLn = ln
	stop := h.app.serveMetrics()
	defer stop()
	families := scrapeMetrics(t, http.DefaultClient, "http://"+ln.Addr().String()+"/metrics")
	if got := sample(families, "tokengate_build_info", nil); got != 1 {
		t.Errorf("tokengate_build_info on the metrics listener = %v; want 1", got)
	}
}
