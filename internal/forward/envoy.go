package forward

import (
	"net/http"
	"strings"
)

// ModeEnvoy is Envoy's ext_authz filter in HTTP mode, as Envoy Gateway's
// SecurityPolicy extAuth and Istio's CUSTOM authorization configure it. Envoy does not
// describe the original request in headers: it sends a check request with the original
// method, path_prefix + the original path and query, and the original authority as Host
// (envoy.extensions.filters.http.ext_authz.v3.HttpService; "Authorization service" in
// Envoy's ext_authz filter docs). A 2xx lets the request through with the headers listed in
// allowed_upstream_headers; any other answer, body and headers included, goes to the client.
const ModeEnvoy = "envoy"

// ProxyEnvoy is the proxy family of ModeEnvoy: like Traefik and Caddy it shows our
// answer to the person, so a page navigation without a session gets our redirect.
const ProxyEnvoy = "envoy-ext-authz"

// EnvoyPathPrefix is the path_prefix the ext_authz HTTP service must be configured with.
const EnvoyPathPrefix = "/auth"

// ParseEnvoy reads the original request from an Envoy ext_authz HTTP check request. Only
// the request line and Host are believed: Envoy sets both from the original request, while
// X-Original-URL or X-Forwarded-Host would be whatever the client sent. X-Forwarded-Proto,
// which Envoy sets on every request it proxies, is used when allowed through, else https
// (the sign-in redirect back must never downgrade). Bad values wrap ErrHeaders.
func ParseEnvoy(r *http.Request) (Request, error) {
	var f Request
	host, port, ok := splitHostPort(r.Host)
	if !ok || len(r.Host) > maxHost+8 {
		return f, headerErr("Host", "not a valid host[:port]")
	}
	f.Host, f.Port = host, port
	uri, ok := strings.CutPrefix(r.RequestURI, EnvoyPathPrefix)
	if !ok {
		return f, headerErr("path", "does not start with "+EnvoyPathPrefix+" (the ext_authz path_prefix)")
	}
	if uri == "" || strings.HasPrefix(uri, "?") {
		uri = "/" + uri
	}
	if reason := checkURI(uri); reason != "" {
		return f, headerErr("path", reason)
	}
	f.URI = uri
	if len(r.Method) > maxMethod || !isToken(r.Method) {
		return f, headerErr("method", "not a valid method")
	}
	f.Method = r.Method
	var err error
	if f.Scheme, err = readProto(r.Header); err != nil {
		return f, err
	}
	f.Proxy = ProxyEnvoy
	f.Navigation = isNavigation(f.Method, r.Header)
	return f, nil
}

// Parse reads the original request of a forward-auth check in mode, one of Modes ("" means
// auto): Envoy's check request is the original request line itself, every other proxy
// describes it in headers. Bad input wraps ErrHeaders.
func Parse(mode string, r *http.Request) (Request, error) {
	if mode == ModeEnvoy {
		return ParseEnvoy(r)
	}
	return ParseHeaders(mode, r.Header)
}
