package check

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// repoRoot is the main module, relative to this package.
const repoRoot = "../.."

// TestVersionFollowsChartAppVersion: `make version`, which the build and the image use, names
// the chart's appVersion, so `tokengate version` says which chart release a binary belongs to.
func TestVersionFollowsChartAppVersion(t *testing.T) {
	chart, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^appVersion: *"?([^"\n]+)"?$`).FindSubmatch(chart)
	if m == nil {
		t.Fatal("Chart.yaml has no appVersion")
	}
	appVersion := string(m[1])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-s", "version")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("make version: %v (make or git missing)", err)
	}
	got := strings.TrimSpace(string(out))
	if got != appVersion && !strings.HasPrefix(got, appVersion+"-dev+") {
		t.Errorf("make version = %q; want %q or %q-dev+<commit>", got, appVersion, appVersion)
	}
}

// TestDockerfileLabels: the image carries the OCI annotations, its version from the build
// argument that `make version` fills.
func TestDockerfileLabels(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`org.opencontainers.image.version="${VERSION}"`,
		`org.opencontainers.image.revision="${REVISION}"`,
		`org.opencontainers.image.source=`,
		`org.opencontainers.image.title=`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("Dockerfile lacks the label %s", want)
		}
	}
	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	for _, want := range []string{".git", "bin"} {
		if !strings.Contains("\n"+string(ignore), "\n"+want+"\n") {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}

// TestCIRunStopsServicesOnlyInCI runs the system-services section of .ci/run with systemctl
// and service replaced by recorders: run by hand it stops nothing; under CI=true it stops
// nginx, caddy and redis-server.
func TestCIRunStopsServicesOnlyInCI(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(repoRoot, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile(`(?s)# --- system services ---\n(.*)# --- end system services ---`).FindSubmatch(script)
	if section == nil {
		t.Fatal(".ci/run has no delimited system-services section")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash missing")
	}
	tests := []struct {
		name string
		ci   string
		want string
	}{
		{name: "by hand", ci: "", want: ""},
		{name: "CI=false", ci: "false", want: ""},
		{name: "CI=true", ci: "true", want: "stop nginx\nstop caddy\nstop redis-server\nstop redis-sentinel\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "calls")
			recorder := "#!/bin/sh\necho \"$@\" >> " + log + "\n"
			for _, name := range []string{"systemctl", "service"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(recorder), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bash, "-c", string(section[1]))
			cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "CI=" + tt.ci}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("section: %v\n%s", err, out)
			}
			got, _ := os.ReadFile(log)
			if string(got) != tt.want {
				t.Errorf("service calls = %q; want %q", got, tt.want)
			}
		})
	}
}
