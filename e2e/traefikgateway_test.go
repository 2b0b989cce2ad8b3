package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/localkube"
)

// gatewayNamespacePrefix sets the Gateway API run's objects apart from TestTraefikCRD's in the
// one shared cluster: both install the example's Middleware, and each Traefik watches only
// its own namespaces, so neither serves the other's routes.
const gatewayNamespacePrefix = "gw-"

// TestTraefikGateway runs the README's Gateway API form for Traefik: Traefik's Gateway API
// provider reads the example's GatewayClass, Gateway and HTTPRoutes from a real API server
// with the Gateway API CRDs of the release Traefik v3.7.9 is built against, and the
// dashboard's HTTPRoute reaches the example's Middleware through an ExtensionRef filter,
// which Traefik's kubernetescrd provider serves. What the user sees is what TestTraefikCRD
// asserts for the IngressRoute form.
func TestTraefikGateway(t *testing.T) {
	t.Parallel()
	env := sharedKube(t)
	s := newKubeStack(t, env, kubeStackOptions{Proxy: "traefik-gateway", Tenant: aksTenant, Profiles: kubeProfiles})
	checkKubeSignIn(t, s)
}

// startTraefikGateway installs Traefik's CRDs, the Gateway API CRDs and the example's Gateway
// API objects into the shared cluster, and runs Traefik with its Gateway API and kubernetescrd
// providers, both reading the cluster as a service account and watching only the example's
// namespaces. It returns Traefik's port once ready(port) succeeds.
func startTraefikGateway(t *testing.T, env *kubeEnv, dir, tokengate, dashboard string, ready func(port int) error) int {
	t.Helper()
	bin := traefikBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	installTraefikCRDs(ctx, t, env.cluster)
	crds, err := localkube.GatewayAPICRDs(ctx)
	if err != nil {
		missing(t, err.Error())
	}
	mustf(t, env.cluster.InstallCRDs(ctx, crds...), "install the Gateway API CRDs")
	port := freePort(t)
	namespaces := installGatewayExample(ctx, t, env.cluster, port, map[string]string{"tokengate": tokengate, "headlamp": dashboard})
	token := traefikToken(ctx, t, env.cluster)

	// The kubernetescrd provider serves the Middleware the ExtensionRef filter names, and the
	// TraefikServices that stand for the example's Services (loopbackBackend).
	providers := append(traefikKubeProvider("kubernetesgateway", env, token, namespaces),
		traefikKubeProvider("kubernetescrd", env, token, namespaces)...)
	providers = append(providers, "--providers.kubernetescrd.allowExternalNameServices=true")
	runTraefik(t, dir, bin, port, loadTraefikDocs(t).EntryPoint, providers, ready)
	return port
}

// installGatewayExample applies the example's Middleware, GatewayClass, Gateway and
// HTTPRoutes, decoded from the files and changed only where a loopback test in a shared
// cluster must differ: namespaces (and the routes' parentRefs) get gatewayNamespacePrefix,
// the Middleware's forwardAuth.address is tokengate's loopback URL, the Gateway listener's
// port is Traefik's entry point port (Traefik maps a listener to the entry point listening
// on its port), hostnames name example.test instead of example.com, and each backendRef
// reaches its loopback backend through a TraefikService (loopbackBackend). Every other
// field, the ExtensionRef filter included, is as written. Around them it creates what a
// cluster has: the namespaces and the TLS Secrets the listeners name, holding the test
// certificate. It returns the namespaces.
func installGatewayExample(ctx context.Context, t *testing.T, c *localkube.Cluster, port int, backends map[string]string) []string {
	t.Helper()
	objs := readExampleObjects(t, traefikExampleDir+"middleware.yaml", traefikExampleDir+"gateway.yaml", traefikExampleDir+"httproute.yaml")
	var extra []map[string]any
	var namespaces []string
	for _, obj := range objs {
		meta := obj["metadata"].(map[string]any)
		ns, namespaced := meta["namespace"].(string)
		if namespaced {
			ns = gatewayNamespacePrefix + ns
			meta["namespace"] = ns
			if !slices.Contains(namespaces, ns) {
				namespaces = append(namespaces, ns)
			}
		}
		spec := obj["spec"].(map[string]any)
		switch obj["kind"] {
		case "Middleware":
			pointForwardAuth(spec, backends)
		case "Gateway":
			for _, l := range spec["listeners"].([]any) {
				listener := l.(map[string]any)
				listener["port"] = port
				listener["hostname"] = strings.ReplaceAll(listener["hostname"].(string), docsDomain, testDomain)
				for _, ref := range listener["tls"].(map[string]any)["certificateRefs"].([]any) {
					extra = append(extra, tlsSecret(t, ns, ref.(map[string]any)["name"].(string)))
				}
			}
		case "HTTPRoute":
			for _, p := range spec["parentRefs"].([]any) {
				parent := p.(map[string]any)
				parent["namespace"] = gatewayNamespacePrefix + parent["namespace"].(string)
			}
			hostnames := spec["hostnames"].([]any)
			for i, h := range hostnames {
				hostnames[i] = strings.ReplaceAll(h.(string), docsDomain, testDomain)
			}
			for _, r := range spec["rules"].([]any) {
				for _, b := range r.(map[string]any)["backendRefs"].([]any) {
					extra = append(extra, loopbackBackend(t, ns, b.(map[string]any), backends)...)
				}
			}
		}
	}
	applyExample(ctx, t, c, objs, extra)
	return namespaces
}

// loopbackBackend turns a backendRef to a Service into one to a TraefikService of the same
// name, and returns that TraefikService and the ExternalName Service naming localhost it
// balances to. A Service's endpoints cannot be on loopback here: Kubernetes refuses loopback
// addresses in EndpointSlices (and an FQDN endpoint needs a dotted name, which would need
// DNS), and Traefik's Gateway API provider refuses ExternalName Services ("type ExternalName
// is not supported for Kubernetes Service reference"). A TraefikService is the backend
// extension Traefik's Gateway API provider accepts (traefik.io, served by the kubernetescrd
// provider), so the route, its listener and its ExtensionRef filter are still resolved by
// the Gateway API provider; only the last hop to the loopback port goes through the
// kubernetescrd provider, as in TestTraefikCRD.
func loopbackBackend(t *testing.T, ns string, ref map[string]any, backends map[string]string) []map[string]any {
	t.Helper()
	name := ref["name"].(string)
	port := loopbackPort(t, backends, name)
	delete(ref, "port")
	ref["group"], ref["kind"] = "traefik.io", "TraefikService"
	return []map[string]any{
		externalNameService(ns, name, port),
		{
			"apiVersion": "traefik.io/v1alpha1", "kind": "TraefikService",
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec": map[string]any{"weighted": map[string]any{
				"services": []any{map[string]any{"name": name, "port": port}},
			}},
		},
	}
}
