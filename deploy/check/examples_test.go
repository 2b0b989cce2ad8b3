package check

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// examplesDir holds the examples, relative to this package.
const examplesDir = "../examples"

// exampleFile is one YAML file of the examples and how it is checked.
type exampleFile struct {
	path string
	// kind is "manifest" (Kubernetes objects, decoded strictly), "tokengate-values" (rendered
	// through the chart) or "chart-values" (another chart's values: YAML syntax only).
	kind string
}

// exampleFiles lists every .yaml file under deploy/examples.
func exampleFiles(t *testing.T) []exampleFile {
	t.Helper()
	var files []exampleFile
	err := filepath.WalkDir(examplesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return err
		}
		kind := "manifest"
		switch base := filepath.Base(path); {
		case base == "tokengate-values.yaml":
			kind = "tokengate-values"
		case strings.HasSuffix(base, "-values.yaml"):
			kind = "chart-values"
		}
		files = append(files, exampleFile{path: path, kind: kind})
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", examplesDir, err)
	}
	if len(files) < 8 {
		t.Fatalf("found %d example YAML files; the examples are missing", len(files))
	}
	return files
}

// exampleDirs lists, once each, the directories holding example manifests.
func exampleDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	for _, f := range exampleFiles(t) {
		if d := filepath.Dir(f.path); f.kind == "manifest" && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// exampleManifests decodes every manifest file of one example directory.
func exampleManifests(t *testing.T, dir string) []manifest {
	t.Helper()
	var all []manifest
	for _, f := range exampleFiles(t) {
		if f.kind != "manifest" || filepath.Dir(f.path) != dir {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := decodeAll(f.path, data)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			t.Fatalf("%s holds no Kubernetes object", f.path)
		}
		all = append(all, ms...)
	}
	return all
}

// TestExamplesDecodeStrictly decodes every example manifest into its type (unknown fields
// fail), parses other charts' values files, and renders the chart with every
// tokengate-values.yaml, checking its config like the chart's own values files.
func TestExamplesDecodeStrictly(t *testing.T) {
	for _, f := range exampleFiles(t) {
		t.Run(f.path, func(t *testing.T) {
			data, err := os.ReadFile(f.path)
			if err != nil {
				t.Fatal(err)
			}
			switch f.kind {
			case "manifest":
				ms, err := decodeAll(f.path, data)
				if err != nil {
					t.Fatal(err)
				}
				if len(ms) == 0 {
					t.Fatalf("%s holds no Kubernetes object", f.path)
				}
			case "chart-values":
				if _, err := yaml.YAMLToJSONStrict(data); err != nil {
					t.Fatalf("%s: %v", f.path, err)
				}
			case "tokengate-values":
				ms := renderAndDecode(t, f.path)
				cm := one(t, byKind[*corev1.ConfigMap](ms), "ConfigMap")
				cfg, err := loadYAMLMap([]byte(cm.Data["config.yaml"]))
				if err != nil {
					t.Fatal(err)
				}
				known, err := knownConfigKeys()
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range unknownConfigKeys(cfg, known) {
					t.Errorf("config.yaml: %s", p)
				}
				checkProtectedHosts(t, filepath.Dir(f.path), cfg)
			}
		})
	}
}

// hostRule finds the hosts of a Traefik match rule: Host(`a`) or Host(`a`, `b`).
var hostRule = regexp.MustCompile(`Host\(([^)]*)\)`)

// protectedHosts are the dashboard hosts an example puts behind tokengate: Ingress hosts with
// an auth-url annotation, IngressRoute hosts whose route uses a middleware, and HTTPRoute
// hosts whose rule attaches one with an ExtensionRef filter or that a SecurityPolicy
// targets.
func protectedHosts(ms []manifest) []string {
	var hosts []string
	for _, ing := range byKind[*networkingv1.Ingress](ms) {
		if ing.Annotations["nginx.ingress.kubernetes.io/auth-url"] == "" {
			continue
		}
		for _, r := range ing.Spec.Rules {
			hosts = append(hosts, r.Host)
		}
	}
	for _, ir := range byKind[*ingressRoute](ms) {
		for _, r := range ir.Spec.Routes {
			if len(r.Middlewares) == 0 {
				continue
			}
			for _, m := range hostRule.FindAllStringSubmatch(r.Match, -1) {
				for _, h := range strings.Split(m[1], ",") {
					hosts = append(hosts, strings.Trim(strings.TrimSpace(h), "`\""))
				}
			}
		}
	}
	// HTTPRoutes with a Traefik Middleware attached (Traefik's Gateway API provider).
	for _, r := range byKind[*httpRoute](ms) {
		if len(r.middlewares()) > 0 {
			hosts = append(hosts, r.Spec.Hostnames...)
		}
	}
	// HTTPRoutes a SecurityPolicy with extAuth targets (Envoy Gateway).
	for _, sp := range byKind[*securityPolicy](ms) {
		for _, ref := range sp.Spec.TargetRefs {
			for _, r := range byKind[*httpRoute](ms) {
				if r.Name == ref.Name && r.Namespace == sp.Namespace {
					hosts = append(hosts, r.Spec.Hostnames...)
				}
			}
		}
	}
	return hosts
}

// checkProtectedHosts: every dashboard an example protects may be returned to after sign-in
// (allowedRedirectDomains) and receives the session cookie (cookie.domain); otherwise the
// example signs users in and then strands them on "/" or loops.
func checkProtectedHosts(t *testing.T, dir string, cfg map[string]any) {
	t.Helper()
	hosts := protectedHosts(exampleManifests(t, dir))
	if len(hosts) == 0 {
		t.Fatalf("%s protects no host", dir)
	}
	allowed, _ := lookup(cfg, "allowedRedirectDomains")
	domain, _ := lookup(cfg, "cookie.domain")
	var list []string
	for _, a := range allowed.([]any) {
		list = append(list, a.(string))
	}
	for _, h := range hosts {
		if !slices.ContainsFunc(list, func(a string) bool { return hostMatches(h, a) }) {
			t.Errorf("host %s is not in allowedRedirectDomains %q", h, list)
		}
		if d, _ := domain.(string); d == "" || !hostMatches(h, d) {
			t.Errorf("host %s is outside cookie.domain %q", h, domain)
		}
	}
}

// hostMatches reports whether host is pattern, or under it when pattern starts with a dot.
func hostMatches(host, pattern string) bool {
	if strings.HasPrefix(pattern, ".") {
		return strings.HasSuffix(host, pattern)
	}
	return host == pattern
}

// TestIngressNginxAnnotations checks the ingress-nginx examples carry the annotations the
// docs promise: the signed-in user's token reaches the dashboard, cookies reach the browser,
// big Entra tokens fit, and an auth cache never shares one answer between sessions.
func TestIngressNginxAnnotations(t *testing.T) {
	const p = "nginx.ingress.kubernetes.io/"
	var checked int
	for _, dir := range exampleDirs(t) {
		for _, ing := range byKind[*networkingv1.Ingress](exampleManifests(t, dir)) {
			a := ing.Annotations
			if a[p+"auth-url"] == "" {
				continue
			}
			checked++
			want := map[string]string{
				p + "auth-url":               "http://tokengate.tokengate.svc.cluster.local/auth",
				p + "auth-signin":            "https://auth.example.com/oauth2/start?rd=https://$host$escaped_request_uri",
				p + "auth-response-headers":  "Authorization,X-Auth-Request-User,X-Auth-Request-Email,X-Auth-Request-Groups",
				p + "auth-always-set-cookie": "true",
				p + "proxy-buffer-size":      "16k",
			}
			for k, v := range want {
				if a[k] != v {
					t.Errorf("%s: Ingress %s: %s = %q; want %q", dir, ing.Name, k, a[k], v)
				}
			}
			if key, ok := a[p+"auth-cache-key"]; ok {
				if !strings.Contains(key, "$http_cookie") || !strings.Contains(key, "$host") {
					t.Errorf("%s: auth-cache-key %q must contain $http_cookie and $host, or sessions split into cookie chunks share cached answers", dir, key)
				}
				if !strings.Contains(a[p+"auth-cache-duration"], "401 0s") {
					t.Errorf("%s: auth-cache-duration %q must keep 401 out of the cache (401 0s)", dir, a[p+"auth-cache-duration"])
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no ingress-nginx example Ingress with auth-url found")
	}
}

// TestCaddyfile checks the Caddy example strips client-sent identity headers before
// forward_auth copies tokengate's, and, when caddy is installed, that Caddy accepts it.
func TestCaddyfile(t *testing.T) {
	path := filepath.Join(examplesDir, "caddy", "Caddyfile")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	strip := strings.Index(text, "request_header -X-Auth-Request-*")
	fa := strings.Index(text, "forward_auth tokengate.tokengate.svc.cluster.local:80")
	switch {
	case fa < 0:
		t.Error("no forward_auth to tokengate's Service")
	case strip < 0 || strip > fa:
		t.Error("client-sent X-Auth-Request-* headers are not removed before forward_auth")
	case !strings.Contains(text, "uri /auth") || !strings.Contains(text, "copy_headers Authorization"):
		t.Error("forward_auth must call /auth and copy Authorization")
	}
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy not installed; syntax not checked by Caddy itself")
	}
	cmd := exec.CommandContext(context.Background(), caddy, "adapt", "--adapter", "caddyfile", "--config", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("caddy adapt %s: %v\n%s", path, err, out)
	}
}
