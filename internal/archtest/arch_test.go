// Package archtest keeps the import rules of docs/ARCHITECTURE.md ("Import rules"): every
// "never" written there is a row of the table below, and this is the only test of them.
package archtest

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tokengate/tokengate"

type pkg struct {
	ImportPath string
	Imports    []string // direct, without tests
	Deps       []string // transitive, without tests
}

func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p
	}
	return pkgs
}

// rule says that the packages at or below from never depend on what matches never: an
// import path, or a prefix when it ends in "/". direct rules look at direct imports only
// (for standard-library packages that anything may reach through a dependency).
type rule struct {
	from   string
	never  []string
	direct bool
	why    string
}

var (
	gin      = "github.com/gin-gonic/"
	handlers = module + "/handlers"
	sess     = module + "/session"
	dash     = module + "/dashboards"
	cmd      = module + "/cmd/"
	idp      = module + "/internal/idp"
	devidp   = module + "/internal/devidp"
	doctor   = module + "/internal/doctor"
	testfix  = module + "/internal/testfix"
)

var rules = []rule{
	{from: "session", never: []string{gin, handlers, dash, cmd, devidp}, why: "session sits below handlers and never trusts the development provider"},
	{from: "dashboards", never: []string{gin, handlers, sess, cmd, devidp, idp}, why: "dashboards is pure profile data and matching"},
	{from: "dashboards", never: []string{"net", "net/http", "os", "os/exec", "io/ioutil", "database/sql"}, direct: true, why: "dashboards does no I/O"},
	{from: "handlers", never: []string{cmd, devidp}, why: "the development provider is for the demo and tests only"},
	{from: "internal/idp", never: []string{gin, handlers, sess, dash, cmd, devidp}, why: "the OIDC client knows nothing of sessions or HTTP routing"},
	{from: "internal/config", never: []string{handlers, sess, dash, idp, cmd, devidp, doctor}, why: "configuration is a leaf"},
	{from: "internal/secret", never: []string{module + "/"}, why: "secret is a leaf"},
	{from: "internal/forward", never: []string{gin, handlers, sess, dash, idp, cmd, devidp, module + "/internal/config"}, why: "the forward-auth protocol is pure: handlers and doctor share it"},
	{from: "internal/membudget", never: []string{module + "/"}, why: "reading the memory limit is a leaf"},
	{from: "internal/identity", never: []string{module + "/"}, why: "identity comparison is pure and a leaf"},
	{from: "internal/devidp", never: []string{gin, handlers, sess, dash, idp, cmd}, why: "the development provider must behave like Entra, not share tokengate's code"},
	{from: "internal/doctor", never: []string{gin, handlers, devidp}, why: "doctor explains a deployment; it does not serve"},
	{from: "internal/browser", never: []string{module + "/"}, why: "the test browser is a leaf"},
	{from: "internal/jwtpeek", never: []string{module + "/"}, why: "reading a JWT is a leaf that tokengate, doctor and the development provider share"},
	{from: "internal/testfix", never: []string{module + "/"}, why: "the shared test fixtures are a leaf, so the development provider's tests can use them"},
	{from: "internal/localkube", never: []string{module + "/"}, why: "it runs etcd and kube-apiserver and knows nothing of tokengate, so deploy/check can use it without the service's dependencies"},
}

func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; the rules would check nothing", len(pkgs))
	}
	for _, r := range rules {
		matched := 0
		for path, p := range pkgs {
			if path != r.from && !strings.HasPrefix(path, r.from+"/") {
				continue
			}
			matched++
			deps := p.Deps
			if r.direct {
				deps = p.Imports
			}
			for _, dep := range deps {
				if bans(r.never, dep) {
					t.Errorf("%s depends on %s: %s", path, dep, r.why)
				}
			}
		}
		if matched == 0 {
			t.Errorf("rule for %s matches no package: the layout changed, update the rule and docs/ARCHITECTURE.md", r.from)
		}
	}
	for path, p := range pkgs {
		// go list without -test leaves test files out, so only a program can show up here.
		if slices.Contains(p.Deps, testfix) {
			t.Errorf("%s depends on %s: test fixtures are for tests only", path, testfix)
		}
		if path == "handlers" {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, gin) {
				t.Errorf("%s imports gin; only handlers may", path)
			}
		}
	}
}

func bans(never []string, dep string) bool {
	for _, n := range never {
		if dep == n || (strings.HasSuffix(n, "/") && strings.HasPrefix(dep, n) && dep != module+"/internal/secret") {
			return true
		}
		if !strings.HasSuffix(n, "/") && strings.HasPrefix(dep, n+"/") && strings.HasPrefix(n, module) {
			return true // a module package's own subpackages fall under the same rule
		}
	}
	return false
}
