package localkube

import (
	"context"
	"fmt"
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
