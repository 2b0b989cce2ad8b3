package check

import (
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// TestChartRefusesBadValues: mistakes an operator makes are refused at render time with a
// message that names the fix, not turned into a pod that cannot start.
func TestChartRefusesBadValues(t *testing.T) {
	tests := []struct {
		name    string
		values  string
		set     []string
		wantErr string
	}{
		{
			name:    "no secret at all",
			values:  "testdata/values-minimal.yaml",
			set:     []string{"clientSecret="},
			wantErr: "set existingSecret",
		},
		{
			name:    "unknown top-level value",
			values:  "testdata/values-minimal.yaml",
			set:     []string{"replicas=3"},
			wantErr: "replicas",
		},
		{
			name:    "client secret in the config (would land in the ConfigMap)",
			values:  "testdata/values-minimal.yaml",
			set:     []string{"config.provider.clientSecret=s3cret"},
			wantErr: "clientSecret",
		},
		{
			name:    "unknown config key",
			values:  "testdata/values-minimal.yaml",
			set:     []string{"config.provider.clientId=x"},
			wantErr: "clientId",
		},
		{
			name:    "missing publicURL",
			values:  "testdata/values-minimal.yaml",
			set:     []string{"config.publicURL="},
			wantErr: "publicURL",
		},
		{
			name:    "missing issuer",
			values:  "testdata/values-single-replica.yaml",
			set:     []string{"config.provider.issuerURL=null"},
			wantErr: "issuerURL",
		},
		{
			name:    "workload identity without client id",
			values:  "testdata/values-minimal.yaml",
			set:     []string{"workloadIdentity.enabled=true"},
			wantErr: "workloadIdentity.clientID is required",
		},
		{
			name:    "workload identity with a client secret",
			values:  "testdata/values-workload-identity.yaml",
			set:     []string{"clientSecret=s3cret"},
			wantErr: "remove clientSecret",
		},
		{
			name:    "workload identity without a cookie secret",
			values:  "testdata/values-workload-identity.yaml",
			set:     []string{"cookieSecret="},
			wantErr: "no client secret is needed",
		},
		{
			name:    "ingress without host",
			values:  "testdata/values-minimal.yaml",
			set:     []string{"ingress.enabled=true"},
			wantErr: "ingress.host is required",
		},
		{
			name:    "several cookie keys without an existing secret",
			values:  "testdata/values-minimal.yaml",
			set:     []string{"secretKeys.cookieSecrets={a,b}"},
			wantErr: "only an existingSecret can hold",
		},
		{
			name:    "certificate client auth without its Secret",
			values:  "testdata/values-parity.yaml",
			set:     []string{"clientCertificate.secretName="},
			wantErr: "set clientCertificate.secretName",
		},
		{
			name:    "certificate and workload identity at once",
			values:  "testdata/values-parity.yaml",
			set:     []string{"workloadIdentity.enabled=true", "workloadIdentity.clientID=x"},
			wantErr: "choose one way",
		},
		{
			name:    "certificate with a client secret",
			values:  "testdata/values-parity.yaml",
			set:     []string{"existingSecret=", "cookieSecret=x", "clientSecret=s3cret"},
			wantErr: "remove clientSecret",
		},
		{
			name:    "workload identity through clientAuth instead of workloadIdentity.enabled",
			values:  "testdata/values-minimal.yaml",
			set:     []string{"config.provider.clientAuth=workloadIdentity"},
			wantErr: "clientAuth",
		},
		{
			name:    "network policy with Redis but no Redis peers",
			values:  "testdata/values-parity.yaml",
			set:     []string{"networkPolicy.redisEgressTo=null"},
			wantErr: "networkPolicy.redisEgressTo",
		},
		{
			name:    "several replicas on the cookie store with refresh-token reuse detection",
			values:  "testdata/values-minimal.yaml",
			set:     []string{"replicaCount=2", "config.provider.refreshTokenReuseDetection=true"},
			wantErr: "set config.session.store redis",
		},
		{
			name:    "bad forward-auth mode",
			values:  "testdata/values-minimal.yaml",
			set:     []string{"config.forwardAuth.mode=nginx"},
			wantErr: "mode",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderChart(t, tt.values, tt.set...)
			if err == nil {
				t.Fatalf("render with %v succeeded; want an error naming %q", tt.set, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("render error = %v; want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

// TestConfigChangeRollsPods: a changed config.yaml changes the pod template, so `helm upgrade`
// restarts tokengate, which reads its config only at start; an unchanged one does not.
func TestConfigChangeRollsPods(t *testing.T) {
	checksum := func(set ...string) string {
		t.Helper()
		ms, err := decodeAll("render", mustRender(t, "testdata/values-minimal.yaml", set...))
		if err != nil {
			t.Fatal(err)
		}
		return one(t, byKind[*appsv1.Deployment](ms), "Deployment").Spec.Template.Annotations["checksum/config"]
	}
	base := checksum()
	if again := checksum(); again != base {
		t.Errorf("checksum changed between identical renders: %s then %s", base, again)
	}
	if changed := checksum("config.log.level=debug"); changed == base {
		t.Error("checksum/config did not change when config.log.level changed")
	}
}

// TestHelmLint runs `helm lint --strict` with every values file, including the examples'.
func TestHelmLint(t *testing.T) {
	files := valuesFiles(t)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			if _, err := runHelm(t, "lint", "--strict", chartDir, "--values", f); err != nil {
				t.Error(err)
			}
		})
	}
}

// valuesFiles lists testdata/values-*.yaml and every example's tokengate-values.yaml.
func valuesFiles(t *testing.T) []string {
	t.Helper()
	testdata, err := filepath.Glob("testdata/values-*.yaml")
	if err != nil || len(testdata) < 4 {
		t.Fatalf("testdata values files = %v (%v); want at least 4", testdata, err)
	}
	examples, err := filepath.Glob(filepath.Join(examplesDir, "*", "tokengate-values.yaml"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("example tokengate-values.yaml files = %v (%v); want some", examples, err)
	}
	return append(testdata, examples...)
}
