package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testfix"
)

// pemFiles is a client certificate and keys in every form the loader meets.
type pemFiles struct {
	cert, pkcs1, pkcs8, otherKey, ecCert, ecKey string
}

var testPEM = sync.OnceValue(func() pemFiles {
	key, err1 := rsa.GenerateKey(rand.Reader, 2048)
	other, err2 := rsa.GenerateKey(rand.Reader, 2048)
	ec, err3 := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err1 != nil || err2 != nil || err3 != nil {
		panic("generate test keys")
	}
	pkcs8, err8 := x509.MarshalPKCS8PrivateKey(key)
	ecPKCS8, errEC8 := x509.MarshalPKCS8PrivateKey(ec)
	if err8 != nil || errEC8 != nil {
		panic("marshal test keys")
	}
	enc := testfix.PEM
	return pemFiles{
		cert:     enc("CERTIFICATE", testfix.SelfSigned(key, time.Now()).Raw),
		pkcs1:    enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)),
		pkcs8:    enc("PRIVATE KEY", pkcs8),
		otherKey: enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(other)),
		ecCert:   enc("CERTIFICATE", testfix.SelfSigned(ec, time.Now()).Raw),
		ecKey:    enc("PRIVATE KEY", ecPKCS8),
	}
})

func TestLoadCertificate(t *testing.T) {
	f := testPEM()
	tests := []struct {
		name     string
		cert     string // file content; "" means no file
		key      string
		env      []string
		wantKey  string // "" means success
		wantText string
	}{
		{name: "PKCS#1 key", cert: f.cert, key: f.pkcs1},
		{name: "PKCS#8 key", cert: f.cert, key: f.pkcs8},
		{name: "key and certificate in one bundle", cert: f.pkcs8 + f.cert, key: f.pkcs8 + f.cert},
		{name: "PS256", cert: f.cert, key: f.pkcs1, env: []string{"TOKENGATE_PROVIDER_CERTIFICATE_ALGORITHM=PS256"}},
		{name: "unknown algorithm", cert: f.cert, key: f.pkcs1, env: []string{"TOKENGATE_PROVIDER_CERTIFICATE_ALGORITHM=ES256"},
			wantKey: "provider.certificate.algorithm", wantText: "RS256, PS256"},
		{name: "key of another certificate", cert: f.cert, key: f.otherKey,
			wantKey: "provider.certificate.keyFile", wantText: "does not belong"},
		{name: "no certificate file", key: f.pkcs1, wantKey: "provider.certificate.certFile", wantText: "no such file"},
		{name: "key file holds only a certificate", cert: f.cert, key: f.cert,
			wantKey: "provider.certificate.keyFile", wantText: "no PRIVATE KEY PEM block"},
		{name: "not PEM", cert: "hello", key: f.pkcs1, wantKey: "provider.certificate.certFile", wantText: "no CERTIFICATE PEM block"},
		{name: "EC certificate", cert: f.ecCert, key: f.pkcs1, wantKey: "provider.certificate.certFile", wantText: "not RSA"},
		{name: "EC key", cert: f.cert, key: f.ecKey, wantKey: "provider.certificate.keyFile", wantText: "not RSA"},
		{name: "encrypted key", cert: f.cert, key: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
			wantKey: "provider.certificate.keyFile", wantText: "unencrypted"},
		{name: "a client secret as well", cert: f.cert, key: f.pkcs1, env: []string{"TOKENGATE_PROVIDER_CLIENT_SECRET=s3cret"},
			wantKey: "provider.clientSecret", wantText: "sends no secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			certPath, keyPath := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
			if tt.cert != "" {
				writeFileIn(t, dir, "tls.crt", tt.cert)
			}
			writeFileIn(t, dir, "tls.key", tt.key)
			env := append(tt.env, "TOKENGATE_PROVIDER_CLIENT_AUTH=certificate", "TOKENGATE_PROVIDER_CLIENT_SECRET=",
				"TOKENGATE_PROVIDER_CERTIFICATE_CERT_FILE="+certPath, "TOKENGATE_PROVIDER_CERTIFICATE_KEY_FILE="+keyPath)
			c, err := Load("", validEnv(env...))
			if tt.wantKey != "" {
				wantProblem(t, err, tt.wantKey, tt.wantText)
				if err != nil && strings.Contains(err.Error(), "MII") {
					t.Errorf("error quotes PEM content: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			cert, key, err := c.Provider.ClientCertificate()
			if err != nil || cert == nil || key == nil || !key.PublicKey.Equal(cert.PublicKey) {
				t.Errorf("ClientCertificate = %v, %v, %v; want the matching pair", cert != nil, key != nil, err)
			}
		})
	}
	t.Run("keys required", func(t *testing.T) {
		_, err := Load("", validEnv("TOKENGATE_PROVIDER_CLIENT_AUTH=certificate", "TOKENGATE_PROVIDER_CLIENT_SECRET="))
		wantProblem(t, err, "provider.certificate.certFile", "required")
		wantProblem(t, err, "provider.certificate.keyFile", "required")
	})
}

func TestLoadWorkloadIdentity(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "azure-identity-token")
	writeFileIn(t, dir, "azure-identity-token", "eyJ.federated.token")
	azure := []string{
		"AZURE_CLIENT_ID=00000000-1111-4222-8333-444444444444",
		"AZURE_TENANT_ID=72f988bf-0000-4000-8000-000000000001",
		"AZURE_FEDERATED_TOKEN_FILE=" + tokenFile,
	}
	// Only what the webhook injects: no issuer, no client id, no secret in tokengate's config.
	minimal := []string{"TOKENGATE_PUBLIC_URL=https://auth.example.com", "TOKENGATE_COOKIE_SECRETS=" + testKey,
		"TOKENGATE_PROVIDER_CLIENT_AUTH=workloadIdentity"}
	tests := []struct {
		name       string
		env        []string
		wantIssuer string
		wantClient string
		wantFile   string
		wantKey    string
		wantText   string
	}{
		{name: "all from the webhook's variables", env: append(minimal, azure...),
			wantIssuer: "https://login.microsoftonline.com/72f988bf-0000-4000-8000-000000000001/v2.0",
			wantClient: "00000000-1111-4222-8333-444444444444", wantFile: tokenFile},
		{name: "sovereign cloud authority host", env: append(append(minimal, "AZURE_AUTHORITY_HOST=https://login.microsoftonline.us"), azure...),
			wantIssuer: "https://login.microsoftonline.us/72f988bf-0000-4000-8000-000000000001/v2.0",
			wantClient: "00000000-1111-4222-8333-444444444444", wantFile: tokenFile},
		{name: "configuration wins", env: append(append(minimal,
			"TOKENGATE_PROVIDER_ISSUER_URL=https://login.microsoftonline.com/other/v2.0",
			"TOKENGATE_PROVIDER_CLIENT_ID=configured",
			"TOKENGATE_PROVIDER_WORKLOAD_IDENTITY_TOKEN_FILE="+tokenFile), "AZURE_FEDERATED_TOKEN_FILE=/nowhere"),
			wantIssuer: "https://login.microsoftonline.com/other/v2.0", wantClient: "configured", wantFile: tokenFile},
		{name: "no token file anywhere", env: append(minimal, azure[:2]...),
			wantKey: "provider.workloadIdentity.tokenFile", wantText: "AZURE_FEDERATED_TOKEN_FILE"},
		{name: "token file missing", env: append(minimal, "AZURE_FEDERATED_TOKEN_FILE="+filepath.Join(dir, "absent"), azure[0], azure[1]),
			wantKey: "provider.workloadIdentity.tokenFile", wantText: "no such file"},
		{name: "token file is a directory", env: append(minimal, "AZURE_FEDERATED_TOKEN_FILE="+dir, azure[0], azure[1]),
			wantKey: "provider.workloadIdentity.tokenFile", wantText: "directory"},
		{name: "no tenant", env: append(minimal, azure[0], azure[2]), wantKey: "provider.issuerURL", wantText: "required"},
		{name: "a client secret file as well", env: append(append(minimal, "TOKENGATE_PROVIDER_CLIENT_SECRET_FILE="+tokenFile), azure...),
			wantKey: "provider.clientSecret", wantText: "sends no secret"},
		{name: "the variables mean nothing with a secret", env: append(validEnv(), azure...),
			wantIssuer: "https://login.microsoftonline.com/tenant/v2.0", wantClient: "client-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load("", tt.env)
			if tt.wantKey != "" {
				wantProblem(t, err, tt.wantKey, tt.wantText)
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			p := c.Provider
			if p.IssuerURL != tt.wantIssuer || p.ClientID != tt.wantClient || p.WorkloadIdentity.TokenFile != tt.wantFile {
				t.Errorf("issuer %q, client %q, token file %q; want %q, %q, %q",
					p.IssuerURL, p.ClientID, p.WorkloadIdentity.TokenFile, tt.wantIssuer, tt.wantClient, tt.wantFile)
			}
		})
	}
}

func TestValidateClientAuth(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(c *Config)
		wantKey  string
		wantText string
	}{
		{name: "unknown mode", edit: func(c *Config) { c.Provider.ClientAuth = "managedIdentity" }, wantKey: "provider.clientAuth", wantText: "workloadIdentity"},
		{name: "secret mode needs a secret", edit: func(c *Config) { c.Provider.ClientSecret = "" }, wantKey: "provider.clientSecret", wantText: "clientSecretFile"},
		{name: "workload identity needs no secret", edit: func(c *Config) {
			c.Provider.ClientAuth, c.Provider.ClientSecret, c.Provider.WorkloadIdentity.TokenFile = ClientAuthWorkloadIdentity, "", "/t"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(c)
			err := c.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Errorf("Validate = %v; want nil", err)
				}
				return
			}
			wantProblem(t, err, tt.wantKey, tt.wantText)
		})
	}
}
