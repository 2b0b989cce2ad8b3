package check

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// TestChartScaling: the HPA, the PDB and the shutdown timings agree with each other and
// with the replica count, for fixed replicas and for autoscaling.
func TestChartScaling(t *testing.T) {
	tests := []struct {
		name     string
		set      []string
		replicas int32 // 0: left to the HPA
		hpa      [2]int32
		pdb      bool
	}{
		{name: "fixed replicas", replicas: 2, pdb: true},
		{name: "one replica: no PDB", set: []string{"replicaCount=1"}, replicas: 1},
		{name: "HPA 2-6", set: []string{"autoscaling.enabled=true"}, hpa: [2]int32{2, 6}, pdb: true},
		{
			name: "HPA from 1: no PDB",
			set:  []string{"autoscaling.enabled=true", "autoscaling.minReplicas=1", "autoscaling.maxReplicas=3"},
			hpa:  [2]int32{1, 3},
		},
		{
			name: "rotating provider with redis scales",
			set: []string{"autoscaling.enabled=true", "config.provider.refreshTokenReuseDetection=true",
				"config.session.store=redis", "redis.url=redis://redis:6379"},
			hpa: [2]int32{2, 6}, pdb: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := decodeAll("render", mustRender(t, "testdata/values-minimal.yaml", tt.set...))
			if err != nil {
				t.Fatal(err)
			}
			d := one(t, byKind[*appsv1.Deployment](ms), "Deployment")
			switch {
			case tt.replicas == 0 && d.Spec.Replicas != nil:
				t.Errorf("replicas = %d with an HPA; want none, or every helm upgrade resets the HPA's choice", *d.Spec.Replicas)
			case tt.replicas != 0 && (d.Spec.Replicas == nil || *d.Spec.Replicas != tt.replicas):
				t.Errorf("replicas = %v; want %d", d.Spec.Replicas, tt.replicas)
			}
			grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
			if grace == nil || *grace <= 5+20 {
				t.Errorf("terminationGracePeriodSeconds = %v; want above shutdownDelay 5s + 20s drain", grace)
			}
			if cm := byKind[*corev1.ConfigMap](ms); len(cm) == 0 {
				t.Fatal("no ConfigMap")
			} else if !strings.Contains(cm[0].Data["config.yaml"], "shutdownDelay: 5s") {
				t.Errorf("config.yaml lacks shutdownDelay: 5s")
			} else if want := fmt.Sprintf("replicas: %d\n", max(tt.replicas, tt.hpa[1])); !strings.Contains(cm[0].Data["config.yaml"], want) {
				t.Errorf("config.yaml lacks %q: tokengate checks its replica bound against its store", want)
			}
			hpas := byKind[*autoscalingv2.HorizontalPodAutoscaler](ms)
			if tt.hpa == [2]int32{} {
				if len(hpas) != 0 {
					t.Errorf("an HPA was rendered; want none")
				}
			} else {
				h := one(t, hpas, "HorizontalPodAutoscaler")
				if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != tt.hpa[0] || h.Spec.MaxReplicas != tt.hpa[1] {
					t.Errorf("HPA bounds = %v-%d; want %d-%d", h.Spec.MinReplicas, h.Spec.MaxReplicas, tt.hpa[0], tt.hpa[1])
				}
				if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
					t.Errorf("HPA targets %s %s; want Deployment %s", h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name, d.Name)
				}
				if len(h.Spec.Metrics) == 0 || h.Spec.Metrics[0].Resource == nil || h.Spec.Metrics[0].Resource.Name != "cpu" {
					t.Errorf("HPA metrics = %+v; want CPU first", h.Spec.Metrics)
				}
			}
			if got := len(byKind[*policyv1.PodDisruptionBudget](ms)) == 1; got != tt.pdb {
				t.Errorf("PDB rendered = %v; want %v", got, tt.pdb)
			}
		})
	}
}

// TestChartRefusesUnsafeScaling: setups that would spend a refresh token twice, block every
// drain, or kill tokengate while it drains are refused at render time, naming the fix.
func TestChartRefusesUnsafeScaling(t *testing.T) {
	tests := []struct {
		name    string
		set     []string
		wantErr string
	}{
		{
			name:    "rotating provider, cookie store, two replicas",
			set:     []string{"config.provider.refreshTokenReuseDetection=true"},
			wantErr: "needs config.session.store redis",
		},
		{
			name:    "rotating provider, cookie store, HPA that may add replicas",
			set:     []string{"config.provider.refreshTokenReuseDetection=true", "replicaCount=1", "autoscaling.enabled=true", "autoscaling.minReplicas=1"},
			wantErr: "up to 6 replicas needs config.session.store redis",
		},
		{
			name:    "HPA bounds upside down",
			set:     []string{"autoscaling.enabled=true", "autoscaling.minReplicas=4", "autoscaling.maxReplicas=2"},
			wantErr: "maxReplicas is below",
		},
		{
			name:    "PDB that blocks every drain",
			set:     []string{"podDisruptionBudget.minAvailable=2"},
			wantErr: "must be below the fewest replicas (2)",
		},
		{
			name:    "grace period shorter than the shutdown",
			set:     []string{"terminationGracePeriodSeconds=25"},
			wantErr: "must exceed shutdownDelaySeconds + 20",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderChart(t, "testdata/values-minimal.yaml", tt.set...)
			if err == nil {
				t.Fatalf("render with %v succeeded; want an error naming %q", tt.set, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("render error = %v; want it to mention %q", err, tt.wantErr)
			}
		})
	}
}
