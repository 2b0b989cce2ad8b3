package idp

import (
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// The assertion carries what Entra checks, and a fresh jti every time.
func TestCertificateAssertionClaims(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	key := testKeys().client
	cert := registeredCert()
	sha1Sum, sha256Sum := sha1.Sum(cert.Raw), sha256.Sum256(cert.Raw) //nolint:gosec // see import
	tests := []struct {
		name      string
		alg       string
		wantAlg   string
		wantThumb string
		header    string
	}{
		{name: "default is RS256 with x5t", alg: "", wantAlg: "RS256", header: "x5t", wantThumb: base64.RawURLEncoding.EncodeToString(sha1Sum[:])},
		{name: "PS256 with x5t#S256", alg: AlgPS256, wantAlg: "PS256", header: "x5t#S256", wantThumb: base64.RawURLEncoding.EncodeToString(sha256Sum[:])},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth, err := newCertificateAuth(clientID, ClientAuthConfig{Certificate: cert, PrivateKey: key, Algorithm: tc.alg}, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			if s, style := auth.endpointAuth(); s != "" || style != oauth2.AuthStyleInParams {
				t.Errorf("endpointAuth = %q, %v; want no secret, in params", s, style)
			}
			var jtis []string
			for range 2 {
				params, err := auth.params("https://login.example/tenant/oauth2/v2.0/token")
				if err != nil {
					t.Fatal(err)
				}
				if params.Get("client_assertion_type") != ClientAssertionType {
					t.Errorf("client_assertion_type = %q", params.Get("client_assertion_type"))
				}
				jws, err := jose.ParseSignedCompact(params.Get("client_assertion"), []jose.SignatureAlgorithm{jose.RS256, jose.PS256})
				if err != nil {
					t.Fatal(err)
				}
				h := jws.Signatures[0].Protected
				if h.Algorithm != tc.wantAlg || h.ExtraHeaders[jose.HeaderKey(tc.header)] != tc.wantThumb {
					t.Errorf("header alg %s %s %v; want %s %s", h.Algorithm, tc.header, h.ExtraHeaders[jose.HeaderKey(tc.header)], tc.wantAlg, tc.wantThumb)
				}
				payload, err := jws.Verify(&key.PublicKey)
				if err != nil {
					t.Fatalf("signature: %v", err)
				}
				var c map[string]any
				_ = json.Unmarshal(payload, &c)
				if c["iss"] != clientID || c["sub"] != clientID || c["aud"] != "https://login.example/tenant/oauth2/v2.0/token" {
					t.Errorf("iss, sub, aud = %v, %v, %v", c["iss"], c["sub"], c["aud"])
				}
				if c["iat"] != float64(now.Unix()) || c["nbf"] != float64(now.Unix()) || c["exp"] != float64(now.Add(5*time.Minute).Unix()) {
					t.Errorf("iat, nbf, exp = %v, %v, %v; want now, now, now+5m", c["iat"], c["nbf"], c["exp"])
				}
				jti, _ := c["jti"].(string)
				jtis = append(jtis, jti)
			}
			if jtis[0] == "" || jtis[0] == jtis[1] {
				t.Errorf("jti %q then %q; want a fresh one per assertion", jtis[0], jtis[1])
			}
		})
	}
}

func TestNewClientAuthConfigErrors(t *testing.T) {
	key := testKeys().client
	cert := registeredCert()
	base := Config{IssuerURL: "http://127.0.0.1:1/t/v2.0", ClientID: clientID, HTTPClient: http.DefaultClient}
	tests := []struct {
		name     string
		auth     ClientAuthConfig
		method   string
		wantText string
	}{
		{name: "unknown mode", auth: ClientAuthConfig{Mode: "kerberos"}, wantText: "unknown client authentication mode"},
		{name: "unknown secret method", auth: ClientAuthConfig{Mode: ClientAuthSecret}, method: "client_secret_jwt", wantText: "unknown client auth method"},
		{name: "certificate without key", auth: ClientAuthConfig{Mode: ClientAuthCertificate, Certificate: cert}, wantText: "private key"},
		{name: "key of another certificate", auth: ClientAuthConfig{Mode: ClientAuthCertificate, Certificate: cert, PrivateKey: testKeys().other}, wantText: "does not belong"},
		{name: "unknown algorithm", auth: ClientAuthConfig{Mode: ClientAuthCertificate, Certificate: cert, PrivateKey: key, Algorithm: "HS256"}, wantText: "not RS256 or PS256"},
		{name: "workload identity without file", auth: ClientAuthConfig{Mode: ClientAuthWorkloadIdentity}, wantText: "AZURE_FEDERATED_TOKEN_FILE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.ClientAuth, cfg.AuthMethod = tc.auth, tc.method
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("New err = %v; want it to mention %q", err, tc.wantText)
			}
		})
	}
}

func TestFederatedTokenFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content *string // nil: no file
		want    string  // "": an error wrapping ErrInvalidClient
	}{
		{name: "trailing newline trimmed", content: ptr("header.payload.sig\n"), want: "header.payload.sig"},
		{name: "missing"},
		{name: "empty", content: ptr("\n")},
		{name: "too large", content: ptr(strings.Repeat("a", maxFederatedToken+1))},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "f"+string(rune('a'+i)))
			if tc.content != nil {
				writeFile(t, path, *tc.content)
			}
			params, err := federatedAuth{path: path}.params("ignored")
			if tc.want == "" {
				if !errors.Is(err, ErrInvalidClient) {
					t.Errorf("err = %v; want ErrInvalidClient", err)
				}
				if tc.content != nil && len(*tc.content) > 2 && strings.Contains(err.Error(), *tc.content) {
					t.Error("error quotes the file content")
				}
				return
			}
			if err != nil || params.Get("client_assertion") != tc.want {
				t.Errorf("client_assertion = %q, %v; want %q", params.Get("client_assertion"), err, tc.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }
