package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// ForwardModeEnvoy is Envoy's ext_authz filter in HTTP mode, as Envoy Gateway's
// SecurityPolicy extAuth and Istio's CUSTOM authorization configure it. Envoy does not
// describe the original request in headers: it sends a check request with the original
// method, path_prefix + the original path and query, and the original authority as Host
// (envoy.extensions.filters.http.ext_authz.v3.HttpService; "Authorization service" in
// Envoy's ext_authz filter docs). A 2xx lets the request through with the headers listed in
// allowed_upstream_headers; any other answer, body and headers included, goes to the client.
const ForwardModeEnvoy = "envoy"

// ProxyEnvoy is the proxy family of ForwardModeEnvoy: like Traefik and Caddy it shows our
// answer to the person, so a page navigation without a session gets our redirect.
const ProxyEnvoy = "envoy-ext-authz"

// envoyAuthPrefix is the path_prefix the ext_authz HTTP service must be configured with.
const envoyAuthPrefix = authRoute

// envoyMethods are the methods Envoy may check besides GET and HEAD: the check request
// carries the client's own method.
var envoyMethods = []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// registerEnvoyRoutes accepts check requests for every method on /auth and /auth/<path>.
// Only in envoy mode: elsewhere /auth/<path> stays a 404 and POST /auth a 405.
func registerEnvoyRoutes(r *gin.Engine, s *server) {
	for _, m := range envoyMethods {
		r.Handle(m, authRoute, s.auth)
	}
	for _, m := range append([]string{http.MethodGet, http.MethodHead}, envoyMethods...) {
		r.Handle(m, authRoute+"/*path", s.auth)
	}
}

// ParseEnvoy reads the original request from an Envoy ext_authz HTTP check request. Only
// the request line and Host are believed: Envoy sets both from the original request, while
// X-Original-URL or X-Forwarded-Host would be whatever the client sent. X-Forwarded-Proto,
// which Envoy sets on every request it proxies, is used when allowed through, else https
// (the sign-in redirect back must never downgrade). Bad values wrap ErrForwardHeaders.
func ParseEnvoy(r *http.Request) (ForwardRequest, error) {
	var f ForwardRequest
	host, port, ok := forwardSplitHostPort(r.Host)
	if !ok || len(r.Host) > forwardMaxHost+8 {
		return f, forwardErr("Host", "not a valid host[:port]")
	}
	f.Host, f.Port = host, port
	uri, ok := strings.CutPrefix(r.RequestURI, envoyAuthPrefix)
	if !ok {
		return f, forwardErr("path", "does not start with "+envoyAuthPrefix+" (the ext_authz path_prefix)")
	}
	if uri == "" || strings.HasPrefix(uri, "?") {
		uri = "/" + uri
	}
	if reason := forwardCheckURI(uri); reason != "" {
		return f, forwardErr("path", reason)
	}
	f.URI = uri
	if len(r.Method) > forwardMaxMethod || !forwardIsToken(r.Method) {
		return f, forwardErr("method", "not a valid method")
	}
	f.Method = r.Method
	var err error
	if f.Scheme, err = forwardProto(r.Header); err != nil {
		return f, err
	}
	f.Proxy = ProxyEnvoy
	f.Navigation = forwardNavigation(f.Method, r.Header)
	return f, nil
}

// parseForward reads the original request in the configured mode.
func (s *server) parseForward(r *http.Request) (ForwardRequest, error) {
	if s.Config.ForwardAuth.Mode == ForwardModeEnvoy {
		return ParseEnvoy(r)
	}
	return ParseForward(s.Config.ForwardAuth.Mode, r.Header)
}
