package check

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestDoctorOfflineOnRenderedConfigs renders the chart with every values file (testdata and
// the examples) and runs the real `tokengate doctor --offline` on each rendered config.yaml,
// with the mounted Secrets replaced by files of the same kind: what the chart renders is
// what tokengate accepts, with no failed check.
func TestDoctorOfflineOnRenderedConfigs(t *testing.T) {
	tokengate := buildTokengate(t)
	for _, values := range valuesFiles(t) {
		t.Run(values, func(t *testing.T) {
			ms := renderAndDecode(t, values)
			cm := one(t, byKind[*corev1.ConfigMap](ms), "ConfigMap")
			dir := t.TempDir()
			raw := strings.ReplaceAll(cm.Data["config.yaml"], certDir, filepath.Join(dir, "cert"))
			raw = strings.ReplaceAll(raw, secretDir, filepath.Join(dir, "secret"))
			cfgPath := filepath.Join(dir, "config.yaml")
			writeFile(t, cfgPath, raw)
			cfg, err := loadYAMLMap([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			env := mountedFiles(t, cfg, dir)
			runDoctorOffline(t, tokengate, cfgPath, env)
		})
	}
}

// runDoctorOffline runs doctor and fails the test with its report unless it exits 0.
func runDoctorOffline(t *testing.T, tokengate, cfgPath string, env []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tokengate, "doctor", "--offline", "--config", cfgPath)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("tokengate doctor --offline: %v\n%s", err, out)
	}
}

// mountedFiles creates the files a rendered config names inside the mounted Secrets (a cookie
// key, a client secret, a certificate and key, a CA, a password) and returns the environment
// the workload identity webhook would inject.
func mountedFiles(t *testing.T, cfg map[string]any, dir string) []string {
	t.Helper()
	for _, sub := range []string{"secret", "cert"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	certPEM, keyPEM := selfSignedCert(t)
	str := func(key string) string { v, _ := lookup(cfg, key); s, _ := v.(string); return s }
	for key, content := range map[string]string{
		"provider.clientSecretFile":     "check-client-secret\n",
		"provider.certificate.certFile": certPEM,
		"provider.certificate.keyFile":  keyPEM,
		"redis.passwordFile":            "check-redis-password\n",
		"redis.tls.caFile":              certPEM,
	} {
		if p := str(key); p != "" {
			writeFile(t, p, content)
		}
	}
	files, _ := lookup(cfg, "cookie.secretFiles")
	list, _ := files.([]any)
	for _, f := range list {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			t.Fatal(err)
		}
		writeFile(t, f.(string), base64.StdEncoding.EncodeToString(key)+"\n")
	}
	token := filepath.Join(dir, "azure-identity-token")
	writeFile(t, token, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n")
	return []string{"AZURE_FEDERATED_TOKEN_FILE=" + token}
}

// selfSignedCert returns a PEM certificate and its PKCS#8 RSA key.
func selfSignedCert(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tokengate-check"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
}

// buildTokengate builds the tokengate binary of the main module once per test binary.
func buildTokengate(t *testing.T) string {
	t.Helper()
	helmBinary(t) // the same gate as the chart checks: skipped outside `make manifests`
	out := filepath.Join(t.TempDir(), "tokengate")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/tokengate")
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build tokengate: %v\n%s", err, b)
	}
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestChartReadmeValuesPassDoctor takes the values of the chart README's "Minimal install",
// fills in its two placeholders as an operator must (tokengate refuses them as they are),
// renders the chart with them and runs doctor on the result.
func TestChartReadmeValuesPassDoctor(t *testing.T) {
	tokengate := buildTokengate(t)
	block := fencedBlock(t, filepath.Join(chartDir, "README.md"), "## Minimal install for Entra ID", "yaml")
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "   ")) // the block sits in a list item
	}
	values := strings.Join(lines, "\n")
	for _, placeholder := range []string{"<tenant-id>", "<application-client-id>"} {
		if !strings.Contains(values, placeholder) {
			t.Fatalf("the README values no longer hold %s; update this test", placeholder)
		}
	}
	values = strings.NewReplacer("<tenant-id>", "3f2b8c41-7d5e-4a09-9c1e-6b0d2f4e8a17",
		"<application-client-id>", "8d4e1a52-0b7c-4f36-a9e2-5c1f7b3d6e90").Replace(values)
	dir := t.TempDir()
	valuesPath := filepath.Join(dir, "values-entra.yaml")
	writeFile(t, valuesPath, values)
	ms := renderAndDecode(t, valuesPath)
	cm := one(t, byKind[*corev1.ConfigMap](ms), "ConfigMap")
	raw := strings.ReplaceAll(cm.Data["config.yaml"], secretDir, filepath.Join(dir, "secret"))
	cfg, err := loadYAMLMap([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	writeFile(t, cfgPath, raw)
	runDoctorOffline(t, tokengate, cfgPath, mountedFiles(t, cfg, dir))
}
