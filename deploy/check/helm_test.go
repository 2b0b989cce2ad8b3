package check

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// chartDir is the chart under test, relative to this package.
const chartDir = "../helm/tokengate"

// helmTimeout bounds one helm invocation; rendering takes well under a second.
const helmTimeout = 60 * time.Second

// helmBinary returns the helm binary named by $HELM. Without it the test is skipped, except in
// CI (CI=true) or when E2E=required, where a missing helm must fail rather than let
// the manifest checks silently not run.
func helmBinary(t *testing.T) string {
	t.Helper()
	helm := os.Getenv("HELM")
	if helm == "" {
		if os.Getenv("CI") == "true" || os.Getenv("E2E") == "required" {
			t.Fatal("HELM is not set: run `make manifests`, which installs helm into bin/ and sets it")
		}
		t.Skip("HELM is not set; `make manifests` installs helm and runs these checks")
	}
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("HELM=%s: %v", helm, err)
	}
	return helm
}

// runHelm runs helm with args and returns its stdout, or an error carrying stderr.
func runHelm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	helm := helmBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), helmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, helm, args...)
	// A private, empty helm home: no repositories or plugins of the machine leak in.
	home := t.TempDir()
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("helm %v: %w\n%s%s", args, err, stderr.String(), stdout.String())
	}
	return stdout.Bytes(), nil
}

// renderChart renders the chart as release "tokengate" in namespace "tokengate" (the install
// the examples assume) with the values file and extra --set flags.
func renderChart(t *testing.T, valuesFile string, set ...string) ([]byte, error) {
	t.Helper()
	args := []string{"template", "tokengate", chartDir, "--namespace", "tokengate"}
	if valuesFile != "" {
		args = append(args, "--values", valuesFile)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return runHelm(t, args...)
}

// mustRender is renderChart that fails the test on error.
func mustRender(t *testing.T, valuesFile string, set ...string) []byte {
	t.Helper()
	out, err := renderChart(t, valuesFile, set...)
	if err != nil {
		t.Fatalf("render %s: %v", valuesFile, err)
	}
	return out
}
