package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tokengate/tokengate/internal/localkube"
)

// apiServer is the real kube-apiserver the manifests are applied to, started by the first test
// that needs one and stopped by TestMain.
var apiServer struct {
	once    sync.Once
	cluster *localkube.Cluster
	dir     string
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if c := apiServer.cluster; c != nil {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop kube-apiserver: %v\n", err)
		}
	}
	if apiServer.dir != "" {
		os.RemoveAll(apiServer.dir)
	}
	os.Exit(code)
}

// sharedCluster returns the package's cluster. Without the binaries the test is skipped with
// the command that builds them, or fails when E2E=required (CI).
func sharedCluster(t *testing.T) *localkube.Cluster {
	t.Helper()
	bins, err := localkube.FindBinaries()
	if err != nil {
		if os.Getenv("E2E") == "required" {
			t.Fatalf("%v; E2E=required, so this fails", err)
		}
		t.Skipf("%v; skipping", err)
	}
	apiServer.once.Do(func() {
		if apiServer.dir, apiServer.err = os.MkdirTemp("", "tokengate-check-kube-"); apiServer.err != nil {
			return
		}
		ca, err := localkube.NewCA(time.Now)
		if err != nil {
			apiServer.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		apiServer.cluster, apiServer.err = localkube.Start(ctx, localkube.Config{Binaries: bins, Dir: apiServer.dir, CA: ca})
		if apiServer.err == nil {
			apiServer.err = prepareCluster(ctx, apiServer.cluster)
		}
	})
	if apiServer.err != nil {
		t.Fatalf("kube-apiserver: %v", apiServer.err)
	}
	return apiServer.cluster
}

// exampleNamespaces are the namespaces the chart and the examples install into; admission
// refuses an object, even in a dry run, whose namespace does not exist.
var exampleNamespaces = []string{"tokengate", "headlamp", "kubernetes-dashboard", "traefik"}

// prepareCluster creates the namespaces and installs Traefik's CRDs (traefikCRDs) and the
// Gateway API's standard channel at the release Traefik v3.7.9 is built against
// (tools/gateway-api), so that the examples' Traefik and Gateway API objects are checked by
// the API server too.
func prepareCluster(ctx context.Context, c *localkube.Cluster) error {
	for _, ns := range exampleNamespaces {
		if err := c.Apply(ctx, []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+ns+"\n"), localkube.ApplyOptions{}); err != nil {
			return err
		}
	}
	var crds [][]byte
	for _, file := range traefikCRDs {
		crd, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		crds = append(crds, crd)
	}
	gatewayAPI, err := localkube.GatewayAPICRDs(ctx)
	if err != nil {
		return err
	}
	return c.InstallCRDs(ctx, append(crds, gatewayAPI...)...)
}

// TestAPIServerAdmitsChart applies the chart rendered with each values file (testdata/ and the
// examples'), and every example manifest, to a real API server with server-side dry-run: the
// server decodes strictly (an unknown field is an error), defaults, validates and runs
// admission, which says more than decoding into the Go types. Traefik's and the Gateway
// API's CRDs are installed; Envoy Gateway's SecurityPolicy and the Prometheus Operator's
// kinds are left to the strict decoding of the other tests.
func TestAPIServerAdmitsChart(t *testing.T) {
	c := sharedCluster(t)
	values, err := filepath.Glob("testdata/values-*.yaml")
	if err != nil || len(values) == 0 {
		t.Fatalf("no values files in testdata (%v)", err)
	}
	var sources []exampleFile
	for _, v := range values {
		sources = append(sources, exampleFile{v, "tokengate-values"})
	}
	for _, f := range exampleFiles(t) {
		if f.kind != "chart-values" {
			sources = append(sources, f)
		}
	}
	for _, src := range sources {
		t.Run(src.path, func(t *testing.T) {
			data, err := os.ReadFile(src.path)
			if err != nil {
				t.Fatal(err)
			}
			if src.kind == "tokengate-values" {
				data = mustRender(t, src.path)
			}
			applied := 0
			for _, doc := range localkube.SplitYAML(data) {
				if !servedKind(t, doc) {
					continue
				}
				if err := c.Apply(t.Context(), doc, localkube.ApplyOptions{DryRun: true, Namespace: "tokengate"}); err != nil {
					t.Errorf("the API server refuses it: %v", err)
				}
				applied++
			}
			if applied == 0 && src.kind == "tokengate-values" {
				t.Errorf("the chart rendered no object the cluster serves")
			}
		})
	}
}

// servedKind reports whether the cluster serves a manifest's kind: kube-apiserver's own (the
// core group, groups named *.k8s.io or without a dot such as apps and policy), the Gateway
// API's (gateway.networking.k8s.io, whose CRDs prepareCluster installs) and Traefik's.
// Envoy Gateway's and the Prometheus Operator's objects are left to the strict decoding of
// the other tests.
func servedKind(t *testing.T, doc []byte) bool {
	t.Helper()
	var head struct {
		APIVersion string `json:"apiVersion"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		t.Fatalf("manifest head: %v", err)
	}
	group, _, found := strings.Cut(head.APIVersion, "/")
	return !found || !strings.Contains(group, ".") || strings.HasSuffix(group, ".k8s.io") || group == "traefik.io"
}
