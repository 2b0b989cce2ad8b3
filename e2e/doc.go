// Package e2e proves tokengate behind the proxies people run: real NGINX configured the way
// ingress-nginx renders its auth-url/auth-signin annotations, real Caddy with forward_auth,
// and real Traefik v3.7.9 with the ForwardAuth Middleware and routes of
// deploy/examples/headlamp-traefik, read from those files: through its file provider, and
// from a real kube-apiserver through its kubernetescrd provider (IngressRoutes) and its
// Gateway API provider (Gateway and HTTPRoutes). The tests start everything on
// 127.0.0.1: the development identity provider, the tokengate binary, two dashboards on
// different host names and the proxy in front of them, with TLS from a test CA, and drive a
// scripted browser through sign-in, refresh, sign-out and header-forgery attempts.
//
// The tests skip with a reason when nginx, caddy or bin/traefik (make traefik) is missing,
// unless E2E=required (as in CI), where a missing binary fails them. There is no non-test
// code here.
package e2e
