package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/secret"
)

func TestLoadSecretFiles(t *testing.T) {
	otherKey := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	tests := []struct {
		name       string
		files      map[string]string // name → content, written into one temp dir
		env        []string          // "$dir" is replaced by the temp dir
		wantSecret string
		wantKeys   []string
	}{
		{
			name:       "client secret file, one trailing newline trimmed",
			files:      map[string]string{"cs": "s3cret \n\n"},
			env:        []string{"TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=$dir/cs", "TOKENGATE_PROVIDER_CLIENT_SECRET="},
			wantSecret: "s3cret \n",
			wantKeys:   []string{testKey},
		},
		{
			name:       "client secret file with CRLF",
			files:      map[string]string{"cs": "s3cret\r\n"},
			env:        []string{"TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=$dir/cs", "TOKENGATE_PROVIDER_CLIENT_SECRET="},
			wantSecret: "s3cret",
			wantKeys:   []string{testKey},
		},
		{
			name:       "cookie secret files in order",
			files:      map[string]string{"k1": otherKey + "\n", "k2": testKey},
			env:        []string{"TOKENGATE_COOKIE_SECRET_FILES=$dir/k1,$dir/k2", "TOKENGATE_COOKIE_SECRETS="},
			wantSecret: "client-secret",
			wantKeys:   []string{otherKey, testKey},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFileIn(t, dir, name, content)
			}
			var env []string
			for _, e := range tt.env {
				env = append(env, strings.ReplaceAll(e, "$dir", dir))
			}
			c, err := Load("", validEnv(env...))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := c.Provider.ClientSecret.Reveal(); got != tt.wantSecret {
				t.Errorf("client secret = %q; want %q", got, tt.wantSecret)
			}
			var keys []string
			for _, k := range c.Cookie.Secrets {
				keys = append(keys, k.Reveal())
			}
			if fmt.Sprint(keys) != fmt.Sprint(tt.wantKeys) {
				t.Errorf("cookie secrets = %q; want %q", keys, tt.wantKeys)
			}
		})
	}
}

func TestLoadSecretFileProblems(t *testing.T) {
	dir := t.TempDir()
	writeFileIn(t, dir, "empty", "\n")
	writeFileIn(t, dir, "short", base64.StdEncoding.EncodeToString(make([]byte, 16)))
	writeFileIn(t, dir, "big", strings.Repeat("x", maxSecretFileBytes+1))
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name  string
		env   []string
		key   string
		parts []string
	}{
		{name: "both client secret and file", env: []string{"TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=" + filepath.Join(dir, "short")},
			key: "provider.clientSecretFile", parts: []string{"not both"}},
		{name: "missing client secret file", env: []string{"TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=" + missing, "TOKENGATE_PROVIDER_CLIENT_SECRET="},
			key: "provider.clientSecretFile", parts: []string{missing}},
		{name: "client secret file is a directory", env: []string{"TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=" + dir, "TOKENGATE_PROVIDER_CLIENT_SECRET="},
			key: "provider.clientSecretFile", parts: []string{dir}},
		{name: "empty client secret file", env: []string{"TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=" + filepath.Join(dir, "empty"), "TOKENGATE_PROVIDER_CLIENT_SECRET="},
			key: "provider.clientSecretFile", parts: []string{"empty"}},
		{name: "oversized client secret file", env: []string{"TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=" + filepath.Join(dir, "big"), "TOKENGATE_PROVIDER_CLIENT_SECRET="},
			key: "provider.clientSecretFile", parts: []string{"larger than"}},
		{name: "both cookie secrets and files", env: []string{"TOKENGATE_COOKIE_SECRET_FILES=" + missing},
			key: "cookie.secretFiles", parts: []string{"not both"}},
		{name: "missing cookie secret file names its index", env: []string{"TOKENGATE_COOKIE_SECRET_FILES=" + filepath.Join(dir, "short") + "," + missing, "TOKENGATE_COOKIE_SECRETS="},
			key: "cookie.secretFiles[1]", parts: []string{missing}},
		{name: "short cookie key from a file names the file key", env: []string{"TOKENGATE_COOKIE_SECRET_FILES=" + filepath.Join(dir, "short"), "TOKENGATE_COOKIE_SECRETS="},
			key: "cookie.secretFiles[0]", parts: []string{"decodes to 16 bytes; want 32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", validEnv(tt.env...))
			wantProblem(t, err, tt.key, tt.parts...)
		})
	}
	_, err := Load("", validEnv("TOKENGATE_PROVIDER_CLIENT_SECRET_FILE="+missing, "TOKENGATE_PROVIDER_CLIENT_SECRET="))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false; want true", err)
	}
}

// TestErrorsNeverContainSecrets feeds a recognisable secret into every place a secret can be
// and checks that no error message repeats it.
func TestErrorsNeverContainSecrets(t *testing.T) {
	const canary = "CANARY-s3cr3t-value"
	dir := t.TempDir()
	writeFileIn(t, dir, "cs", canary+"\n")
	// A key whose base64 decodes to the wrong length, and one that is not base64 at all.
	shortKey := base64.StdEncoding.EncodeToString([]byte(canary))
	tests := []struct {
		name string
		yaml string
		env  []string
	}{
		{name: "wrong-length cookie key in env", env: []string{"TOKENGATE_COOKIE_SECRETS=" + shortKey + "," + canary}},
		{name: "cookie key in yaml as a scalar", yaml: "cookie:\n  secrets: " + canary + "\n"},
		{name: "cookie key in yaml as a mapping", yaml: "cookie:\n  secrets:\n    " + canary + ": x\n"},
		{name: "client secret as a list", yaml: "provider:\n  clientSecret: [" + canary + "]\n"},
		{name: "client secret and file", env: []string{"TOKENGATE_PROVIDER_CLIENT_SECRET=" + canary, "TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=" + filepath.Join(dir, "cs")}},
		{name: "client secret file read and client id missing", env: []string{"TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=" + filepath.Join(dir, "cs"), "TOKENGATE_PROVIDER_CLIENT_SECRET=", "TOKENGATE_PROVIDER_CLIENT_ID="}},
		{name: "unknown variable", env: []string{"TOKENGATE_PROVIDER_CLIENT_SECRTE=" + canary}},
		{name: "unknown yaml key", yaml: "provider:\n  secret: " + canary + "\n"},
		{name: "password in publicURL", env: []string{"TOKENGATE_PUBLIC_URL=https://user:" + canary + "@auth.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = writeFile(t, "c.yaml", tt.yaml)
			}
			_, err := Load(path, validEnv(tt.env...))
			if err == nil {
				t.Fatal("Load = nil error; want a problem")
			}
			if msg := err.Error(); strings.Contains(msg, canary) || strings.Contains(msg, shortKey) {
				t.Errorf("error contains the secret: %s", msg)
			}
		})
	}
}

func TestCookieKeys(t *testing.T) {
	c := validConfig()
	second := base64.URLEncoding.EncodeToString([]byte(strings.Repeat("\xfb", 32)))
	c.Cookie.Secrets = append(c.Cookie.Secrets, secret.String(second))
	keys, err := c.CookieKeys()
	if err != nil {
		t.Fatalf("CookieKeys: %v", err)
	}
	if len(keys) != 2 || string(keys[0]) != strings.Repeat("\x07", 32) || string(keys[1]) != strings.Repeat("\xfb", 32) {
		t.Errorf("CookieKeys() = %x; want the two keys in order", keys)
	}

	c.Cookie.Secrets = append(c.Cookie.Secrets, "AAAA")
	if _, err := c.CookieKeys(); err == nil || !strings.Contains(err.Error(), "cookie.secrets[2]") {
		t.Errorf("CookieKeys() error = %v; want one naming cookie.secrets[2]", err)
	}
	c.Cookie.Secrets = nil
	if _, err := c.CookieKeys(); err == nil {
		t.Error("CookieKeys() with no keys = nil error; want an error")
	}
}

func writeFileIn(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := writeBytes(filepath.Join(dir, name), content); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
}
