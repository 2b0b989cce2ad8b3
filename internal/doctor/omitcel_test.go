package doctor

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOmitCELBuildLinksNoCEL: the server binary built with -tags tokengate_omit_cel (the
// image) leaves cel-go and its parser out, which is the tag's whole point (about 43 packages
// and 5.8 MB of a 45 MB binary; BENCHMARKS.md, "Binary"). It breaks when anything outside
// structured_cel.go imports cel-go.
func TestOmitCELBuildLinksNoCEL(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "tokengate_omit_cel",
		"github.com/tokengate/tokengate/cmd/tokengate").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/google/cel-go/", "cel.dev/expr", "github.com/antlr4-go/"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("the tokengate_omit_cel build links %s", dep)
			}
		}
	}
}
