// Package secret holds a string type for credentials that never prints its value.
//
// Tokens, refresh tokens, client secrets and cookie keys travel as secret.String so that
// a stray log line, span attribute, error message or JSON dump shows "[redacted]" instead
// of a key to somebody's cluster. The value is only reachable through Reveal, which makes
// every legitimate use easy to find with grep.
package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what a secret.String prints in place of its value.
const Redacted = "[redacted]"

// String is a credential. Its zero value is the empty secret.
type String string

// Reveal returns the credential itself. Call it only where the value leaves the process
// on purpose: an HTTP header to the proxy, a form field to the identity provider.
func (s String) Reveal() string { return string(s) }

// IsEmpty reports whether no credential is set.
func (s String) IsEmpty() bool { return s == "" }

// String implements fmt.Stringer.
func (s String) String() string { return s.mask() }

// GoString implements fmt.GoStringer, so %#v is covered too.
func (s String) GoString() string { return s.mask() }

// Format implements fmt.Formatter: every verb (%s, %v, %q, %x, …) prints the mask.
func (s String) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.mask())) }

// LogValue implements slog.LogValuer.
func (s String) LogValue() slog.Value { return slog.StringValue(s.mask()) }

// MarshalJSON implements json.Marshaler.
func (s String) MarshalJSON() ([]byte, error) { return []byte(`"` + s.mask() + `"`), nil }

// MarshalText implements encoding.TextMarshaler (used by YAML and slog's text handler).
func (s String) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

func (s String) mask() string {
	if s == "" {
		return ""
	}
	return Redacted
}
