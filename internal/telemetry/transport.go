package telemetry

import (
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// Endpoints of the identity provider, the endpoint label of tokengate_idp_requests_total.
const (
	EndpointDiscovery = "discovery" // /.well-known/openid-configuration
	EndpointKeys      = "jwks"      // the signing keys (Entra: /discovery/v2.0/keys)
	EndpointToken     = "token"     // code redemption and refresh
	EndpointGraph     = "graph"     // Microsoft Graph getMemberObjects (groups overage)
	EndpointOther     = "other"
)

// Outcomes of one identity-provider call, the outcome label of tokengate_idp_requests_total.
const (
	OutcomeOK          = "ok"           // 1xx–3xx
	OutcomeRejected    = "rejected"     // 4xx: invalid_grant, consent, bad client credentials
	OutcomeServerError = "server_error" // 5xx
	OutcomeUnreachable = "unreachable"  // no answer: connection refused, TLS, timeout
)

var (
	idpEndpoints = []string{EndpointDiscovery, EndpointKeys, EndpointToken, EndpointGraph, EndpointOther}
	idpOutcomes  = []string{OutcomeOK, OutcomeRejected, OutcomeServerError, OutcomeUnreachable}
)

// IdPTransport wraps next (nil: http.DefaultTransport) so that every call it makes is counted
// in tokengate_idp_requests_total{endpoint,outcome} and timed in
// tokengate_idp_request_duration_seconds, until the answer's headers arrive. The endpoint is
// told from the URL path, so calls made inside go-oidc (discovery, keys) are counted too.
// A nil *Metrics returns next unchanged.
func (m *Metrics) IdPTransport(next http.RoundTripper) http.RoundTripper {
	if m == nil {
		return next
	}
	if next == nil {
		next = http.DefaultTransport
	}
	t := &idpTransport{next: next, metrics: m, sets: map[[2]string]measurement{}}
	for _, e := range idpEndpoints {
		for _, o := range idpOutcomes {
			t.sets[[2]string{e, o}] = newMeasurement(attribute.String("endpoint", e), attribute.String("outcome", o))
		}
	}
	return t
}

type idpTransport struct {
	next    http.RoundTripper
	metrics *Metrics
	sets    map[[2]string]measurement // read-only after construction
}

// RoundTrip implements http.RoundTripper.
func (t *idpTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	outcome := OutcomeUnreachable
	if err == nil {
		outcome = outcomeOf(resp.StatusCode)
	}
	ms := t.sets[[2]string{endpointOf(req.URL.Path), outcome}]
	ctx := req.Context()
	t.metrics.idpRequests.Add(ctx, 1, ms.add...)
	t.metrics.idpDuration.Record(ctx, time.Since(start).Seconds(), ms.record...)
	return resp, err
}

func outcomeOf(status int) string {
	switch {
	case status >= 500:
		return OutcomeServerError
	case status >= 400:
		return OutcomeRejected
	}
	return OutcomeOK
}

// endpointOf tells the endpoint from the path of Entra's (and any OIDC provider's) URLs:
// …/.well-known/openid-configuration, …/discovery/v2.0/keys (…/jwks, …/certs elsewhere),
// …/oauth2/v2.0/token, …/me/getMemberObjects.
func endpointOf(path string) string {
	switch {
	case strings.HasSuffix(path, "/.well-known/openid-configuration"):
		return EndpointDiscovery
	case strings.HasSuffix(path, "/token"):
		return EndpointToken
	case strings.HasSuffix(path, "/keys"), strings.HasSuffix(path, "/jwks"), strings.HasSuffix(path, "/certs"),
		strings.HasSuffix(path, "/jwks.json"):
		return EndpointKeys
	case strings.HasSuffix(path, "/getMemberObjects"):
		return EndpointGraph
	}
	return EndpointOther
}
