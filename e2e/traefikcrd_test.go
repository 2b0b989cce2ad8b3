package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/localkube"
	"gopkg.in/yaml.v3"
)

// traefikCRDDir holds Traefik v3.7.9's CRDs, all ten: its kubernetescrd provider starts an
// informer for every traefik.io kind and waits for each to sync before it serves any route
// (pkg/provider/kubernetes/crd/client.go, WatchAll), so a cluster missing one never routes.
const traefikCRDDir = "../deploy/check/testdata/traefik-crds"

// traefikSA is the service account Traefik reads the cluster as.
const traefikSA, traefikSANamespace = "traefik", "traefik"

// TestTraefikCRD runs the README's Kubernetes form: Traefik's kubernetescrd provider reads
// the example's Middleware and IngressRoutes from a real API server. A signed-out page
// navigation is redirected by tokengate to sign in; a signed-in one reaches the dashboard,
// which got the AKS access token and is answered by the API server as the user.
func TestTraefikCRD(t *testing.T) {
	t.Parallel()
	env := sharedKube(t)
	s := newKubeStack(t, env, kubeStackOptions{Proxy: "traefik-crd", Tenant: aksTenant, Profiles: kubeProfiles})
	checkKubeSignIn(t, s)
}

// checkKubeSignIn is what a stack routing the example's one dashboard (headlamp) must show:
// a signed-out page navigation gets tokengate's redirect to sign in, relayed by the proxy;
// signed in, the dashboard's page loads, the dashboard received the AKS access token, and
// the API server answers whoami as the user.
func checkKubeSignIn(t *testing.T, s *kubeStack) {
	t.Helper()
	b := s.newBrowser()
	page, calls := s.fetch(t, b, headlamp)
	if len(calls) != 1 || page.Status != http.StatusFound || !strings.Contains(page.Header.Get("Location"), "/oauth2/start?rd=") {
		t.Fatalf("signed out: /auth %v, browser %d Location %q; want /auth once, 302 to /oauth2/start", calls, page.Status, page.Header.Get("Location"))
	}

	page = s.signIn(b, https(headlamp, "/"), "alice")
	if got := string(page.Body); got != "kube dashboard ok" {
		t.Errorf("signed in: page %q; want the dashboard's", snippet(page.Body))
	}
	who, status := whoAmI(t, b, headlamp)
	if status != http.StatusCreated || who.Username != "alice@contoso.example" {
		t.Errorf("whoami through Traefik: got %d %q; want 201 alice@contoso.example", status, who.Username)
	}
	toks := s.dashboard.Tokens()
	if len(toks) != 1 || jwtClaim(t, toks[0], "aud") != localkube.AKSServerAppID {
		t.Fatalf("forwarded tokens: got %d with audiences %v; want one AKS token (aud %s)", len(toks), audiences(t, toks), localkube.AKSServerAppID)
	}
}

// startTraefikCRD installs Traefik's CRDs and the example's objects into the shared cluster
// and runs Traefik with only the kubernetescrd provider, reading them as a service account.
// It returns Traefik's port once ready(port) succeeds.
func startTraefikCRD(t *testing.T, env *kubeEnv, dir, tokengate, dashboard string, ready func(port int) error) int {
	t.Helper()
	bin := traefikBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	installTraefikCRDs(ctx, t, env.cluster)
	installTraefikExample(ctx, t, env.cluster, map[string]string{"tokengate": tokengate, "headlamp": dashboard})
	token := traefikToken(ctx, t, env.cluster)

	port := freePort(t)
	providers := append(traefikKubeProvider("kubernetescrd", env, token, nil),
		// Kubernetes refuses loopback addresses in EndpointSlices, so the example's Services
		// are ExternalName Services naming localhost.
		"--providers.kubernetescrd.allowExternalNameServices=true")
	runTraefik(t, dir, bin, port, loadTraefikDocs(t).EntryPoint, providers, ready)
	return port
}

// traefikKubeProvider are the flags that make one of Traefik's Kubernetes providers read the
// shared cluster as the service account whose token is given, watching only namespaces when
// any are named.
func traefikKubeProvider(provider string, env *kubeEnv, token string, namespaces []string) []string {
	p := "--providers." + provider
	args := []string{
		p + "=true",
		p + ".endpoint=" + env.cluster.URL,
		p + ".token=" + token, // a short-lived test token on the command line
		p + ".certAuthFilePath=" + env.caFile,
	}
	if len(namespaces) > 0 {
		args = append(args, p+".namespaces="+strings.Join(namespaces, ","))
	}
	return args
}

// installTraefikCRDs applies every CRD of traefikCRDDir and waits until each kind is served.
func installTraefikCRDs(ctx context.Context, t *testing.T, c *localkube.Cluster) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(traefikCRDDir, "*.yaml"))
	mustf(t, err, "list %s", traefikCRDDir)
	var crds [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		mustf(t, err, "read %s", f)
		crds = append(crds, b)
	}
	mustf(t, c.InstallCRDs(ctx, crds...), "install Traefik's CRDs from %s", traefikCRDDir)
}

// installTraefikExample applies the example's Middleware and IngressRoutes, decoded from the
// files and changed only where a loopback test must differ: the Middleware's
// forwardAuth.address is tokengate's loopback URL, each route's service port is the real
// loopback port of the Service it names (backends maps a Service name to host:port), and the
// Host rules name example.test, the domain of tokengate's configuration, instead of
// example.com. Every other field is as written. Around them it creates what a cluster has:
// the namespaces, an ExternalName Service per backend and the TLS Secrets the IngressRoutes
// name, holding the test certificate.
func installTraefikExample(ctx context.Context, t *testing.T, c *localkube.Cluster, backends map[string]string) {
	t.Helper()
	objs := readExampleObjects(t, traefikExampleDir+"middleware.yaml", traefikExampleDir+"ingressroute.yaml")
	var extra []map[string]any
	for _, obj := range objs {
		ns := obj["metadata"].(map[string]any)["namespace"].(string)
		spec := obj["spec"].(map[string]any)
		switch obj["kind"] {
		case "Middleware":
			pointForwardAuth(spec, backends)
		case "IngressRoute":
			for _, r := range spec["routes"].([]any) {
				route := r.(map[string]any)
				route["match"] = strings.ReplaceAll(route["match"].(string), docsDomain, testDomain)
				for _, sv := range route["services"].([]any) {
					svc := sv.(map[string]any)
					name := svc["name"].(string)
					port := loopbackPort(t, backends, name)
					svc["port"] = port
					extra = append(extra, externalNameService(ns, name, port))
				}
			}
			if tls, ok := spec["tls"].(map[string]any); ok {
				extra = append(extra, tlsSecret(t, ns, tls["secretName"].(string)))
			}
		}
	}
	applyExample(ctx, t, c, objs, extra)
}

// pointForwardAuth points a Middleware's forwardAuth at tokengate's loopback address.
func pointForwardAuth(spec map[string]any, backends map[string]string) {
	spec["forwardAuth"].(map[string]any)["address"] = "http://" + backends["tokengate"] + "/auth"
}

// applyExample creates the namespaces the example's objects name, then applies what the
// cluster needs around them (extra), then the objects.
func applyExample(ctx context.Context, t *testing.T, c *localkube.Cluster, objs, extra []map[string]any) {
	t.Helper()
	namespaces := map[string]bool{}
	for _, obj := range objs {
		if ns, ok := obj["metadata"].(map[string]any)["namespace"].(string); ok {
			namespaces[ns] = true
		}
	}
	for ns := range namespaces {
		apply(ctx, t, c, map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}})
	}
	for _, obj := range append(extra, objs...) {
		apply(ctx, t, c, obj)
	}
}

// readExampleObjects decodes every YAML document of the files as generic objects.
func readExampleObjects(t *testing.T, files ...string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, f := range files {
		b, err := os.ReadFile(f)
		mustf(t, err, "read %s", f)
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var obj map[string]any
			err := dec.Decode(&obj)
			if errors.Is(err, io.EOF) {
				break
			}
			mustf(t, err, "decode %s", f)
			objs = append(objs, obj)
		}
	}
	return objs
}

// loopbackPort is the port of the backend a Service of the example stands for.
func loopbackPort(t *testing.T, backends map[string]string, service string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(backends[service])
	mustf(t, err, "backend of Service %q", service)
	port, err := strconv.Atoi(p)
	mustf(t, err, "port of Service %q", service)
	return port
}

// externalNameService stands for a backend on loopback: Traefik connects to localhost:port.
func externalNameService(ns, name string, port int) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"type": "ExternalName", "externalName": "localhost",
			"ports": []any{map[string]any{"name": "http", "port": port}}},
	}
}

// tlsSecret is a kubernetes.io/tls Secret holding the *.example.test test certificate.
func tlsSecret(t *testing.T, ns, name string) map[string]any {
	t.Helper()
	cert, err := os.ReadFile(testPKI.CertFile)
	mustf(t, err, "read test certificate")
	key, err := os.ReadFile(testPKI.KeyFile)
	mustf(t, err, "read test key")
	return map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"data": map[string]any{
			"tls.crt": base64.StdEncoding.EncodeToString(cert),
			"tls.key": base64.StdEncoding.EncodeToString(key),
		},
	}
}

// traefikToken creates Traefik's service account, binds it to cluster-admin, and returns a
// token for it from the TokenRequest API.
func traefikToken(ctx context.Context, t *testing.T, c *localkube.Cluster) string {
	t.Helper()
	apply(ctx, t, c, map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": traefikSANamespace}})
	apply(ctx, t, c, map[string]any{"apiVersion": "v1", "kind": "ServiceAccount",
		"metadata": map[string]any{"name": traefikSA, "namespace": traefikSANamespace}})
	apply(ctx, t, c, map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
		"metadata": map[string]any{"name": "e2e-traefik"},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": traefikSA, "namespace": traefikSANamespace}},
	})
	path := fmt.Sprintf("/api/v1/namespaces/%s/serviceaccounts/%s/token", traefikSANamespace, traefikSA)
	body := []byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}`)
	resp, err := c.AsAdmin(ctx, http.MethodPost, path, "application/json", body)
	mustf(t, err, "TokenRequest for %s/%s", traefikSANamespace, traefikSA)
	if resp.Status != http.StatusCreated {
		t.Fatalf("TokenRequest for %s/%s: got %d; want 201\n%s", traefikSANamespace, traefikSA, resp.Status, snippet(resp.Body))
	}
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	mustf(t, json.Unmarshal(resp.Body, &tr), "decode TokenRequest")
	if tr.Status.Token == "" {
		t.Fatal("TokenRequest answered no token")
	}
	return tr.Status.Token
}

// apply server-side applies obj, as JSON, to the cluster.
func apply(ctx context.Context, t *testing.T, c *localkube.Cluster, obj map[string]any) {
	t.Helper()
	b, err := json.Marshal(obj)
	mustf(t, err, "encode %v %v", obj["kind"], obj["metadata"])
	mustf(t, c.Apply(ctx, b, localkube.ApplyOptions{}), "apply %v %v", obj["kind"], obj["metadata"])
}
