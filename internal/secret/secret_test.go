package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestStringNeverPrintsValue(t *testing.T) {
	const value = "eyJhbGciOiJSUzI1NiJ9.very-secret"
	s := String(value)
	type wrapper struct {
		Token String `json:"token"`
	}

	js, err := json.Marshal(wrapper{Token: s})
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "token", s)
	var textBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&textBuf, nil)).Info("x", "token", s)

	outputs := map[string]string{
		"%s":     fmt.Sprintf("%s", s),
		"%v":     fmt.Sprintf("%v", s),
		"%+v":    fmt.Sprintf("%+v", wrapper{Token: s}),
		"%#v":    fmt.Sprintf("%#v", wrapper{Token: s}),
		"%q":     fmt.Sprintf("%q", s),
		"%x":     fmt.Sprintf("%x", s),
		"error":  fmt.Errorf("refresh with %v failed", s).Error(),
		"json":   string(js),
		"slog":   logBuf.String(),
		"slogtx": textBuf.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, value) || strings.Contains(out, "very-secret") {
			t.Errorf("%s printed the secret: %s", name, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s = %q; want it to contain %q", name, out, Redacted)
		}
	}
	if got := s.Reveal(); got != value {
		t.Errorf("Reveal() = %q; want the value", got)
	}
}

func TestEmptyPrintsNothing(t *testing.T) {
	var s String
	if got := fmt.Sprint(s); got != "" {
		t.Errorf("empty secret printed %q; want empty", got)
	}
	if !s.IsEmpty() {
		t.Error("IsEmpty() = false for the zero value")
	}
}
