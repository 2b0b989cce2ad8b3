package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const examplePath = "../../deploy/config.example.yaml"

// TestExampleConfig keeps deploy/config.example.yaml in sync with the tree: it must decode
// strictly, load and validate (with the secret files pointed at test files), set every key,
// and name every key's environment variable in its comments.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatalf("read example: %v", err)
	}
	dir := t.TempDir()
	writeFileIn(t, dir, "client-secret", "s3cret\n")
	writeFileIn(t, dir, "cookie-secret", testKey+"\n")
	c, err := Load(examplePath, []string{
		"TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=" + filepath.Join(dir, "client-secret"),
		"TOKENGATE_COOKIE_SECRET_FILES=" + filepath.Join(dir, "cookie-secret"),
	})
	if err != nil {
		t.Fatalf("Load(example): %v", err)
	}
	if !strings.HasPrefix(c.Provider.IssuerURL, "https://login.microsoftonline.com/") {
		t.Errorf("example issuer = %q; want an Entra issuer", c.Provider.IssuerURL)
	}
	// The example shows the defaults it documents.
	d := Defaults()
	for _, k := range Keys() {
		if got, want := k.field(c), k.field(&d); !k.Secret && !want.IsZero() && !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Errorf("example %s = %v; want the default %v", k.Path, got, want)
		}
	}

	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatalf("parse example: %v", err)
	}
	present := leafPaths(root.Content[0], "")
	for _, k := range Keys() {
		if !slices.Contains(present, k.Path) {
			t.Errorf("example does not set %s; every key belongs in it", k.Path)
		}
		if !strings.Contains(string(data), k.Env+"\n") && !strings.Contains(string(data), k.Env+" ") {
			t.Errorf("example does not mention %s", k.Env)
		}
	}
}

// leafPaths lists the key paths of a mapping's leaves.
func leafPaths(n *yaml.Node, path string) []string {
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		p := joinPath(path, n.Content[i].Value)
		if v := n.Content[i+1]; v.Kind == yaml.MappingNode {
			out = append(out, leafPaths(v, p)...)
		} else {
			out = append(out, p)
		}
	}
	return out
}
