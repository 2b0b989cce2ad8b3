// Package archtest keeps the import rules of ARCHITECTURE.md: dependencies point one way
// (cmd → handlers → (dashboards, session) → internal/idp), only handlers imports gin,
// dashboards does no I/O, and the leaf packages import no other tokengate package.
package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tokengate/tokengate"

type pkg struct {
	ImportPath string
	Imports    []string
}

func listPackages(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p.Imports
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; the rules would check nothing", len(pkgs))
	}
	// forbidden lists, per package (prefix match on the path below the module, or a full
	// import path for third-party and standard packages), what it must not import directly.
	forbidden := map[string][]string{
		"session":          {"github.com/gin-gonic/gin", module + "/handlers", module + "/dashboards", module + "/cmd"},
		"dashboards":       {"github.com/gin-gonic/gin", module + "/handlers", module + "/session", "net", "net/http", "os", "io/ioutil", "os/exec", "database/sql"},
		"internal/idp":     {"github.com/gin-gonic/gin", module + "/handlers", module + "/session", module + "/dashboards"},
		"internal/config":  {module + "/handlers", module + "/session", module + "/dashboards", module + "/internal/idp"},
		"internal/secret":  {module + "/"},
		"internal/devidp":  {"github.com/gin-gonic/gin", module + "/handlers", module + "/session", module + "/internal/idp"},
		"internal/browser": {module + "/"},
		// localkube runs etcd and kube-apiserver for tests and the demo: it knows nothing of
		// tokengate, so deploy/check can use it without the service's dependencies.
		"internal/localkube": {module + "/"},
	}
	for path, imports := range pkgs {
		for _, imp := range imports {
			if imp == "github.com/gin-gonic/gin" && path != "handlers" {
				t.Errorf("%s imports gin; only handlers may", path)
			}
			for rulePkg, bans := range forbidden {
				if path != rulePkg && !strings.HasPrefix(path, rulePkg+"/") {
					continue
				}
				for _, ban := range bans {
					if imp == ban || (strings.HasSuffix(ban, "/") && strings.HasPrefix(imp, ban) && imp != module+"/internal/secret") {
						t.Errorf("%s imports %s, against ARCHITECTURE.md", path, imp)
					}
				}
			}
		}
	}
}
