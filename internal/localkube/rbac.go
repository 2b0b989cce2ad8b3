package localkube

import (
	"bytes"
	"context"
	"fmt"
	"text/template"
)

// TeamNamespace is the namespace the fixture gives the team group read access to.
const TeamNamespace = "team-b"

// RBACGroups are the group object ids the fixture binds, as in a cluster with Entra groups.
type RBACGroups struct {
	// Admins get cluster-admin on the whole cluster (platform-admins).
	Admins string
	// Team gets read access in TeamNamespace only (team-b).
	Team string
}

// rbacTemplate is the RBAC the tests and the demo apply; the README shows it. The team gets
// a Role written out here rather than the built-in view: view is an aggregated ClusterRole
// whose rules kube-controller-manager fills in, and this cluster runs without it, so view
// would grant nothing.
var rbacTemplate = template.Must(template.New("rbac").Parse(`apiVersion: v1
kind: Namespace
metadata:
  name: {{.Namespace}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: platform-admins
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: {{.Admins}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: dashboard-view
  namespace: {{.Namespace}}
rules:
- apiGroups: [""]
  resources: [pods, pods/log, services, endpoints, configmaps, persistentvolumeclaims, events]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments, replicasets, statefulsets, daemonsets]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: team-b-view
  namespace: {{.Namespace}}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: dashboard-view
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: {{.Team}}
`))

// RBACManifests renders the fixture as one multi-document YAML.
func RBACManifests(g RBACGroups) ([]byte, error) {
	var b bytes.Buffer
	err := rbacTemplate.Execute(&b, struct {
		RBACGroups
		Namespace string
	}{g, TeamNamespace})
	if err != nil {
		return nil, fmt.Errorf("render RBAC fixture: %w", err)
	}
	return b.Bytes(), nil
}

// ApplyRBAC applies the fixture.
func (c *Cluster) ApplyRBAC(ctx context.Context, g RBACGroups) error {
	docs, err := RBACManifests(g)
	if err != nil {
		return err
	}
	for _, doc := range SplitYAML(docs) {
		if err := c.Apply(ctx, doc, ApplyOptions{}); err != nil {
			return fmt.Errorf("RBAC fixture: %w", err)
		}
	}
	return nil
}
