package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tokengate/tokengate/internal/secret"
)

// EnvPrefix starts the name of every environment variable that overrides a key.
const EnvPrefix = "TOKENGATE_"

// EnvConfig is the one TOKENGATE_ variable that is not a key: it is reserved for the path of the
// configuration file (read by the command, not by Load), so Load does not report it as unknown.
const EnvConfig = EnvPrefix + "CONFIG"

// Key is one leaf of the configuration tree.
type Key struct {
	// Path is the YAML key path, e.g. "provider.clientID".
	Path string
	// Env is the environment variable that overrides it, e.g. "TOKENGATE_PROVIDER_CLIENT_ID".
	Env string
	// Secret reports whether the value is a credential that must never be printed.
	Secret bool

	index []int
	typ   reflect.Type
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[secret.String]()
)

// Keys lists every leaf key of Config in declaration order. Names are derived from the yaml
// tags by reflection, so a new field gets its environment variable without further code.
func Keys() []Key {
	return appendKeys(nil, reflect.TypeFor[Config](), "", "", nil)
}

func appendKeys(keys []Key, t reflect.Type, path, env string, index []int) []Key {
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		p, e := name, envWords(name)
		if path != "" {
			p, e = path+"."+name, env+"_"+e
		}
		idx := append(slices.Clone(index), i)
		if f.Type.Kind() == reflect.Struct {
			keys = appendKeys(keys, f.Type, p, e, idx)
			continue
		}
		// A list of mappings (dashboards) is one key: its variable holds YAML or JSON.
		isSecret := f.Type == secretType || f.Type.Kind() == reflect.Slice && f.Type.Elem() == secretType
		keys = append(keys, Key{Path: p, Env: EnvPrefix + e, Secret: isSecret, index: idx, typ: f.Type})
	}
	return keys
}

// yamlName is the key yaml.v3 uses for a field: the tag's name, or the lowercased field name.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return name
}

// envWords turns a lowerCamelCase key into UPPER_SNAKE, keeping acronyms together:
// publicURL → PUBLIC_URL, clientID → CLIENT_ID, URLPath → URL_PATH.
func envWords(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			acronymEnds := unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || acronymEnds {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToUpper(c))
	}
	return b.String()
}

// field returns the settable value of the key inside c.
func (k Key) field(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(k.index)
}

// isList reports whether the key holds a list (YAML sequence, comma-separated in env).
func (k Key) isList() bool { return k.typ.Kind() == reflect.Slice }

// isStructured reports whether the key holds a list of mappings, set from the environment
// as YAML or JSON text.
func (k Key) isStructured() bool { return k.isList() && k.typ.Elem().Kind() == reflect.Struct }

// setList replaces the list in v with items.
func setList(v reflect.Value, items []string) error {
	list := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, item := range items {
		if err := setScalar(list.Index(i), item); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
	}
	v.Set(list)
	return nil
}

// setScalar parses raw into v. Errors quote raw only for types that cannot hold a secret:
// secret.String is a string kind and never fails to parse.
func setScalar(v reflect.Value, raw string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("invalid duration %q; want a Go duration such as 90s or 12h", raw)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("invalid boolean %q; want true or false", raw)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("invalid integer %q", raw)
		}
		v.SetInt(n)
	default:
		// A field of a new kind was added to the tree; TestKeysAcceptValues catches it.
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}
