package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// traefikBin is where `make traefik` unpacks the Traefik v3.7.9 release binary, relative to
// this package's directory (go test runs in it). Traefik is not a Debian package.
const traefikBin = "../bin/traefik"

// traefikSite is one dashboard host routed through the documented tokengate Middleware.
type traefikSite struct {
	Host     string // the host of the router's Host(`…`) rule
	Upstream string // host:port of the dashboard
}

// traefikOptions vary the documented configuration, to show what a setting is for.
type traefikOptions struct {
	// TrustForwardHeader, when set, overrides the Middleware's trustForwardHeader.
	TrustForwardHeader *bool
	// TrustedIPs is the entry point's forwardedHeaders.trustedIPs: the addresses (a cloud
	// load balancer in front of Traefik) whose X-Forwarded-* headers the entry point keeps.
	TrustedIPs []string
	// AuthCookies, when set, overrides the Middleware's addAuthCookiesToResponse.
	AuthCookies []string
}

// startTraefik runs Traefik with the file provider on a free loopback port, serving TLS for
// *.example.test, and returns the port once ready(port) succeeds. Its routers and its
// tokengate Middleware are those of deploy/examples/headlamp-traefik (traefikDocs): the
// documented forwardAuth block, verbatim but for the address, in front of every dashboard.
func startTraefik(t *testing.T, dir, tokengate string, sites []traefikSite, o traefikOptions, ready func(port int) error) int {
	t.Helper()
	bin := traefikBinary(t)
	docs := loadTraefikDocs(t)
	port := freePort(t)
	dynFile := writeTraefikDynamic(t, dir, docs, tokengate, sites, o)

	args := []string{"--providers.file.filename=" + dynFile}
	if len(o.TrustedIPs) > 0 {
		args = append(args, "--entryPoints."+docs.EntryPoint+".forwardedHeaders.trustedIPs="+strings.Join(o.TrustedIPs, ","))
	}
	runTraefik(t, dir, bin, port, docs.EntryPoint, args, ready)
	return port
}

// runTraefik starts Traefik with its providers' flags and waits until ready(port) succeeds.
// Static configuration: one entry point on loopback with Traefik's default (untrusted)
// forwarded headers, no dashboard or API, and nothing phoning home. Traefik takes its static
// configuration from one source only, flags or environment, not both.
func runTraefik(t *testing.T, dir, bin string, port int, entryPoint string, providers []string, ready func(port int) error) {
	t.Helper()
	args := append([]string{
		"--global.checkNewVersion=false",
		"--global.sendAnonymousUsage=false",
		"--entryPoints." + entryPoint + ".address=" + hostPort(port),
		"--log.level=INFO",
	}, providers...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = withoutServiceEnv(cmd.Environ())
	p := startProcess(t, "traefik", dir, cmd)
	p.waitReady(t, func() error { return ready(port) })
}

// traefikBinary returns the pinned Traefik, else one on PATH; neither skips the test (or
// fails it under E2E=required).
func traefikBinary(t *testing.T) string {
	t.Helper()
	// The pinned binary first: another traefik on PATH would test another version.
	bin, err := filepath.Abs(traefikBin)
	mustf(t, err, "locate %s", traefikBin)
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		bin = requireTool(t, "traefik", bin)
	}
	return bin
}

// writeTraefikDynamic writes the file provider's configuration into dir and returns its path:
// the documented routers and Middleware (with o's variations), the services, and the test
// certificate as the default one.
func writeTraefikDynamic(t *testing.T, dir string, docs traefikDocs, tokengate string, sites []traefikSite, o traefikOptions) string {
	t.Helper()
	forwardAuth := docs.forwardAuth("http://" + tokengate + "/auth")
	if o.TrustForwardHeader != nil {
		forwardAuth["trustForwardHeader"] = *o.TrustForwardHeader
	}
	if o.AuthCookies != nil {
		forwardAuth["addAuthCookiesToResponse"] = o.AuthCookies
	}
	dynamic := map[string]any{
		"http": map[string]any{
			"routers":     docs.routers(sites),
			"middlewares": map[string]any{docs.Middleware: map[string]any{"forwardAuth": forwardAuth}},
			"services":    traefikServices(tokengate, sites),
		},
		"tls": map[string]any{
			"stores": map[string]any{"default": map[string]any{"defaultCertificate": map[string]any{
				"certFile": testPKI.CertFile, "keyFile": testPKI.KeyFile,
			}}},
		},
	}
	b, err := json.MarshalIndent(dynamic, "", "  ")
	mustf(t, err, "render Traefik dynamic configuration")
	// JSON is YAML, and Traefik's file provider reads .yaml.
	path := filepath.Join(dir, "traefik-dynamic.yaml")
	writeFile(t, path, string(b), 0o644)
	return path
}

// traefikServices are the load balancers: tokengate (behind the tap) and each dashboard.
func traefikServices(tokengate string, sites []traefikSite) map[string]any {
	lb := func(addr string) map[string]any {
		return map[string]any{"loadBalancer": map[string]any{"servers": []any{map[string]any{"url": "http://" + addr}}}}
	}
	services := map[string]any{"tokengate": lb(tokengate)}
	for _, s := range sites {
		services[traefikName(s.Host)] = lb(s.Upstream)
	}
	return services
}

// traefikName turns a host into a router or service name.
func traefikName(host string) string { return strings.ReplaceAll(host, ".", "-") }

// ptr returns a pointer to v, for optional settings.
func ptr[T any](v T) *T { return &v }

// traefikSites are the stack's two dashboards, each behind the documented Middleware.
func (s *stack) traefikSites() []traefikSite {
	return []traefikSite{
		{Host: headlamp, Upstream: s.dashboards[headlamp].Addr()},
		{Host: grafana, Upstream: s.dashboards[grafana].Addr()},
	}
}
