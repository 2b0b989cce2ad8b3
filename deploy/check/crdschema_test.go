package check

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// The hand-written CRD structs (crd_test.go) prove the field names we chose; this proves the
// examples against the CustomResourceDefinitions the controller itself ships. Traefik's CRDs
// are copied into testdata/traefik-crds from the github.com/traefik/traefik/v3 module at the
// version the e2e suite runs (docs/content/reference/dynamic-configuration/traefik.io_*.yaml,
// fetched with `go mod download`; the module itself cannot be built from the module proxy).
// All ten are kept, unchanged, because the e2e suite applies them to its API server for
// Traefik's kubernetescrd provider (e2e/traefikcrd_test.go); this check reads the two kinds
// the examples use.
// Importing k8s.io/apiextensions-apiserver's validator would pull the API server's dependency
// tree into this module, so crdSchema checks the parts of OpenAPI v3 that structural CRD
// schemas use: types, properties (unknown fields are errors, as with kubectl's strict field
// validation), required, enum, pattern, items, additionalProperties, int-or-string and
// preserve-unknown-fields. CEL rules (x-kubernetes-validations) are not evaluated.

// crdSchema is one node of a CRD's openAPIV3Schema.
type crdSchema struct {
	Type                 string                `json:"type"`
	Properties           map[string]*crdSchema `json:"properties"`
	AdditionalProperties *crdSchema            `json:"additionalProperties"`
	Items                *crdSchema            `json:"items"`
	Required             []string              `json:"required"`
	Enum                 []any                 `json:"enum"`
	Pattern              string                `json:"pattern"`
	IntOrString          bool                  `json:"x-kubernetes-int-or-string"`
	PreserveUnknown      bool                  `json:"x-kubernetes-preserve-unknown-fields"`
}

// crd is the part of a CustomResourceDefinition the check reads.
type crd struct {
	Spec struct {
		Group string `json:"group"`
		Names struct {
			Kind string `json:"kind"`
		} `json:"names"`
		Versions []struct {
			Name   string `json:"name"`
			Served bool   `json:"served"`
			Schema struct {
				OpenAPIV3Schema *crdSchema `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

// loadCRDSchemas reads CRD files and returns the served schemas by "group/version/Kind".
func loadCRDSchemas(files ...string) (map[string]*crdSchema, error) {
	out := map[string]*crdSchema{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read CRD: %w", err)
		}
		var c crd
		if err := yaml.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("decode CRD %s: %w", f, err)
		}
		for _, v := range c.Spec.Versions {
			if v.Served && v.Schema.OpenAPIV3Schema != nil {
				out[c.Spec.Group+"/"+v.Name+"/"+c.Spec.Names.Kind] = v.Schema.OpenAPIV3Schema
			}
		}
	}
	return out, nil
}

// validate returns every way v (decoded from JSON) breaks the schema, each with its path.
// metadata is left to the API server's ObjectMeta rules, as Kubernetes does for CRDs.
func (s *crdSchema) validate(path string, v any) []string {
	if s.IntOrString {
		if _, isStr := v.(string); !isStr && !isInteger(v) {
			return []string{path + ": want an integer or a string"}
		}
		return nil
	}
	if errs := s.checkType(path, v); len(errs) > 0 {
		return errs
	}
	var errs []string
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, v) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", path, v, s.Enum))
	}
	if str, ok := v.(string); ok && s.Pattern != "" {
		if re, err := regexp.Compile(s.Pattern); err == nil && !re.MatchString(str) {
			errs = append(errs, fmt.Sprintf("%s: %q does not match %s", path, str, s.Pattern))
		}
	}
	switch val := v.(type) {
	case map[string]any:
		errs = append(errs, s.validateObject(path, val)...)
	case []any:
		for i, item := range val {
			if s.Items != nil {
				errs = append(errs, s.Items.validate(fmt.Sprintf("%s[%d]", path, i), item)...)
			}
		}
	}
	return errs
}

func (s *crdSchema) validateObject(path string, obj map[string]any) []string {
	var errs []string
	for _, r := range s.Required {
		if _, ok := obj[r]; !ok {
			errs = append(errs, joinPath(path, r)+": required")
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		child := joinPath(path, k)
		switch {
		case path == "" && k == "metadata":
		case s.Properties[k] != nil:
			errs = append(errs, s.Properties[k].validate(child, obj[k])...)
		case s.AdditionalProperties != nil:
			errs = append(errs, s.AdditionalProperties.validate(child, obj[k])...)
		case s.PreserveUnknown || (s.Properties == nil && s.Type == "object"):
			// A free-form object: the CRD keeps whatever is there.
		default:
			errs = append(errs, child+": unknown field")
		}
	}
	return errs
}

// checkType compares v's JSON type with the schema's type.
func (s *crdSchema) checkType(path string, v any) []string {
	ok := true
	switch s.Type {
	case "object":
		_, ok = v.(map[string]any)
	case "array":
		_, ok = v.([]any)
	case "string":
		_, ok = v.(string)
	case "boolean":
		_, ok = v.(bool)
	case "integer":
		ok = isInteger(v)
	case "number":
		_, ok = v.(float64)
	}
	if !ok {
		return []string{fmt.Sprintf("%s: want %s, got %s", path, s.Type, jsonType(v))}
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isInteger(v any) bool {
	f, ok := v.(float64)
	return ok && f == math.Trunc(f)
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// validateAgainstCRDs checks one YAML document: its apiVersion and kind must have a schema.
func validateAgainstCRDs(schemas map[string]*crdSchema, doc []byte) (kind string, errs []string, err error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return "", nil, fmt.Errorf("YAML: %w", err)
	}
	var obj map[string]any
	if err := json.Unmarshal(js, &obj); err != nil {
		return "", nil, fmt.Errorf("JSON: %w", err)
	}
	apiVersion, _ := obj["apiVersion"].(string)
	k, _ := obj["kind"].(string)
	kind = apiVersion + "/" + k
	schema := schemas[kind]
	if schema == nil {
		return kind, nil, fmt.Errorf("%s: no CRD schema for it", kind)
	}
	return kind, schema.validate("", obj), nil
}

// splitYAMLDocs splits a multi-document YAML file, dropping empty documents.
func splitYAMLDocs(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
