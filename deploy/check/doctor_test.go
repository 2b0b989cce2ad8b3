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
