// Package forward is the forward-auth protocol, without gin: how each proxy describes the
// original request (ingress-nginx's X-Original-*, the X-Forwarded-* family of Traefik and
// Caddy, Envoy's ext_authz check request), the host syntax tokengate accepts, whether a
// request is a page navigation, and where a browser may be redirected. The proxy modes are
// defined here once; handlers, configuration validation and doctor all use them.
package forward
