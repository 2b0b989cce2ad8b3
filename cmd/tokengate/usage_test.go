package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHelpExitsZero: asking a command for help is not a mistake, so every command answers
// -h/--help with its flags on stdout and exit status 0.
func TestHelpExitsZero(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "top level", args: []string{"--help"}, want: "usage: tokengate <command>"},
		{name: "help command", args: []string{"help"}, want: "usage: tokengate <command>"},
		{name: "serve", args: []string{"serve", "--help"}, want: "-config"},
		{name: "serve -h", args: []string{"serve", "-h"}, want: "-config"},
		{name: "doctor", args: []string{"doctor", "--help"}, want: "-offline"},
		{name: "demo", args: []string{"demo", "--help"}, want: "-token-lifetime"},
		{name: "version", args: []string{"version", "--help"}, want: "tokengate "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), tt.args, &stdout, &stderr); code != 0 {
				t.Errorf("exit code = %d; want 0\nstderr: %s", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.want) {
				t.Errorf("stdout = %q; want it to contain %q", stdout.String(), tt.want)
			}
			if strings.Contains(stderr.String(), "help requested") {
				t.Errorf("stderr = %q; want no \"help requested\"", stderr.String())
			}
		})
	}
}

// TestConfigErrorLines: an invalid configuration is a list of plain
// "tokengate: invalid configuration: key: reason" lines, each key once, without "usage";
// a missing or unparsable file is reported alone, without the "required" lines that would
// only follow from it.
func TestConfigErrorLines(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name      string
		path      string
		wantLines int      // exact number of lines; 0: do not check
		wantKeys  []string // each must appear on exactly one line
	}{
		{name: "missing file", path: filepath.Join(dir, "nope.yaml"), wantLines: 1, wantKeys: []string{"nope.yaml: read configuration file"}},
		{name: "YAML syntax error", path: write("syntax.yaml", "publicURL: [\n"), wantLines: 1, wantKeys: []string{"syntax.yaml: parse"}},
		{
			name: "placeholders and a key with two reasons",
			path: write("placeholder.yaml", `publicURL: https://auth.example.com
provider:
  issuerURL: https://login.microsoftonline.com/<tenant-id>/v2.0
  clientID: 00000000-0000-0000-0000-000000000000
  clientSecret: s
  scopes: [profile]
cookie:
  secrets: [AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=]
`),
			wantLines: 3,
			wantKeys:  []string{"provider.issuerURL: contains a <…> placeholder", "provider.clientID: contains the all-zero GUID", "provider.scopes: must contain openid"},
		},
		{
			name: "example.com issuer",
			path: write("exampleissuer.yaml", `publicURL: https://auth.example.com
provider:
  issuerURL: https://idp.example.com/v2.0
  clientID: app
  clientSecret: s
cookie:
  secrets: [AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=]
`),
			wantLines: 1,
			wantKeys:  []string{"provider.issuerURL: is on example.com"},
		},
		{
			name: "several cookie-store replicas with a rotating provider",
			path: write("replicas.yaml", `publicURL: https://auth.contoso.test
replicas: 3
provider:
  issuerURL: https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0
  clientID: app
  clientSecret: s
  refreshTokenReuseDetection: true
cookie:
  secrets: [AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=]
`),
			wantLines: 1,
			wantKeys:  []string{"replicas: 3 replicas on session.store cookie"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), []string{"serve", "--config", tt.path}, &stdout, &stderr); code != exitUsage {
				t.Errorf("exit code = %d; want %d", code, exitUsage)
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if tt.wantLines > 0 && len(lines) != tt.wantLines {
				t.Errorf("got %d lines; want %d:\n%s", len(lines), tt.wantLines, stderr.String())
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, "tokengate: invalid configuration: ") || strings.Contains(l, "usage") {
					t.Errorf("line %q; want the prefix \"tokengate: invalid configuration: \" and no \"usage\"", l)
				}
			}
			for _, k := range tt.wantKeys {
				if n := strings.Count(stderr.String(), k); n != 1 {
					t.Errorf("%q appears %d times; want once:\n%s", k, n, stderr.String())
				}
			}
		})
	}
}

// TestShippedConfigPassesDoctor: deploy/config.example.yaml, which operators copy, passes
// `tokengate doctor --offline` with its secret files in place. (The chart's values files are
// checked the same way by deploy/check, on the config.yaml they render.)
func TestShippedConfigPassesDoctor(t *testing.T) {
	dir := t.TempDir()
	secret := writeTemp(t, dir, "client-secret", "s3cret\n")
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	cookie := writeTemp(t, dir, "cookie-secret", base64.StdEncoding.EncodeToString(key)+"\n")
	var stdout, stderr bytes.Buffer
	err := runDoctor(t.Context(), []string{"--offline", "--config", "../../deploy/config.example.yaml"}, doctorDeps{
		stdout: &stdout, stderr: &stderr, now: time.Now,
		environ: []string{"TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=" + secret, "TOKENGATE_COOKIE_SECRET_FILES=" + cookie},
	})
	if err != nil {
		t.Errorf("doctor --offline on the example: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "0 failed") {
		t.Errorf("report = %s; want 0 failed", stdout.String())
	}
}
