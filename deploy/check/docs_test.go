package check

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// readme is the repository's README, whose proxy snippets must say what the examples say.
var readme = filepath.Join(repoRoot, "README.md")

// fencedBlock returns the first fenced code block of language lang after heading in the
// Markdown file.
func fencedBlock(t *testing.T, path, heading, lang string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("%s has no heading %q", path, heading)
	}
	m := regexp.MustCompile("(?s)```" + regexp.QuoteMeta(lang) + "\n(.*?)```").FindStringSubmatch(text[i:])
	if m == nil {
		t.Fatalf("%s: no ```%s block after %q", path, lang, heading)
	}
	return m[1]
}

// TestReadmeSnippetsMatchExamples: the README's ingress-nginx annotations, Traefik
// Middleware and HTTPRoute rule, Caddy site and Envoy Gateway extAuth say exactly what the
// checked examples say, so the two can no longer contradict each other (port 4180 against
// the Service's 80, a cookie list without the chunk names).
func TestReadmeSnippetsMatchExamples(t *testing.T) {
	t.Run("ingress-nginx", func(t *testing.T) {
		var snippet struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if err := yaml.UnmarshalStrict([]byte(fencedBlock(t, readme, "### ingress-nginx", "yaml")), &snippet); err != nil {
			t.Fatal(err)
		}
		ing := one(t, byKind[*networkingv1.Ingress](exampleManifests(t, filepath.Join(examplesDir, "headlamp-ingress-nginx"))), "Ingress")
		for k, v := range snippet.Metadata.Annotations {
			if ing.Annotations[k] != v {
				t.Errorf("README %s = %q; the example says %q", k, v, ing.Annotations[k])
			}
		}
		if len(snippet.Metadata.Annotations) < 5 {
			t.Errorf("README snippet has %d annotations; want the five the example sets", len(snippet.Metadata.Annotations))
		}
	})
	t.Run("traefik", func(t *testing.T) {
		ms, err := decodeAll("README Traefik", []byte(fencedBlock(t, readme, "### Traefik", "yaml")))
		if err != nil {
			t.Fatal(err)
		}
		got := one(t, byKind[*middleware](ms), "Middleware")
		want := one(t, byKind[*middleware](exampleManifests(t, filepath.Join(examplesDir, "headlamp-traefik"))), "Middleware")
		if !reflect.DeepEqual(got.Spec.ForwardAuth, want.Spec.ForwardAuth) {
			t.Errorf("README forwardAuth = %+v; the example says %+v", *got.Spec.ForwardAuth, *want.Spec.ForwardAuth)
		}
	})
	t.Run("traefik gateway", func(t *testing.T) {
		// The dashboard's route, the first document: its rule with the ExtensionRef filter.
		checkSnippetField(t, "### Gateway API: Traefik (`forwardAuth.mode: traefik`)", "rules", "headlamp-traefik", "httproute.yaml")
	})
	t.Run("caddy", func(t *testing.T) {
		example, err := os.ReadFile(filepath.Join(examplesDir, "caddy", "Caddyfile"))
		if err != nil {
			t.Fatal(err)
		}
		snippet := codeLines(fencedBlock(t, readme, "### Caddy", "caddyfile"))
		if !strings.Contains(codeLines(string(example)), snippet) {
			t.Errorf("README Caddy site is not the example's:\n%s", snippet)
		}
	})
	t.Run("envoy gateway", func(t *testing.T) {
		checkSnippetField(t, "### Gateway API: Envoy Gateway and Istio (`forwardAuth.mode: envoy`)", "extAuth", "headlamp-envoy-gateway", "securitypolicy.yaml")
	})
}

// checkSnippetField: the field of the README's YAML snippet under heading is the same field
// of the spec of the first object in the example file.
func checkSnippetField(t *testing.T, heading, field, example, file string) {
	t.Helper()
	var snippet map[string]any
	if err := yaml.Unmarshal([]byte(fencedBlock(t, readme, heading, "yaml")), &snippet); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(examplesDir, example, file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := splitDocuments(data)
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		Spec map[string]any `json:"spec"`
	}
	if err := yaml.Unmarshal(docs[0], &obj); err != nil {
		t.Fatal(err)
	}
	if snippet[field] == nil || !reflect.DeepEqual(snippet[field], obj.Spec[field]) {
		t.Errorf("README %s = %v; %s says %v", field, snippet[field], path, obj.Spec[field])
	}
}

// codeLines is text without comments and blank lines, each line trimmed, for comparing
// a snippet with the file it was cut from.
func codeLines(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// TestChartReadmeSnippetsAreTested: the chart README's certificate and OpenShift values are
// contained in the values files the chart checks render and run doctor on.
func TestChartReadmeSnippetsAreTested(t *testing.T) {
	chartReadme := filepath.Join(chartDir, "README.md")
	tests := []struct {
		heading, values string
	}{
		{heading: "## Certificate client authentication", values: "testdata/values-parity.yaml"},
		{heading: "## OpenShift", values: "testdata/values-openshift.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.heading, func(t *testing.T) {
			var snippet, file map[string]any
			if err := yaml.Unmarshal([]byte(fencedBlock(t, chartReadme, tt.heading, "yaml")), &snippet); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(tt.values)
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(data, &file); err != nil {
				t.Fatal(err)
			}
			if diff := notIn(snippet, file, ""); diff != "" {
				t.Errorf("README snippet under %q differs from %s: %s", tt.heading, tt.values, diff)
			}
		})
	}
}

// notIn returns the first key path of sub whose value is not the same in full, or "".
func notIn(sub, full map[string]any, prefix string) string {
	for k, v := range sub {
		path := prefix + k
		fv, ok := full[k]
		if !ok {
			return path + ": missing"
		}
		if sm, isMap := v.(map[string]any); isMap {
			fm, _ := fv.(map[string]any)
			if d := notIn(sm, fm, path+"."); d != "" {
				return d
			}
			continue
		}
		if !reflect.DeepEqual(v, fv) {
			return path + ": different value"
		}
	}
	return ""
}
