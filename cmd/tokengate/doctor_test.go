package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/devidp"
)

const (
	doctorClientID = "doctor-cmd-client"
	doctorSecret   = "doctor-cmd-secret-41b7"
)

// unsignedJWT builds a JWT with a made-up signature: doctor never checks signatures.
func unsignedJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"k1"}`)) + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString([]byte("signature-bytes-that-must-not-leak"))
}

func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// doctorExitCode maps runDoctor's error to the exit status as run does.
func doctorExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return exitUsage
	}
	return 1
}

func TestDoctorCommand(t *testing.T) {
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	idp, err := devidp.New(devidp.Config{BaseURL: srv.URL, Clients: []devidp.Client{{ID: doctorClientID, Secret: doctorSecret, RedirectURIs: []string{"https://auth.example.com/oauth2/callback"}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = idp.Handler()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	cookieKey := base64.StdEncoding.EncodeToString(k)
	dir := t.TempDir()
	configFor := func(name, secret string) string {
		return writeTemp(t, dir, name, "publicURL: https://auth.example.com\nallowedRedirectDomains: [.example.com]\nprovider:\n  issuerURL: "+idp.Issuer()+
			"\n  clientID: "+doctorClientID+"\n  clientSecret: "+secret+"\ncookie:\n  domain: .example.com\n  secrets: ["+cookieKey+"]\n"+
			"dashboards:\n  - {name: headlamp, preset: headlamp, hosts: [headlamp.example.com]}\n")
	}
	good := configFor("good.yaml", doctorSecret)
	badSecret := configFor("bad.yaml", "not-the-secret-9d2")
	now := time.Now()
	exp := float64(now.Add(time.Hour).Unix())
	aksToken := unsignedJWT(t, map[string]any{"aud": config.AKSServerAppID, "iss": "https://sts.windows.net/t/", "ver": "1.0", "scp": "user.read",
		"appid": doctorClientID, "upn": "alice@example.com", "oid": "o1", "groups": []string{"g1"}, "exp": exp})
	idToken := unsignedJWT(t, map[string]any{"aud": doctorClientID, "iss": "https://login.microsoftonline.com/t/v2.0", "ver": "2.0", "nonce": "n", "exp": exp, "oid": "o1"})
	tokenFile := writeTemp(t, dir, "token.jwt", aksToken+"\n")
	structured := writeTemp(t, dir, "authn.yaml", "apiVersion: apiserver.config.k8s.io/v1beta1\nkind: AuthenticationConfiguration\njwt:\n"+
		"  - issuer: {url: 'https://login.microsoftonline.com/t/v2.0', audiences: ["+doctorClientID+"]}\n"+
		"    claimMappings:\n      username: {claim: oid, prefix: ''}\n")
	brokenStructured := writeTemp(t, dir, "broken.yaml", "kind: Nope\n")
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		want     []string
	}{
		{name: "healthy configuration", args: []string{"--config", good}, wantCode: 0,
			want: []string{"✓ client credentials — accepted", "✓ dashboard headlamp", "0 failed"}},
		{name: "bad client secret", args: []string{"--config", badSecret}, wantCode: 1,
			want: []string{"✗ client credentials — the provider rejected the client secret as invalid (AADSTS7000215)", "1 failed"}},
		{name: "AKS token from a file", args: []string{"--token", tokenFile}, wantCode: 0,
			want: []string{"✓ audience — aud is the AKS server app", "✓ username — AKS names the user alice@example.com (upn)"}},
		{name: "id_token on standard input", args: []string{"--token", "-"}, stdin: idToken, wantCode: 1,
			want: []string{"✗ token kind — an id_token", "✗ audience"}},
		{name: "configuration and token together", args: []string{"--config", good, "--token", "-"}, stdin: "Bearer " + aksToken, wantCode: 0,
			want: []string{"✓ issuer matches", "✓ audience"}},
		{name: "structured authentication without the prefix", args: []string{"--token", "-", "--structured-auth", structured}, stdin: idToken, wantCode: 1,
			want: []string{"✓ authenticator — jwt[0] takes it", `✗ username — maps to "o1", which does not start with "aks:jwt:"`}},
		{name: "unparsable structured authentication", args: []string{"--token", tokenFile, "--structured-auth", brokenStructured}, wantCode: 1,
			want: []string{`✗ structured auth — structured authentication: kind is "Nope"`}},
		{name: "no flags", args: nil, wantCode: exitUsage},
		{name: "structured auth without a token", args: []string{"--config", good, "--structured-auth", structured}, wantCode: exitUsage},
		{name: "missing token file", args: []string{"--token", filepath.Join(dir, "nope.jwt")}, wantCode: exitUsage},
		{name: "stray argument", args: []string{"--config", good, "extra"}, wantCode: exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runDoctor(t.Context(), tc.args, doctorDeps{stdin: strings.NewReader(tc.stdin), stdout: &out, stderr: &errOut, now: func() time.Time { return now }})
			if got := doctorExitCode(err); got != tc.wantCode {
				t.Errorf("exit code = %d (%v); want %d\n%s", got, err, tc.wantCode, out.String())
			}
			all := out.String() + errOut.String()
			if err != nil {
				all += err.Error()
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			for _, leak := range []string{doctorSecret, "not-the-secret-9d2", cookieKey, aksToken, idToken, strings.Split(aksToken, ".")[1], strings.Split(aksToken, ".")[2]} {
				if strings.Contains(all, leak) {
					t.Errorf("output contains a secret or raw token (%.12s…):\n%s", leak, all)
				}
			}
		})
	}
}

func TestDoctorThroughRun(t *testing.T) {
	var out bytes.Buffer
	if code := run(t.Context(), []string{"doctor"}, &out, &out); code != exitUsage {
		t.Errorf("doctor without flags: exit %d; want %d\n%s", code, exitUsage, out.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"help"}, &out, &out); code != 0 || !strings.Contains(out.String(), "doctor --config FILE [--offline] [--token FILE|-] [--structured-auth FILE]") {
		t.Errorf("help: exit %d, usage lacks doctor:\n%s", code, out.String())
	}
	path := writeTemp(t, t.TempDir(), "token.jwt", "not-a-jwt")
	out.Reset()
	if code := run(t.Context(), []string{"doctor", "--token", path}, &out, &out); code != 1 || !strings.Contains(out.String(), "✗ token — not a JWT") {
		t.Errorf("doctor --token garbage: exit %d; want 1 and the diagnosis\n%s", code, out.String())
	}
}
