package check

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// certDir is where the chart mounts the client certificate Secret (tokengate.certDir).
const certDir = "/var/run/secrets/tokengate-client-cert"

// TestChartOperatorKnobs renders values-parity.yaml, which sets every operator knob, and
// checks each lands where the operator expects it.
func TestChartOperatorKnobs(t *testing.T) {
	ms := renderAndDecode(t, "testdata/values-parity.yaml")
	d := one(t, byKind[*appsv1.Deployment](ms), "Deployment")
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]

	if d.Spec.RevisionHistoryLimit == nil || *d.Spec.RevisionHistoryLimit != 3 {
		t.Errorf("revisionHistoryLimit = %v; want 3", d.Spec.RevisionHistoryLimit)
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxSurge.IntValue() != 2 || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("strategy = %+v; want RollingUpdate maxSurge 2 maxUnavailable 0", d.Spec.Strategy)
	}
	if p := c.StartupProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.FailureThreshold != 20 || p.PeriodSeconds != 3 {
		t.Errorf("startupProbe = %+v; want /healthz every 3s, 20 failures", p)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].ConfigMapRef == nil || c.EnvFrom[0].ConfigMapRef.Name != "tokengate-otel" {
		t.Errorf("envFrom = %+v; want the ConfigMap tokengate-otel", c.EnvFrom)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["corp-ca"] != "/etc/ssl/corp" || mounts["client-certificate"] != certDir {
		t.Errorf("volumeMounts = %v; want corp-ca at /etc/ssl/corp and client-certificate at %s", mounts, certDir)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	if v, ok := vols["client-certificate"]; !ok || v.Secret == nil || v.Secret.SecretName != "tokengate-client-cert" {
		t.Errorf("client-certificate volume = %+v; want the Secret tokengate-client-cert", v)
	}
	if _, ok := vols["corp-ca"]; !ok {
		t.Error("extraVolumes corp-ca is not a pod volume")
	}

	cfg := renderedConfig(t, ms)
	for key, want := range map[string]string{
		"provider.clientAuth":            "certificate",
		"provider.certificate.certFile":  certDir + "/tls.crt",
		"provider.certificate.keyFile":   certDir + "/tls.key",
		"provider.certificate.algorithm": "PS256",
	} {
		if got, _ := lookup(cfg, key); got != want {
			t.Errorf("config.yaml %s = %v; want %s", key, got, want)
		}
	}
	if got, ok := lookup(cfg, "provider.clientSecretFile"); ok {
		t.Errorf("provider.clientSecretFile = %v; want none with certificate client auth", got)
	}

	np := one(t, byKind[*networkingv1.NetworkPolicy](ms), "NetworkPolicy")
	checkSelects(t, "NetworkPolicy", np.Spec.PodSelector.MatchLabels, d.Spec.Template.Labels)
	var egressPorts []int
	for _, e := range np.Spec.Egress {
		for _, p := range e.Ports {
			egressPorts = append(egressPorts, p.Port.IntValue())
		}
	}
	for _, want := range []int{53, 443, 6379} {
		if !slices.Contains(egressPorts, want) {
			t.Errorf("NetworkPolicy egress ports = %v; want %d (DNS, IdP/Graph, Redis)", egressPorts, want)
		}
	}
	if len(np.Spec.Ingress) != 2 {
		t.Errorf("NetworkPolicy has %d ingress rules; want 2 (ingress controller, metrics scraper)", len(np.Spec.Ingress))
	}

	rule := one(t, byKind[*prometheusRule](ms), "PrometheusRule")
	var alerts []string
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
		}
	}
	for _, want := range []string{"TokengateAuthErrors", "TokengateIdPFailures", "TokengateRefreshFailures", "TokengateSlowAuth", "TokengateRedisDown"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("PrometheusRule alerts = %v; want %s", alerts, want)
		}
	}
}

// TestChartOpenShiftSecurityContext: with the documented OpenShift values no fixed UID, GID
// or fsGroup is rendered (restricted-v2 would refuse the pod), and the rest of the hardening
// stays.
func TestChartOpenShiftSecurityContext(t *testing.T) {
	tests := []struct {
		name      string
		values    string
		wantFixed bool
	}{
		{name: "default pins the image's nonroot user", values: "testdata/values-minimal.yaml", wantFixed: true},
		{name: "openshift leaves the UID to the SCC", values: "testdata/values-openshift.yaml", wantFixed: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := one(t, byKind[*appsv1.Deployment](renderAndDecode(t, tt.values)), "Deployment")
			psc := d.Spec.Template.Spec.SecurityContext
			csc := d.Spec.Template.Spec.Containers[0].SecurityContext
			if psc == nil || csc == nil {
				t.Fatalf("securityContext pod=%v container=%v; want both", psc, csc)
			}
			fixed := psc.RunAsUser != nil || psc.RunAsGroup != nil || psc.FSGroup != nil || csc.RunAsUser != nil || csc.RunAsGroup != nil
			if fixed != tt.wantFixed {
				t.Errorf("fixed UID/GID rendered = %v; want %v", fixed, tt.wantFixed)
			}
			if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
				csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation || csc.Capabilities == nil || len(csc.Capabilities.Drop) == 0 {
				t.Errorf("hardening lost: pod %+v container %+v", psc, csc)
			}
		})
	}
}

// TestAuthHostIngressBufferSize: the auth host's Ingress raises ingress-nginx's proxy buffer,
// which the sign-in's Set-Cookie headers overflow; an operator's own annotation wins.
func TestAuthHostIngressBufferSize(t *testing.T) {
	const key = "nginx.ingress.kubernetes.io/proxy-buffer-size"
	tests := []struct {
		name string
		set  []string
		want string
	}{
		{name: "default", want: "16k"},
		{name: "value", set: []string{"ingress.proxyBufferSize=32k"}, want: "32k"},
		{name: "explicit annotation wins", set: []string{`ingress.annotations.nginx\.ingress\.kubernetes\.io/proxy-buffer-size=64k`}, want: "64k"},
		{name: "off", set: []string{"ingress.proxyBufferSize="}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := append([]string{"ingress.enabled=true", "ingress.host=auth.example.com"}, tt.set...)
			ms, err := decodeAll("render", mustRender(t, "testdata/values-minimal.yaml", set...))
			if err != nil {
				t.Fatal(err)
			}
			ing := one(t, byKind[*networkingv1.Ingress](ms), "Ingress")
			if got := ing.Annotations[key]; got != tt.want {
				t.Errorf("%s = %q; want %q", key, got, tt.want)
			}
		})
	}
}

// TestNotesNameDoctorAndAnnotations: NOTES.txt prints the doctor command for the release and
// the annotations of the ingress chosen in forwardAuth.mode.
func TestNotesNameDoctorAndAnnotations(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		want    []string
		notWant []string
	}{
		{name: "ingress-nginx", mode: "ingress-nginx", want: []string{"nginx.ingress.kubernetes.io/auth-url: \"http://tokengate.tokengate.svc.cluster.local/auth\""}, notWant: []string{"forward_auth"}},
		{name: "traefik", mode: "traefik", want: []string{"address: http://tokengate.tokengate.svc.cluster.local/auth", "_tokengate_15"}, notWant: []string{"nginx.ingress.kubernetes.io/auth-url"}},
		{name: "caddy", mode: "caddy", want: []string{"forward_auth tokengate.tokengate.svc.cluster.local:80"}, notWant: []string{"nginx.ingress.kubernetes.io/auth-url"}},
		{name: "envoy", mode: "envoy", want: []string{"path prefix /auth"}, notWant: []string{"nginx.ingress.kubernetes.io/auth-url", "forward_auth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			notes := renderNotes(t, "testdata/values-minimal.yaml", "config.forwardAuth.mode="+tt.mode)
			want := append([]string{"kubectl -n tokengate exec deploy/tokengate -- /tokengate doctor --config /etc/tokengate/config.yaml"}, tt.want...)
			for _, w := range want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(notes, w) {
					t.Errorf("NOTES contain %q for mode %s:\n%s", w, tt.mode, notes)
				}
			}
		})
	}
}

// renderNotes renders NOTES.txt, which `helm template` skips and `helm install --dry-run`
// renders only against a cluster: a copy of the chart gets a ConfigMap template that runs
// NOTES.txt through tpl.
func renderNotes(t *testing.T, values string, set ...string) string {
	t.Helper()
	chart := filepath.Join(t.TempDir(), "tokengate")
	if err := os.CopyFS(chart, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(chartDir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(chart, "notes.check"), string(notes))
	writeFile(t, filepath.Join(chart, "templates", "notes-check.yaml"),
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-check\ndata:\n  notes: {{ tpl (.Files.Get \"notes.check\") . | toJson }}\n")
	args := []string{"template", "tokengate", chart, "--namespace", "tokengate", "--values", values, "--show-only", "templates/notes-check.yaml"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := runHelm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := decodeAll("notes", out)
	if err != nil {
		t.Fatal(err)
	}
	return one(t, byKind[*corev1.ConfigMap](ms), "ConfigMap").Data["notes"]
}

// renderedConfig returns the config.yaml of the rendered ConfigMap as a tree.
func renderedConfig(t *testing.T, ms []manifest) map[string]any {
	t.Helper()
	cm := one(t, byKind[*corev1.ConfigMap](ms), "ConfigMap")
	cfg, err := loadYAMLMap([]byte(cm.Data["config.yaml"]))
	if err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	return cfg
}
