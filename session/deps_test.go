package session

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules keeps session below handlers (ARCHITECTURE "Layout"): it must not pull in
// gin, the handlers or the dashboards.
func TestImportRules(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"github.com/gin-gonic/",
		"github.com/tokengate/tokengate/handlers",
		"github.com/tokengate/tokengate/dashboards",
		"github.com/tokengate/tokengate/cmd/",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("session depends on %s; it must not import %s", dep, f)
			}
		}
	}
}
