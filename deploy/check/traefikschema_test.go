package check

import (
	"os"
	"strings"
	"testing"
)

// traefikCRDs are Traefik v3.7.9's own CRDs for the kinds the examples use.
var traefikCRDs = []string{
	"testdata/traefik-crds/traefik.io_middlewares.yaml",
	"testdata/traefik-crds/traefik.io_ingressroutes.yaml",
}

// TestTraefikExamplesMatchCRDSchemas validates every traefik.io object of the examples
// against Traefik's CRD schemas, as the API server would on kubectl apply.
func TestTraefikExamplesMatchCRDSchemas(t *testing.T) {
	schemas, err := loadCRDSchemas(traefikCRDs...)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, f := range exampleFiles(t) {
		if f.kind != "manifest" {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitYAMLDocs(data) {
			// Traefik's own kinds; a GatewayClass names traefik.io only in its controllerName.
			if !strings.Contains(string(doc), "apiVersion: traefik.io/") {
				continue
			}
			kind, errs, err := validateAgainstCRDs(schemas, doc)
			if err != nil {
				t.Errorf("%s document %d: %v", f.path, i+1, err)
				continue
			}
			seen[kind]++
			for _, e := range errs {
				t.Errorf("%s document %d (%s): %s", f.path, i+1, kind, e)
			}
		}
	}
	for _, kind := range []string{"traefik.io/v1alpha1/Middleware", "traefik.io/v1alpha1/IngressRoute"} {
		if seen[kind] == 0 {
			t.Errorf("no example %s was checked; want at least one", kind)
		}
	}
}

// TestCRDSchemaRefuses proves the schema check fails where the API server would.
func TestCRDSchemaRefuses(t *testing.T) {
	schemas, err := loadCRDSchemas(traefikCRDs...)
	if err != nil {
		t.Fatal(err)
	}
	const middleware = `apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: {name: tokengate, namespace: headlamp}
spec:
  forwardAuth:
    address: http://tokengate/auth
    trustForwardHeader: false
    addAuthCookiesToResponse: [_tokengate]
`
	const route = `apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: headlamp}
spec:
  routes:
    - match: Host(` + "`h.example.com`" + `)
      kind: Rule
      services: [{name: headlamp, port: 80}]
`
	for _, tc := range []struct {
		name, doc string
		want      string // a substring of the one expected error; "" for none
	}{
		{name: "valid Middleware", doc: middleware},
		{name: "valid IngressRoute", doc: route},
		{name: "misspelt field", doc: strings.Replace(middleware, "trustForwardHeader:", "trustForwardHeaders:", 1),
			want: "spec.forwardAuth.trustForwardHeaders: unknown field"},
		{name: "string for a list", doc: strings.Replace(middleware, "[_tokengate]", "_tokengate", 1),
			want: "spec.forwardAuth.addAuthCookiesToResponse: want array, got string"},
		{name: "string for a boolean", doc: strings.Replace(middleware, "trustForwardHeader: false", `trustForwardHeader: "false"`, 1),
			want: "spec.forwardAuth.trustForwardHeader: want boolean, got string"},
		{name: "route kind outside the enum", doc: strings.Replace(route, "kind: Rule", "kind: Host", 1),
			want: "spec.routes[0].kind: Host is not one of [Rule]"},
		{name: "route without match", doc: strings.Replace(route, "- match: Host(`h.example.com`)\n      kind", "- kind", 1),
			want: "spec.routes[0].match: required"},
		{name: "port neither integer nor string", doc: strings.Replace(route, "port: 80", "port: true", 1),
			want: "spec.routes[0].services[0].port: want an integer or a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want != "" && (tc.doc == middleware || tc.doc == route) {
				t.Fatal("the row's edit did not apply: it tests the valid document")
			}
			_, errs, err := validateAgainstCRDs(schemas, []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == "" && len(errs) != 0:
				t.Errorf("got %q; want no error", errs)
			case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0], tc.want)):
				t.Errorf("got %q; want one error containing %q", errs, tc.want)
			}
		})
	}
}
