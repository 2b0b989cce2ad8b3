// Package e2e proves tokengate behind the proxies people run: real NGINX configured the way
// ingress-nginx renders its auth-url/auth-signin annotations, and real Caddy with
// forward_auth (the protocol Traefik's ForwardAuth also speaks). The tests start everything
// on 127.0.0.1: the development identity provider, the tokengate binary, two dashboards on
// different host names and the proxy in front of them, with TLS from a test CA, and drive a
// scripted browser through sign-in, refresh, sign-out and header-forgery attempts.
//
// The tests skip with a reason when nginx or caddy is missing, unless E2E=required
// (as in CI), where a missing binary fails them. There is no non-test code here.
package e2e
