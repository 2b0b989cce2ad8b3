package e2e

import (
	"bytes"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The Traefik configuration the e2e tests run is read from the documentation, so the two
// cannot drift: the Middleware and IngressRoutes of deploy/examples/headlamp-traefik, and
// the README's snippet, which must say the same as the example.
const (
	traefikExampleDir = "../deploy/examples/headlamp-traefik/"
	traefikReadme     = "../README.md"
	// The example's hosts are example.com; the tests serve example.test.
	docsDomain, testDomain = "example.com", "example.test"
)

// traefikDocs is what the tests take from the documented Traefik configuration.
type traefikDocs struct {
	Middleware  string         // the Middleware's name, referenced by the dashboard route
	ForwardAuth map[string]any // its spec.forwardAuth, verbatim
	EntryPoint  string         // the IngressRoutes' entry point
	// DashboardRule and DashboardHost are the protected route's match and the host it names,
	// with the test domain; AuthRule is the auth host's route, which has no middleware.
	DashboardRule, DashboardHost, AuthRule string
}

// crdObject is the part of a Traefik CRD object the tests read.
type crdObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		ForwardAuth map[string]any `yaml:"forwardAuth"`
		EntryPoints []string       `yaml:"entryPoints"`
		Routes      []struct {
			Match       string `yaml:"match"`
			Middlewares []struct {
				Name string `yaml:"name"`
			} `yaml:"middlewares"`
		} `yaml:"routes"`
	} `yaml:"spec"`
}

// loadTraefikDocs reads the example's middleware.yaml and ingressroute.yaml.
func loadTraefikDocs(t *testing.T) traefikDocs {
	t.Helper()
	var d traefikDocs
	for _, obj := range readCRDObjects(t, traefikExampleDir+"middleware.yaml", traefikExampleDir+"ingressroute.yaml") {
		switch obj.Kind {
		case "Middleware":
			d.Middleware, d.ForwardAuth = obj.Metadata.Name, obj.Spec.ForwardAuth
		case "IngressRoute":
			if len(obj.Spec.EntryPoints) != 1 || len(obj.Spec.Routes) != 1 {
				t.Fatalf("IngressRoute %s: want one entry point and one route", obj.Metadata.Name)
			}
			d.EntryPoint = obj.Spec.EntryPoints[0]
			route := obj.Spec.Routes[0]
			rule := strings.ReplaceAll(route.Match, docsDomain, testDomain)
			if len(route.Middlewares) == 0 {
				d.AuthRule = rule
				continue
			}
			if len(route.Middlewares) != 1 {
				t.Fatalf("IngressRoute %s: want the tokengate middleware alone", obj.Metadata.Name)
			}
			d.DashboardRule = rule
			d.DashboardHost = strings.ReplaceAll("headlamp."+docsDomain, docsDomain, testDomain)
			if mw := route.Middlewares[0].Name; mw != d.Middleware && d.Middleware != "" {
				t.Fatalf("IngressRoute %s uses middleware %q; the Middleware is %q", obj.Metadata.Name, mw, d.Middleware)
			}
		}
	}
	if d.ForwardAuth == nil || d.DashboardRule == "" || d.AuthRule == "" || !strings.Contains(d.DashboardRule, d.DashboardHost) {
		t.Fatalf("%s: want a forwardAuth Middleware, a route for %s through it and one for the auth host; got %+v", traefikExampleDir, d.DashboardHost, d)
	}
	return d
}

// forwardAuth returns a copy of the documented forwardAuth block with its address replaced:
// the one setting that must differ between a cluster and the test.
func (d traefikDocs) forwardAuth(address string) map[string]any {
	out := make(map[string]any, len(d.ForwardAuth))
	for k, v := range d.ForwardAuth {
		out[k] = v
	}
	out["address"] = address
	return out
}

// routers are the documented routes for every site and the auth host, as file-provider
// routers. Every site gets the dashboard route with its own host.
func (d traefikDocs) routers(sites []traefikSite) map[string]any {
	router := func(rule, service string, middlewares ...string) map[string]any {
		r := map[string]any{"rule": rule, "service": service, "entryPoints": []string{d.EntryPoint}, "tls": map[string]any{}}
		if len(middlewares) > 0 {
			r["middlewares"] = middlewares
		}
		return r
	}
	routers := map[string]any{"tokengate": router(d.AuthRule, "tokengate")}
	for _, s := range sites {
		rule := strings.ReplaceAll(d.DashboardRule, d.DashboardHost, s.Host)
		routers[traefikName(s.Host)] = router(rule, traefikName(s.Host), d.Middleware)
	}
	return routers
}

// readCRDObjects decodes every YAML document of the files.
func readCRDObjects(t *testing.T, files ...string) []crdObject {
	t.Helper()
	var objs []crdObject
	for _, f := range files {
		b, err := os.ReadFile(f)
		mustf(t, err, "read %s", f)
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var obj crdObject
			err := dec.Decode(&obj)
			if errors.Is(err, io.EOF) {
				break
			}
			mustf(t, err, "decode %s", f)
			objs = append(objs, obj)
		}
	}
	return objs
}

// TestTraefikREADMEMatchesExample: the README's Traefik snippet is the example's Middleware,
// which is what the e2e tests run. A README that lists fewer cookies or headers than the
// example (or other values) fails here, not in a user's cluster.
func TestTraefikREADMEMatchesExample(t *testing.T) {
	t.Parallel()
	docs := loadTraefikDocs(t)
	snippet := readmeBlock(t, traefikReadme, "### Traefik", "yaml")
	var obj crdObject
	mustf(t, yaml.Unmarshal([]byte(snippet), &obj), "decode the README's Traefik snippet")
	if obj.Kind != "Middleware" || obj.Metadata.Name != docs.Middleware {
		t.Fatalf("README snippet is a %s named %q; want the Middleware %q", obj.Kind, obj.Metadata.Name, docs.Middleware)
	}
	if !reflect.DeepEqual(obj.Spec.ForwardAuth, docs.ForwardAuth) {
		t.Errorf("README forwardAuth = %v\nwant the example's (%smiddleware.yaml) %v", obj.Spec.ForwardAuth, traefikExampleDir, docs.ForwardAuth)
	}
}

// readmeBlock returns the first fenced code block of the given language after heading.
func readmeBlock(t *testing.T, file, heading, lang string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	mustf(t, err, "read %s", file)
	_, rest, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no heading %q", file, heading)
	}
	_, rest, ok = strings.Cut(rest, "```"+lang+"\n")
	if !ok {
		t.Fatalf("%s: no ```%s block after %q", file, lang, heading)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("%s: unterminated code block after %q", file, heading)
	}
	return block
}
