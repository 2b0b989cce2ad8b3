package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tokengate/tokengate/internal/config"
)

// Nothing that unlocks the cluster may reach an exported span or a log line: no access,
// refresh or id token, no authorization code or PKCE verifier, no session or CSRF cookie, no
// client secret or cookie key. Tracing and debug logging run through sign-in, hits, a
// refusal, a refresh, a provider outage, a forged callback and sign-out; then every
// credential seen on the wire is searched for in every span field and in the logs.
func TestTelemetryNeverContainsCredentials(t *testing.T) {
	tap := &tokenTap{}
	h, exp := newTracedHarness(t, func(c *config.Config) { twoDashboards(c); c.Metrics.InsecureServeOnListen = true }, tap)
	h.signIn("alice")
	credentials := tap.secrets()
	for _, hop := range h.browser.Hops {
		u, _ := url.Parse(hop)
		credentials = append(credentials, u.Query().Get("code"), u.Query().Get("state"))
	}
	first, _ := h.bearer()
	credentials = append(credentials, first)

	h.authRequest(http.Header{"X-Forwarded-Host": {"dev.example.test"}})
	h.clock.Advance(testTokenLifetime + time.Minute)
	refreshed := h.authRequest(nil)
	credentials = append(credentials, h.credentialsIn(refreshed)...)
	h.idp.SetUnavailable(true)
	h.clock.Advance(testTokenLifetime + time.Minute)
	if page := h.authRequest(nil); page.Status != http.StatusServiceUnavailable {
		t.Fatalf("/auth with the provider down = %d; want 503", page.Status)
	}
	h.idp.SetUnavailable(false)
	if _, err := h.browser.Navigate(h.auth.URL + "/oauth2/callback?code=forged-code-value&state=" + strings.Repeat("B", 43)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.browser.Navigate(h.auth.URL + "/oauth2/sign_out"); err != nil {
		t.Fatal(err)
	}
	credentials = append(credentials, tap.secrets()...)
	credentials = append(credentials, testClientSecret, h.cfg.Cookie.Secrets[0].Reveal(), "forged-code-value")

	spans := spanText(exp.GetSpans())
	for _, want := range []string{"idp.exchange", "idp.refresh", "exception.message", "tokengate.cache.outcome=refreshed", "deny"} {
		if !strings.Contains(spans, want) {
			t.Fatalf("the spans lack %q; the leak check would prove little:\n%s", want, spans)
		}
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "signed in") || !strings.Contains(logs, "trace_id") {
		t.Fatalf("the logs did not record the traced flow:\n%s", logs)
	}
	metrics := h.openMetrics()
	if !strings.Contains(metrics, `trace_id="`) {
		t.Fatalf("/metrics has no exemplar; the leak check of it would prove little:\n%s", metrics)
	}
	checked := 0
	for _, c := range credentials {
		if len(c) < 16 {
			continue
		}
		checked++
		for where, text := range map[string]string{"spans": spans, "logs": logs, "OpenMetrics exposition": metrics} {
			if strings.Contains(text, c) || strings.Contains(text, c[len(c)-16:]) {
				t.Errorf("a credential (%d bytes, ends …%s) appears in the %s", len(c), c[len(c)-4:], where)
			}
		}
	}
	if checked < 8 {
		t.Fatalf("only %d credentials collected; the tap or the flow is broken", checked)
	}
}

// openMetrics scrapes /metrics as Prometheus does by default, in OpenMetrics, the format
// that carries exemplars.
func (h *harness) openMetrics() string {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.auth.URL+"/metrics", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := h.auth.Client().Do(req)
	if err != nil {
		h.t.Fatalf("scrape /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		h.t.Fatalf("scrape /metrics: %d, %v", resp.StatusCode, err)
	}
	return string(body)
}

// spanText writes out everything an exporter would send of spans: names, attributes, events
// with their attributes, links, status and resource.
func spanText(spans tracetest.SpanStubs) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "span %s status=%s %q\n", s.Name, s.Status.Code, s.Status.Description)
		for _, a := range s.Attributes {
			fmt.Fprintf(&b, "  %s=%s\n", a.Key, a.Value.String())
		}
		for _, e := range s.Events {
			fmt.Fprintf(&b, "  event %s\n", e.Name)
			for _, a := range e.Attributes {
				fmt.Fprintf(&b, "    %s=%s\n", a.Key, a.Value.String())
			}
		}
		for _, l := range s.Links {
			for _, a := range l.Attributes {
				fmt.Fprintf(&b, "  link %s=%s\n", a.Key, a.Value.String())
			}
		}
		if s.Resource != nil {
			for _, a := range s.Resource.Attributes() {
				fmt.Fprintf(&b, "  resource %s=%s\n", a.Key, a.Value.String())
			}
		}
	}
	return b.String()
}
