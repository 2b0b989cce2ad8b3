package check

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// secretDir is where the chart mounts the Secret (tokengate.secretDir in _helpers.tpl).
const secretDir = "/var/run/secrets/tokengate"

// chartWant is what one values file must render to.
type chartWant struct {
	replicas         int32
	pdb              bool
	secretName       string
	chartSecret      bool   // the chart creates the Secret from values
	clientSecretKey  string // "": no client secret (workload identity)
	cookieSecretKeys []string
	workloadIdentity bool
	ingressHost      string // "" when no Ingress
	serviceMonitor   bool
	metricsOnHTTP    bool // metricsPort 0: /metrics on the http port, no metrics port
}

// TestChartRendersStrictly renders the chart for every values file in testdata/, decodes every
// document strictly and checks the settings the chart promises.
func TestChartRendersStrictly(t *testing.T) {
	tests := []struct {
		name   string
		values string
		want   chartWant
	}{
		{
			name:   "minimal with chart-created secret",
			values: "testdata/values-minimal.yaml",
			want: chartWant{replicas: 2, pdb: true, secretName: "tokengate-secret", chartSecret: true,
				clientSecretKey: "client-secret", cookieSecretKeys: []string{"cookie-secret"}},
		},
		{
			name:   "existing secret with custom keys and two cookie keys",
			values: "testdata/values-existing-secret.yaml",
			want: chartWant{replicas: 2, pdb: true, secretName: "tokengate-creds",
				clientSecretKey: "entra-client-secret", cookieSecretKeys: []string{"cookie-key-new", "cookie-key-old"}},
		},
		{
			name:   "ingress, service monitor and workload identity",
			values: "testdata/values-full.yaml",
			want: chartWant{replicas: 3, pdb: true, secretName: "tokengate",
				cookieSecretKeys: []string{"cookie-secret"},
				workloadIdentity: true, ingressHost: "auth.example.com", serviceMonitor: true},
		},
		{
			name:   "workload identity with a chart-created secret holds no client secret",
			values: "testdata/values-workload-identity.yaml",
			want: chartWant{replicas: 2, pdb: true, secretName: "tokengate-secret", chartSecret: true,
				cookieSecretKeys: []string{"cookie-secret"}, workloadIdentity: true},
		},
		{
			name:   "single replica has no disruption budget; metrics on the http port",
			values: "testdata/values-single-replica.yaml",
			want: chartWant{replicas: 1, pdb: false, secretName: "tokengate",
				clientSecretKey: "client-secret", cookieSecretKeys: []string{"cookie-secret"}, metricsOnHTTP: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := renderAndDecode(t, tt.values)
			checkRendered(t, ms, tt.want)
		})
	}
}

// renderAndDecode renders the chart with a values file and decodes every document strictly.
func renderAndDecode(t *testing.T, values string) []manifest {
	t.Helper()
	out := mustRender(t, values)
	ms, err := decodeAll(filepath.Base(values), out)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// one returns the only object of a kind, failing when there is not exactly one.
func one[T interface{ GetName() string }](t *testing.T, items []T, kind string) T {
	t.Helper()
	if len(items) != 1 {
		t.Fatalf("rendered %d %s objects; want 1", len(items), kind)
	}
	return items[0]
}

// checkRendered checks a rendered release against want.
func checkRendered(t *testing.T, ms []manifest, want chartWant) {
	t.Helper()
	deploy := one(t, byKind[*appsv1.Deployment](ms), "Deployment")
	checkDeployment(t, deploy, want)
	checkService(t, one(t, byKind[*corev1.Service](ms), "Service"), deploy, want)
	checkConfigMap(t, one(t, byKind[*corev1.ConfigMap](ms), "ConfigMap"), want)
	checkSecret(t, byKind[*corev1.Secret](ms), byKind[*corev1.ConfigMap](ms), want)

	sa := one(t, byKind[*corev1.ServiceAccount](ms), "ServiceAccount")
	if got := sa.Annotations["azure.workload.identity/client-id"] != ""; got != want.workloadIdentity {
		t.Errorf("service account has workload-identity client-id annotation = %v; want %v", got, want.workloadIdentity)
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken != want.workloadIdentity {
		t.Errorf("service account automountServiceAccountToken = %v; want %v", sa.AutomountServiceAccountToken, want.workloadIdentity)
	}

	pdbs := byKind[*policyv1.PodDisruptionBudget](ms)
	if got := len(pdbs) == 1; got != want.pdb {
		t.Errorf("PodDisruptionBudget rendered = %v; want %v", got, want.pdb)
	}
	for _, pdb := range pdbs {
		if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
			t.Errorf("PodDisruptionBudget minAvailable = %v; want 1", pdb.Spec.MinAvailable)
		}
		checkSelects(t, "PodDisruptionBudget", pdb.Spec.Selector.MatchLabels, deploy.Spec.Template.Labels)
	}

	ingresses := byKind[*networkingv1.Ingress](ms)
	switch {
	case want.ingressHost == "" && len(ingresses) != 0:
		t.Errorf("rendered %d Ingress objects; want none", len(ingresses))
	case want.ingressHost != "":
		ing := one(t, ingresses, "Ingress")
		if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != want.ingressHost {
			t.Errorf("Ingress rules = %+v; want one rule for host %s", ing.Spec.Rules, want.ingressHost)
		}
	}
	if got := len(byKind[*serviceMonitor](ms)) == 1; got != want.serviceMonitor {
		t.Errorf("ServiceMonitor rendered = %v; want %v", got, want.serviceMonitor)
	}
	for _, sm := range byKind[*serviceMonitor](ms) {
		if e := sm.Spec.Endpoints[0]; e.Port != want.metricsPortName() || e.Path != "/metrics" {
			t.Errorf("ServiceMonitor endpoint = %s%s; want %s/metrics", e.Port, e.Path, want.metricsPortName())
		}
	}
}

// checkSelects fails unless every selector label is on the pods.
func checkSelects(t *testing.T, what string, selector, podLabels map[string]string) {
	t.Helper()
	if len(selector) == 0 {
		t.Errorf("%s selector is empty", what)
	}
	for k, v := range selector {
		if podLabels[k] != v {
			t.Errorf("%s selects %s=%s; the pods have %q", what, k, v, podLabels[k])
		}
	}
}

// metricsPortName is the named port /metrics is scraped on.
func (w chartWant) metricsPortName() string {
	if w.metricsOnHTTP {
		return "http"
	}
	return "metrics"
}

// checkService: ClusterIP, port 80 named http to the pods' named port http, and, unless
// metrics share the http port, port 9090 named metrics to the pods' metrics port.
func checkService(t *testing.T, svc *corev1.Service, deploy *appsv1.Deployment, want chartWant) {
	t.Helper()
	if svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("Service type = %s; want ClusterIP", svc.Spec.Type)
	}
	wantPorts := 2
	if want.metricsOnHTTP {
		wantPorts = 1
	}
	if len(svc.Spec.Ports) != wantPorts {
		t.Fatalf("Service has %d ports; want %d", len(svc.Spec.Ports), wantPorts)
	}
	p := svc.Spec.Ports[0]
	if p.Name != "http" || p.Port != 80 || p.TargetPort.StrVal != "http" {
		t.Errorf("Service port = %s %d -> %s; want http 80 -> http", p.Name, p.Port, p.TargetPort.String())
	}
	if !want.metricsOnHTTP {
		if m := svc.Spec.Ports[1]; m.Name != "metrics" || m.Port != 9090 || m.TargetPort.StrVal != "metrics" {
			t.Errorf("Service metrics port = %s %d -> %s; want metrics 9090 -> metrics", m.Name, m.Port, m.TargetPort.String())
		}
	}
	checkSelects(t, "Service", svc.Spec.Selector, deploy.Spec.Template.Labels)
}

// checkConfigMap: config.yaml has only documented keys, no secret values, and points at the
// mounted Secret's files.
func checkConfigMap(t *testing.T, cm *corev1.ConfigMap, want chartWant) {
	t.Helper()
	raw, ok := cm.Data["config.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no config.yaml", cm.Name)
	}
	cfg, err := loadYAMLMap([]byte(raw))
	if err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	known, err := knownConfigKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range unknownConfigKeys(cfg, known) {
		t.Errorf("config.yaml: %s", p)
	}
	if leaked := leakedSecretKeys(cfg); len(leaked) > 0 {
		t.Errorf("config.yaml sets secret keys %v; secrets belong in the Secret", leaked)
	}
	if got, _ := lookup(cfg, "listen"); got != ":4180" {
		t.Errorf("config.yaml listen = %v; want :4180 (the container port)", got)
	}
	if want.clientSecretKey == "" {
		// Workload identity: the federated token replaces the secret.
		if got, ok := lookup(cfg, "provider.clientSecretFile"); ok {
			t.Errorf("provider.clientSecretFile = %v; want none with workload identity", got)
		}
		if got, _ := lookup(cfg, "provider.clientAuth"); got != "workloadIdentity" {
			t.Errorf("provider.clientAuth = %v; want workloadIdentity", got)
		}
	} else if got, _ := lookup(cfg, "provider.clientSecretFile"); got != secretDir+"/"+want.clientSecretKey {
		t.Errorf("provider.clientSecretFile = %v; want %s/%s", got, secretDir, want.clientSecretKey)
	}
	files, _ := lookup(cfg, "cookie.secretFiles")
	var gotFiles []string
	list, _ := files.([]any)
	for _, f := range list {
		s, _ := f.(string)
		gotFiles = append(gotFiles, s)
	}
	var wantFiles []string
	for _, k := range want.cookieSecretKeys {
		wantFiles = append(wantFiles, secretDir+"/"+k)
	}
	if !slices.Equal(gotFiles, wantFiles) {
		t.Errorf("cookie.secretFiles = %q; want %q", gotFiles, wantFiles)
	}
}

// checkSecret: the chart creates a Secret exactly when no existingSecret is named, holding the
// keys config.yaml points at, and no secret value appears in any ConfigMap.
func checkSecret(t *testing.T, secrets []*corev1.Secret, cms []*corev1.ConfigMap, want chartWant) {
	t.Helper()
	if !want.chartSecret {
		if len(secrets) != 0 {
			t.Errorf("rendered %d Secrets with an existingSecret; want none", len(secrets))
		}
		return
	}
	s := one(t, secrets, "Secret")
	if s.Name != want.secretName {
		t.Errorf("Secret name = %s; want %s", s.Name, want.secretName)
	}
	keys := want.cookieSecretKeys
	if want.clientSecretKey != "" {
		keys = append([]string{want.clientSecretKey}, keys...)
	}
	if len(s.Data) != len(keys) {
		t.Errorf("Secret holds %d keys; want exactly %v", len(s.Data), keys)
	}
	for _, key := range keys {
		value, ok := s.Data[key]
		if !ok || len(value) == 0 {
			t.Errorf("Secret lacks key %s", key)
			continue
		}
		for _, cm := range cms {
			for name, text := range cm.Data {
				if strings.Contains(text, string(value)) {
					t.Errorf("ConfigMap %s/%s contains the value of secret key %s", cm.Name, name, key)
				}
			}
		}
	}
}
