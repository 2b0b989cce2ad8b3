package localkube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// crdServeTimeout bounds the wait for one applied CRD version to be served.
const crdServeTimeout = time.Minute

// crdHead is the part of a CustomResourceDefinition that says what it serves.
type crdHead struct {
	Kind string `yaml:"kind"`
	Spec struct {
		Group string `yaml:"group"`
		Names struct {
			Kind string `yaml:"kind"`
		} `yaml:"names"`
		Versions []struct {
			Name   string `yaml:"name"`
			Served bool   `yaml:"served"`
		} `yaml:"versions"`
	} `yaml:"spec"`
}

// InstallCRDs applies each CustomResourceDefinition and waits until every version it marks
// served is served (a version with served: false, such as Gateway API's old TLSRoute
// versions, never is). Any other kind of manifest is an error.
func (c *Cluster) InstallCRDs(ctx context.Context, crds ...[]byte) error {
	for _, doc := range crds {
		var crd crdHead
		if err := yaml.Unmarshal(doc, &crd); err != nil {
			return fmt.Errorf("install CRD: decode: %w", err)
		}
		if crd.Kind != "CustomResourceDefinition" {
			return fmt.Errorf("install CRD: got a %q manifest", crd.Kind)
		}
		if err := c.Apply(ctx, doc, ApplyOptions{}); err != nil {
			return fmt.Errorf("install CRD %s %s: %w", crd.Spec.Group, crd.Spec.Names.Kind, err)
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			if err := c.WaitServed(ctx, crd.Spec.Group+"/"+v.Name, crd.Spec.Names.Kind, crdServeTimeout); err != nil {
				return fmt.Errorf("install CRD: %w", err)
			}
		}
	}
	return nil
}

// gatewayAPIModule is the module whose CRDs GatewayAPICRDs reads; tools/gateway-api pins its
// version (the one Traefik v3.7.9 is built against).
const gatewayAPIModule = "sigs.k8s.io/gateway-api"

// GatewayAPICRDs reads the standard-channel CRDs of the Gateway API release tools/gateway-api
// pins, from the Go module cache: go mod download fetches the module through the module proxy
// when it is not cached and checks it against tools/gateway-api/go.sum, so no copy of the
// CRDs lives in the repository and none can drift from the pinned release. The channel's
// other manifest (a ValidatingAdmissionPolicy guarding upgrades) is left out.
func GatewayAPICRDs(ctx context.Context) ([][]byte, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, fmt.Errorf("gateway API CRDs: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", gatewayAPIModule)
	cmd.Dir = filepath.Join(root, "tools", "gateway-api")
	// readonly: the pin and its checksum are go.mod and go.sum as committed, never updated.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var mod struct{ Version, Dir, Error string }
	if jerr := json.Unmarshal(out, &mod); err != nil || jerr != nil || mod.Error != "" || mod.Dir == "" {
		return nil, fmt.Errorf("gateway API CRDs: go mod download %s in tools/gateway-api: %v %s %s", gatewayAPIModule, err, mod.Error, bytes.TrimSpace(stderr.Bytes()))
	}
	files, err := filepath.Glob(filepath.Join(mod.Dir, "config", "crd", "standard", "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("gateway API CRDs: no config/crd/standard/*.yaml in %s (%v)", mod.Dir, err)
	}
	var crds [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("gateway API CRDs: %w", err)
		}
		for _, doc := range SplitYAML(b) {
			var head crdHead
			if err := yaml.Unmarshal(doc, &head); err != nil {
				return nil, fmt.Errorf("gateway API CRDs: decode %s: %w", f, err)
			}
			if head.Kind == "CustomResourceDefinition" {
				crds = append(crds, doc)
			}
		}
	}
	if len(crds) == 0 {
		return nil, fmt.Errorf("gateway API CRDs: %s %s holds no CustomResourceDefinition", gatewayAPIModule, mod.Version)
	}
	return crds, nil
}
