package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/config"
)

func TestRunCommands(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badConfig, []byte("publicURL: http://auth.example.com\nprovider:\n  clientID: x\n  clientSecret: s3cr3t-value\ncookie:\n  secrets: [c2hvcnQ=]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unknownKey := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknownKey, []byte("publicURL: https://auth.example.com\nproviderr: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badPreset := filepath.Join(dir, "preset.yaml")
	if err := os.WriteFile(badPreset, []byte(`publicURL: https://auth.example.com
provider:
  issuerURL: https://login.microsoftonline.com/t/v2.0
  clientID: x
  clientSecret: s
cookie:
  secrets: [AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=]
dashboards:
  - name: grafana
    preset: graphana
    hosts: [grafana.example.com]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string
		notWantOut []string
	}{
		{name: "version", args: []string{"version"}, wantCode: 0, wantOut: []string{"tokengate dev"}},
		{name: "no command", args: nil, wantCode: exitUsage, wantOut: []string{"usage:"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantOut: []string{`unknown command "frobnicate"`}},
		{name: "bad flag", args: []string{"serve", "--nope"}, wantCode: exitUsage, wantOut: []string{"nope"}},
		{
			name: "invalid config names every key and hides secrets", args: []string{"serve", "--config", badConfig}, wantCode: exitUsage,
			wantOut:    []string{"publicURL", "provider.issuerURL", "cookie.secrets[0]"},
			notWantOut: []string{"s3cr3t-value", "c2hvcnQ="},
		},
		{name: "unknown preset", args: []string{"serve", "--config", badPreset}, wantCode: exitUsage, wantOut: []string{`dashboards[0].preset: unknown preset "graphana"`}},
		{name: "unknown key", args: []string{"serve", "--config", unknownKey}, wantCode: exitUsage, wantOut: []string{"providerr"}},
		{name: "missing file", args: []string{"serve", "--config", filepath.Join(dir, "nope.yaml")}, wantCode: exitUsage, wantOut: []string{"nope.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			code := run(t.Context(), tc.args, &out, &out)
			if code != tc.wantCode {
				t.Errorf("exit code = %d; want %d\n%s", code, tc.wantCode, out.String())
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.notWantOut {
				if strings.Contains(out.String(), w) {
					t.Errorf("output contains %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// The demo is what a newcomer sees first: it must sign in and show an AKS-audience token
// that the local check accepts, and say that no API server gave that verdict.
func TestDemoSignsInAndShowsAKSToken(t *testing.T) {
	d := startTestDemo(t)

	b := browser.New(nil)
	page, err := b.Navigate(d.dashboardURL)
	if err != nil {
		t.Fatal(err)
	}
	page, err = b.SignIn(page, "many", "password")
	if err != nil {
		t.Fatal(err)
	}
	body := string(page.Body)
	for _, want := range []string{"Checked locally: no Kubernetes API server", "make kube", "it would accept this token",
		config.AKSServerAppID, "Groups (200)", "many@contoso.example"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard page lacks %q (status %d at %s)", want, page.Status, page.URL)
		}
	}
}

// The README's configuration table is the reference people read; a new key must appear there.
func TestREADMEDocumentsEveryKey(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range config.Keys() {
		if !strings.Contains(string(readme), "`"+k.Path+"`") {
			t.Errorf("README.md does not document the config key %s", k.Path)
		}
	}
}
