package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeYAML decodes data over c, strictly: an unknown or duplicate key is a problem naming its
// key path and line. It walks the yaml.Node tree itself instead of relying on
// Decoder.KnownFields(true) because yaml.v3's messages name a line but not the key path, and
// quote the offending value, which for cookie.secrets or provider.clientSecret is a credential.
// A null value (a key with nothing after the colon) leaves the default in place. Problems of
// the whole document are reported under source, the file's path.
func decodeYAML(c *Config, source string, data []byte) problems {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file, or only comments
		}
		return problems{{Key: source, Err: fmt.Errorf("%w: %w", errSyntax, err)}}
	}
	var ps problems
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		ps.add(source, "line %d: a second YAML document; want exactly one", next.Line)
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	if isNull(root) {
		return ps
	}
	decodeValue(root, reflect.ValueOf(c).Elem(), "", &ps)
	return ps
}

// decodeStruct decodes a mapping node into the struct v.
func decodeStruct(node *yaml.Node, v reflect.Value, path string, ps *problems) {
	seen := make(map[string]int)
	for i := 0; i+1 < len(node.Content); i += 2 {
		kn, vn := node.Content[i], node.Content[i+1]
		name := kn.Value
		p := joinPath(path, name)
		if kn.Kind != yaml.ScalarNode {
			ps.add(joinPath(path, "?"), "line %d: a key must be a plain name", kn.Line)
			continue
		}
		if first, dup := seen[name]; dup {
			ps.add(p, "line %d: duplicate key (first at line %d)", kn.Line, first)
			continue
		}
		seen[name] = kn.Line
		f, ok := fieldNamed(v.Type(), name)
		if !ok {
			ps.add(p, "line %d: unknown key; %s", kn.Line, suggestKey(v.Type(), name, path))
			continue
		}
		decodeValue(vn, v.FieldByIndex(f.Index), p, ps)
	}
}

// decodeValue decodes node into v: a struct from a mapping, a list from a sequence of scalars,
// anything else from a scalar.
func decodeValue(node *yaml.Node, v reflect.Value, path string, ps *problems) {
	if node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	if isNull(node) {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			ps.add(orRoot(path), "line %d: want a mapping of keys, got %s", node.Line, kindName(node))
			return
		}
		decodeStruct(node, v, path, ps)
	case reflect.Map:
		decodeMap(node, v, path, ps)
	case reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			ps.add(path, "line %d: want a list, got %s", node.Line, kindName(node))
			return
		}
		if v.Type().Elem().Kind() == reflect.Struct {
			decodeStructList(node, v, path, ps)
			return
		}
		items := make([]string, 0, len(node.Content))
		for i, item := range node.Content {
			if item.Kind == yaml.AliasNode && item.Alias != nil {
				item = item.Alias
			}
			if item.Kind != yaml.ScalarNode || isNull(item) {
				ps.add(fmt.Sprintf("%s[%d]", path, i), "line %d: want a single value, got %s", item.Line, kindName(item))
				return
			}
			items = append(items, item.Value)
		}
		if err := setList(v, items); err != nil {
			ps.add(path, "line %d: %w", node.Line, err)
		}
	default:
		if node.Kind != yaml.ScalarNode {
			ps.add(path, "line %d: want a single value, got %s", node.Line, kindName(node))
			return
		}
		if err := setScalar(v, node.Value); err != nil {
			ps.add(path, "line %d: %w", node.Line, err)
		}
	}
}

// fieldNamed finds the field of struct type t whose YAML key is name (case-sensitive, as
// yaml.v3 is).
func fieldNamed(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); yamlName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// suggestKey names the key the author probably meant, or lists the keys allowed here.
func suggestKey(t reflect.Type, name, path string) string {
	var known []string
	for i := range t.NumField() {
		k := yamlName(t.Field(i))
		if k == "" {
			continue
		}
		if strings.EqualFold(k, name) || editDistance(k, name) <= 2 {
			return "did you mean " + k + "?"
		}
		known = append(known, k)
	}
	return fmt.Sprintf("known keys under %s: %s", orRoot(path), strings.Join(known, ", "))
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return "a single value"
	}
	return "an unsupported node"
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func orRoot(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

// decodeStructList decodes a sequence of mappings into a list of structs, each item's keys
// reported as path[i].key.
func decodeStructList(node *yaml.Node, v reflect.Value, path string, ps *problems) {
	list := reflect.MakeSlice(v.Type(), len(node.Content), len(node.Content))
	for i, item := range node.Content {
		decodeValue(item, list.Index(i), fmt.Sprintf("%s[%d]", path, i), ps)
	}
	v.Set(list)
}

// decodeMap decodes a mapping of single values into a map[string]string (header names to
// templates); a duplicate key is a problem, as in structs.
func decodeMap(node *yaml.Node, v reflect.Value, path string, ps *problems) {
	if node.Kind != yaml.MappingNode {
		ps.add(path, "line %d: want a mapping, got %s", node.Line, kindName(node))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(node.Content)/2)
	for i := 0; i+1 < len(node.Content); i += 2 {
		kn, vn := node.Content[i], node.Content[i+1]
		p := joinPath(path, kn.Value)
		if kn.Kind != yaml.ScalarNode || vn.Kind != yaml.ScalarNode {
			ps.add(p, "line %d: want name: value", kn.Line)
			continue
		}
		if m.MapIndex(reflect.ValueOf(kn.Value)).IsValid() {
			ps.add(p, "line %d: duplicate key", kn.Line)
			continue
		}
		value := vn.Value
		if isNull(vn) {
			value = ""
		}
		m.SetMapIndex(reflect.ValueOf(kn.Value), reflect.ValueOf(value))
	}
	v.Set(m)
}

// decodeStructuredEnv sets a list-of-mappings key from an environment variable holding YAML
// or JSON (JSON is YAML), with the same strict rules as the file.
func decodeStructuredEnv(v reflect.Value, name, value string) problems {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(value), &doc); err != nil {
		return problems{{Key: name, Err: errors.New("not valid YAML or JSON")}}
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	var ps problems
	if !isNull(root) {
		decodeValue(root, v, name, &ps)
	}
	return ps
}
