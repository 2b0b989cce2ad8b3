package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/secret"
)

// testKey is a valid cookie key: 32 bytes, std base64.
var testKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))

// validConfig is the smallest configuration that passes Validate.
func validConfig() *Config {
	c := Defaults()
	c.PublicURL = "https://auth.example.com"
	c.Provider.IssuerURL = "https://login.microsoftonline.com/tenant/v2.0"
	c.Provider.ClientID = "client-id"
	c.Provider.ClientSecret = "client-secret"
	c.Cookie.Secrets = []secret.String{secret.String(testKey)}
	return &c
}

// validEnv supplies the required keys through the environment, after extra (the first of
// duplicate variables wins, so extra can override them).
func validEnv(extra ...string) []string {
	return slices.Concat(extra, []string{
		"TOKENGATE_PUBLIC_URL=https://auth.example.com",
		"TOKENGATE_PROVIDER_ISSUER_URL=https://login.microsoftonline.com/tenant/v2.0",
		"TOKENGATE_PROVIDER_CLIENT_ID=client-id",
		"TOKENGATE_PROVIDER_CLIENT_SECRET=client-secret",
		"TOKENGATE_COOKIE_SECRETS=" + testKey,
	})
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := writeBytes(path, content); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}

// problemsOf returns the problems of a *ValidationError, failing the test for any other error.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is a %T; want *ValidationError", err, err)
	}
	return ve.Problems
}

// wantProblem fails unless err has a problem for key whose message contains every part.
func wantProblem(t *testing.T, err error, key string, parts ...string) {
	t.Helper()
	for _, p := range problemsOf(t, err) {
		if p.Key != key {
			continue
		}
		msg := p.Error()
		ok := true
		for _, part := range parts {
			ok = ok && strings.Contains(msg, part)
		}
		if ok {
			return
		}
	}
	t.Errorf("error %v; want a problem for %q containing %q", err, key, parts)
}

func writeBytes(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}
