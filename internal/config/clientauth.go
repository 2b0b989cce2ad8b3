package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
)

// Values of Provider.ClientAuth (ENTRA.md, "Client authentication").
const (
	ClientAuthSecret           = "secret"
	ClientAuthCertificate      = "certificate"
	ClientAuthWorkloadIdentity = "workloadIdentity"
)

// Values of ClientCertificate.Algorithm.
const (
	AlgRS256 = "RS256"
	AlgPS256 = "PS256"
)

// DefaultAuthorityHost is Entra's public-cloud login host, used when the workload identity
// webhook injects no AZURE_AUTHORITY_HOST.
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// The variables the Azure Workload Identity webhook injects into a pod.
const (
	EnvAzureClientID           = "AZURE_CLIENT_ID"
	EnvAzureTenantID           = "AZURE_TENANT_ID"
	EnvAzureAuthorityHost      = "AZURE_AUTHORITY_HOST"
	EnvAzureFederatedTokenFile = "AZURE_FEDERATED_TOKEN_FILE"
)

// maxPEMBytes bounds a certificate or key file: a PEM chain is a few KB.
const maxPEMBytes = 1 << 20

// applyWorkloadIdentityEnv fills in, for clientAuth: workloadIdentity, what the workload
// identity webhook injects and the operator left unset: the client id, the issuer of the
// tenant on the authority host, and the federated token file.
func applyWorkloadIdentityEnv(c *Config, environ []string) {
	p := &c.Provider
	if p.ClientAuth != ClientAuthWorkloadIdentity {
		return
	}
	env := lookupEnv(environ)
	if p.ClientID == "" {
		p.ClientID = env(EnvAzureClientID)
	}
	if tenant := env(EnvAzureTenantID); p.IssuerURL == "" && tenant != "" {
		host := env(EnvAzureAuthorityHost)
		if host == "" {
			host = DefaultAuthorityHost
		}
		p.IssuerURL = strings.TrimRight(host, "/") + "/" + tenant + "/v2.0"
	}
	if p.WorkloadIdentity.TokenFile == "" {
		p.WorkloadIdentity.TokenFile = env(EnvAzureFederatedTokenFile)
	}
}

// lookupEnv returns a getter over environ: the first entry of a name wins, as with os.Getenv.
func lookupEnv(environ []string) func(string) string {
	return func(name string) string {
		for _, kv := range environ {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				return v
			}
		}
		return ""
	}
}

// secretless reports whether clientAuth names a mode that needs no client secret.
func (p *Provider) secretless() bool {
	return p.ClientAuth == ClientAuthCertificate || p.ClientAuth == ClientAuthWorkloadIdentity
}

// validateClientAuth checks provider.clientAuth and the keys of the chosen mode. The files
// themselves are checked by Load (checkClientAuthFiles): Validate does no I/O.
func (c *Config) validateClientAuth(ps *problems) {
	p := &c.Provider
	if p.secretless() && (!p.ClientSecret.IsEmpty() || p.ClientSecretFile != "") {
		// Refused rather than ignored: whoever set it believes a secret is in use, and the
		// point of a secretless mode is that no secret exists to leak.
		ps.add("provider.clientSecret", "set, but clientAuth %s sends no secret; remove provider.clientSecret and provider.clientSecretFile", p.ClientAuth)
	}
	switch p.ClientAuth {
	case ClientAuthSecret:
	case ClientAuthCertificate:
		if p.Certificate.CertFile == "" {
			ps.add("provider.certificate.certFile", "required with clientAuth: certificate: a PEM file with the certificate uploaded to the app registration")
		}
		if p.Certificate.KeyFile == "" {
			ps.add("provider.certificate.keyFile", "required with clientAuth: certificate: a PEM file with the certificate's RSA private key")
		}
		if p.Certificate.Algorithm != AlgRS256 && p.Certificate.Algorithm != AlgPS256 {
			ps.add("provider.certificate.algorithm", "%q is not one of RS256, PS256", p.Certificate.Algorithm)
		}
	case ClientAuthWorkloadIdentity:
		if p.WorkloadIdentity.TokenFile == "" {
			ps.add("provider.workloadIdentity.tokenFile", "required with clientAuth: workloadIdentity: set it or %s (the webhook injects it into pods labelled azure.workload.identity/use: \"true\")", EnvAzureFederatedTokenFile)
		}
	default:
		ps.add("provider.clientAuth", "%q is not one of %s, %s, %s", p.ClientAuth, ClientAuthSecret, ClientAuthCertificate, ClientAuthWorkloadIdentity)
	}
}

// checkClientAuthFiles checks the files of the chosen client authentication: the certificate
// and key must parse and belong together, the federated token file must exist. Problems name
// the key and the path, never file content.
func checkClientAuthFiles(c *Config) problems {
	var ps problems
	p := &c.Provider
	switch p.ClientAuth {
	case ClientAuthCertificate:
		if p.Certificate.CertFile != "" && p.Certificate.KeyFile != "" {
			_, _, ps = p.clientCertificate()
		}
	case ClientAuthWorkloadIdentity:
		if path := p.WorkloadIdentity.TokenFile; path != "" {
			if info, err := os.Stat(path); err != nil {
				ps.add("provider.workloadIdentity.tokenFile", "federated token file: %w", err)
			} else if info.IsDir() {
				ps.add("provider.workloadIdentity.tokenFile", "%s is a directory; want the token file", path)
			}
		}
	}
	return ps
}

// ClientCertificate reads provider.certificate: the certificate and its RSA private key.
// Errors name the key and the file, never its content.
func (p *Provider) ClientCertificate() (*x509.Certificate, *rsa.PrivateKey, error) {
	cert, key, ps := p.clientCertificate()
	if err := ps.err(); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func (p *Provider) clientCertificate() (*x509.Certificate, *rsa.PrivateKey, problems) {
	var ps problems
	cert, err := readCertificate(p.Certificate.CertFile)
	if err != nil {
		ps.addErr("provider.certificate.certFile", err)
	}
	key, err := readRSAKey(p.Certificate.KeyFile)
	if err != nil {
		ps.addErr("provider.certificate.keyFile", err)
	}
	if cert == nil || key == nil {
		return nil, nil, ps
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		ps.add("provider.certificate.keyFile", "the key in %s does not belong to the certificate in %s", p.Certificate.KeyFile, p.Certificate.CertFile)
		return nil, nil, ps
	}
	return cert, key, nil
}

func readCertificate(path string) (*x509.Certificate, error) {
	block, err := readPEMBlock(path, "CERTIFICATE", func(t string) bool { return t == "CERTIFICATE" })
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: the CERTIFICATE block does not parse: %w", path, err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("%s: the certificate's key is not RSA; Entra client assertions are RS256 or PS256", path)
	}
	return cert, nil
}

// readRSAKey reads an unencrypted PKCS#1 ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY") RSA key.
func readRSAKey(path string) (*rsa.PrivateKey, error) {
	block, err := readPEMBlock(path, "PRIVATE KEY", func(t string) bool { return strings.HasSuffix(t, "PRIVATE KEY") })
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		// Not %w: x509's parse errors may describe the key's bytes.
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: the RSA PRIVATE KEY block does not parse (PKCS#1)", path)
		}
		return key, nil
	case "PRIVATE KEY":
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: the PRIVATE KEY block does not parse (PKCS#8)", path)
		}
		rsaKey, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s: the private key is not RSA; Entra client assertions are RS256 or PS256", path)
		}
		return rsaKey, nil
	}
	return nil, fmt.Errorf("%s: a %s block is not supported; want an unencrypted RSA PRIVATE KEY or PRIVATE KEY (openssl pkcs8 -topk8 -nocrypt)", path, block.Type)
}

// readPEMBlock returns the first PEM block of the file whose type matches; want names it
// for the error.
func readPEMBlock(path, want string, match func(typ string) bool) (*pem.Block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read PEM file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read PEM file %s: %w", path, err)
	}
	if len(data) > maxPEMBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes; want a PEM file", path, maxPEMBytes)
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%s: no %s PEM block found", path, want)
		}
		if match(block.Type) {
			return block, nil
		}
	}
}
