package check

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// checkDeployment checks the pod's hardening, probes, volumes and workload-identity wiring.
func checkDeployment(t *testing.T, d *appsv1.Deployment, want chartWant) {
	t.Helper()
	if d.Spec.Replicas == nil || *d.Spec.Replicas != want.replicas {
		t.Errorf("replicas = %v; want %d", d.Spec.Replicas, want.replicas)
	}
	checkSelects(t, "Deployment", d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	pod := d.Spec.Template
	if pod.Annotations["checksum/config"] == "" {
		t.Error("pod template lacks the checksum/config annotation that rolls pods on config changes")
	}
	if got := pod.Labels["azure.workload.identity/use"] == "true"; got != want.workloadIdentity {
		t.Errorf("pod label azure.workload.identity/use=true present = %v; want %v", got, want.workloadIdentity)
	}
	spec := pod.Spec
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken != want.workloadIdentity {
		t.Errorf("automountServiceAccountToken = %v; want %v", spec.AutomountServiceAccountToken, want.workloadIdentity)
	}
	checkPodSecurity(t, spec)
	if len(spec.Containers) != 1 {
		t.Fatalf("pod has %d containers; want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	checkContainer(t, c)
	checkAntiAffinity(t, spec)
	checkSecretVolume(t, spec, c, want.secretName)
}

// checkPodSecurity: non-root 65532 and the runtime's default seccomp profile.
func checkPodSecurity(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	sc := spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
		t.Errorf("pod securityContext = %+v; want runAsNonRoot and runAsUser 65532", sc)
	}
	if sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod seccompProfile is not RuntimeDefault")
	}
}

// checkContainer: hardening, resources, port http 4180, and the probes on it.
func checkContainer(t *testing.T, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("container has no securityContext")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("container root filesystem is writable")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("container allows privilege escalation")
	case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL":
		t.Errorf("container capabilities = %+v; want drop ALL", sc.Capabilities)
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("container may run as root")
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("container seccompProfile is not RuntimeDefault")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("container resources = %+v; want cpu/memory requests and a memory limit", c.Resources)
	}
	if len(c.Ports) == 0 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 4180 {
		t.Errorf("container ports = %+v; want http 4180 first", c.Ports)
	}
	for _, p := range c.Ports[1:] {
		if p.Name != "metrics" || p.ContainerPort != 9090 {
			t.Errorf("container port %+v; want only metrics 9090 besides http", p)
		}
	}
	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{name: "liveness", probe: c.LivenessProbe, path: "/healthz"},
		{name: "readiness", probe: c.ReadinessProbe, path: "/readyz"},
	}
	for _, p := range probes {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe missing", p.name)
			continue
		}
		if g := p.probe.HTTPGet; g.Path != p.path || g.Port.StrVal != "http" {
			t.Errorf("%s probe = GET %s on %s; want GET %s on http", p.name, g.Path, g.Port.String(), p.path)
		}
	}
}

// checkAntiAffinity: replicas prefer different nodes (soft, so small clusters still schedule).
func checkAntiAffinity(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	a := spec.Affinity
	if a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		t.Fatal("no preferred pod anti-affinity")
	}
	if len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 0 {
		t.Error("pod anti-affinity is required (hard); want preferred")
	}
	term := a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
	if term.TopologyKey != "kubernetes.io/hostname" || term.LabelSelector == nil {
		t.Errorf("anti-affinity term = %+v; want hostname topology with a label selector", term)
		return
	}
	checkSelects(t, "anti-affinity", term.LabelSelector.MatchLabels, map[string]string{
		"app.kubernetes.io/name": "tokengate", "app.kubernetes.io/instance": "tokengate",
	})
}

// checkSecretVolume: the Secret is mounted read-only where config.yaml expects its files.
func checkSecretVolume(t *testing.T, spec corev1.PodSpec, c corev1.Container, secretName string) {
	t.Helper()
	var volume string
	for _, v := range spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secretName {
			volume = v.Name
		}
	}
	if volume == "" {
		t.Fatalf("no volume of Secret %s", secretName)
	}
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			if m.MountPath != secretDir || !m.ReadOnly {
				t.Errorf("Secret mounted at %s (readOnly %v); want %s read-only", m.MountPath, m.ReadOnly, secretDir)
			}
			return
		}
	}
	t.Errorf("Secret volume %s is not mounted", volume)
}
