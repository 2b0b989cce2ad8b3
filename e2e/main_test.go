package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binaries built or located once for every test of the package.
var (
	tokengateBin string // the tokengate binary built by TestMain
	testPKI      *pki   // the test CA and the *.example.test certificate
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tokengate-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: temp dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if tokengateBin, err = buildTokengate(dir); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	if testPKI, err = newPKI(dir, time.Now()); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer stopKube() // the shared Kubernetes cluster, if a scenario started it
	return m.Run()
}

// buildTokengate compiles ./cmd/tokengate once, so every scenario runs the real binary
// exactly as an operator would.
func buildTokengate(dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, "tokengate")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/tokengate")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build tokengate: %w\n%s", err, out)
	}
	return bin, nil
}

// requireTool returns the path of an external program the test needs. When it is missing
// the test skips with the reason, or fails when E2E=required (CI), so a broken
// CI image cannot turn the end-to-end suite into a silent pass.
func requireTool(t *testing.T, name string, candidates ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return c
		}
	}
	missing(t, name+" not installed (not in PATH nor at "+strings.Join(candidates, ", ")+")")
	return ""
}

// requireFile is requireTool for a file another tool needs, such as an nginx module.
func requireFile(t *testing.T, path, why string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		missing(t, why+": "+path+" not found")
	}
}

func missing(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("E2E") == "required" {
		t.Fatalf("%s; E2E=required, so this fails (CI installs it: see .ci/run)", reason)
	}
	t.Skipf("%s; skipping (set E2E=required to fail instead)", reason)
}
