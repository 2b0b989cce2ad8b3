package check

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// exampleConfig is tokengate's documented configuration: every key, loaded strictly by the
// main module's own tests.
const exampleConfig = "../config.example.yaml"

// shape is what a config key holds. shapeAny is a key whose example value is empty (a secret
// left blank), which may hold anything.
type shape string

const (
	shapeMap    shape = "map"
	shapeList   shape = "list"
	shapeScalar shape = "scalar"
	shapeAny    shape = "any"
)

// loadYAMLMap parses YAML (duplicate keys failing) into a generic map.
func loadYAMLMap(data []byte) (map[string]any, error) {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, fmt.Errorf("not a YAML map: %w", err)
	}
	return m, nil
}

// keyShapes lists every key path of a config tree ("provider.clientID") with its shape.
func keyShapes(tree map[string]any) map[string]shape {
	out := map[string]shape{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			switch v := v.(type) {
			case map[string]any:
				out[path] = shapeMap
				walk(path, v)
			case []any:
				out[path] = shapeList
			case nil:
				out[path] = shapeAny
			default:
				out[path] = shapeScalar
			}
		}
	}
	walk("", tree)
	return out
}

// knownConfigKeys reads the key paths of deploy/config.example.yaml.
func knownConfigKeys() (map[string]shape, error) {
	data, err := os.ReadFile(exampleConfig)
	if err != nil {
		return nil, fmt.Errorf("read documented config: %w", err)
	}
	tree, err := loadYAMLMap(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", exampleConfig, err)
	}
	return keyShapes(tree), nil
}

// unknownConfigKeys reports every key path of a rendered config.yaml that tokengate does not
// know, or that has another shape than documented; tokengate would refuse to start on either.
func unknownConfigKeys(rendered map[string]any, known map[string]shape) []string {
	var problems []string
	for path, got := range keyShapes(rendered) {
		want, ok := known[path]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: not a tokengate config key", path))
		case want != shapeAny && got != want && !(got == shapeAny):
			problems = append(problems, fmt.Sprintf("%s: holds a %s; want a %s", path, got, want))
		}
	}
	sort.Strings(problems)
	return problems
}

// secretConfigKeys are the keys whose values are credentials: the ConfigMap must never set
// them (only the *File/*Files variants that point into the mounted Secret).
var secretConfigKeys = []string{"provider.clientSecret", "cookie.secrets"}

// leakedSecretKeys reports secret keys that a rendered config.yaml sets.
func leakedSecretKeys(rendered map[string]any) []string {
	var leaked []string
	for path := range keyShapes(rendered) {
		if slices.Contains(secretConfigKeys, path) {
			leaked = append(leaked, path)
		}
	}
	sort.Strings(leaked)
	return leaked
}

// lookup returns the value at a dotted key path of a config tree.
func lookup(tree map[string]any, path string) (any, bool) {
	var cur any = tree
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}
