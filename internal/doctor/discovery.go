package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/config"
)

// maxDocumentBytes bounds a discovery document or token-endpoint answer.
const maxDocumentBytes = 1 << 20

// discovered is the part of the provider's metadata the checks use.
type discovered struct {
	Issuer        string `json:"issuer"`
	TokenEndpoint string `json:"token_endpoint"`
}

// discoveryURL is where OpenID Connect Discovery §4 puts the metadata of an issuer.
func discoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// checkDiscovery is check 2: the metadata answers within provider.timeout, and the issuer it
// names is exactly provider.issuerURL (OIDC Discovery §4.3; go-oidc refuses anything else).
func checkDiscovery(ctx context.Context, client *http.Client, cfg *config.Config) (*discovered, []Result) {
	const name = "issuer discovery"
	issuer := cfg.Provider.IssuerURL
	if issuer == "" {
		return nil, []Result{{Status: Fail, Name: name, Detail: "provider.issuerURL is not set",
			Fix: "set it to https://login.microsoftonline.com/<tenant-id>/v2.0"}}
	}
	timeout := providerTimeout(cfg)
	d, err := fetchMetadata(ctx, client, issuer, providerTimeout(cfg))
	if err != nil {
		fix := "check that tokengate's network reaches the issuer (DNS, egress policy, HTTP proxy) and that provider.issuerURL is right"
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			err = fmt.Errorf("no answer within provider.timeout (%s)", timeout)
			fix += ", or raise provider.timeout"
		}
		var se *statusError
		if errors.As(err, &se) && (se.status == http.StatusNotFound || se.status == http.StatusBadRequest) {
			fix = "check the tenant id in provider.issuerURL (Entra answers 400 AADSTS90002 for an unknown tenant); the issuer is the URL before /.well-known/openid-configuration"
		}
		return nil, []Result{{Status: Fail, Name: name, Detail: fmt.Sprintf("GET %s: %v", discoveryURL(issuer), err), Fix: fix}}
	}
	ok := Result{Status: OK, Name: name, Detail: fmt.Sprintf("%s answered within %s", discoveryURL(issuer), timeout)}
	if d.Issuer == issuer {
		res := Result{Status: OK, Name: "issuer matches", Detail: "the provider names itself " + issuer}
		if isEntraV1Issuer(issuer) {
			res = Result{Status: Warn, Name: "issuer matches",
				Detail: issuer + " is Entra's v1 issuer: it is what AKS access tokens carry, but tokengate signs in with the v2 endpoint",
				Fix:    "set provider.issuerURL: https://login.microsoftonline.com/" + tenantOf(issuer) + "/v2.0"}
		}
		return d, []Result{ok, res}
	}
	// A v1 endpoint's document names the v1 issuer; see whether the v2 one would have matched.
	v2 := ""
	if !strings.HasSuffix(strings.TrimSuffix(issuer, "/"), "/v2.0") {
		candidate := strings.TrimSuffix(issuer, "/") + "/v2.0"
		if d2, err := fetchMetadata(ctx, client, candidate, timeout); err == nil && d2.Issuer == candidate {
			v2 = candidate
		}
	}
	detail, fix := explainIssuerMismatch(issuer, d.Issuer, v2)
	// The token endpoint is still the provider's: the credentials can be checked regardless.
	return d, []Result{ok, {Status: Fail, Name: "issuer matches", Detail: detail, Fix: fix}}
}

// explainIssuerMismatch says why the configured issuer is not the discovered one and what to
// write instead. v2 is the v2 issuer next to the configured one when it was found to match.
func explainIssuerMismatch(configured, found, v2 string) (detail, fix string) {
	detail = fmt.Sprintf("provider.issuerURL is %s but the provider names itself %s; OIDC compares issuers exactly and tokengate would refuse every sign-in", configured, found)
	switch {
	case v2 != "" || isEntraV1Issuer(found):
		if v2 == "" {
			v2 = "https://login.microsoftonline.com/" + tenantOf(found) + "/v2.0"
		}
		return detail + ": this is the v1 endpoint (issuer https://sts.windows.net/<tenant>/, v1 tokens), and tokengate signs in with the v2 one (issuer https://login.microsoftonline.com/<tenant>/v2.0)",
			"set provider.issuerURL: " + v2
	case strings.Contains(found, "{tenantid}"):
		return detail + ": the common/organizations endpoints publish a templated issuer that no token carries",
			"set provider.issuerURL to your tenant's issuer, https://login.microsoftonline.com/<tenant-id>/v2.0"
	case strings.TrimSuffix(configured, "/") == strings.TrimSuffix(found, "/"):
		return detail + ": they differ only by the trailing slash, which counts", "set provider.issuerURL: " + found
	case isEntraV2Issuer(found) && isEntraV2Issuer(configured):
		return detail + ": Entra's issuer names the tenant by its id, not by a domain name", "set provider.issuerURL: " + found
	}
	return detail, "set provider.issuerURL: " + found
}

// isEntraV1Issuer reports https://sts.windows.net/<tenant>/ (and its sovereign-cloud twins).
func isEntraV1Issuer(iss string) bool {
	u, err := url.Parse(iss)
	return err == nil && strings.HasPrefix(u.Host, "sts.") && !strings.HasSuffix(u.Path, "/v2.0")
}

// isEntraV2Issuer reports https://login.microsoftonline.com/<tenant>/v2.0 and its twins.
func isEntraV2Issuer(iss string) bool {
	u, err := url.Parse(iss)
	return err == nil && strings.HasPrefix(u.Host, "login.") && strings.HasSuffix(u.Path, "/v2.0")
}

// tenantOf is the first path segment of an Entra issuer: the tenant id.
func tenantOf(iss string) string {
	u, err := url.Parse(iss)
	if err != nil {
		return "<tenant-id>"
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if seg == "" {
		return "<tenant-id>"
	}
	return seg
}

// statusError is a discovery answer that is not 200.
type statusError struct{ status int }

func (e *statusError) Error() string {
	return fmt.Sprintf("answered %d %s", e.status, http.StatusText(e.status))
}

func fetchMetadata(ctx context.Context, client *http.Client, issuer string, timeout time.Duration) (*discovered, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, discoveryURL(issuer), nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, unwrapURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{status: resp.StatusCode}
	}
	var d discovered
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDocumentBytes)).Decode(&d); err != nil {
		return nil, fmt.Errorf("not an OpenID configuration document: %w", err)
	}
	if d.Issuer == "" {
		return nil, errors.New("the document names no issuer")
	}
	return &d, nil
}

// unwrapURLError drops net/url's "Get \"…\":" prefix: the messages already name the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
