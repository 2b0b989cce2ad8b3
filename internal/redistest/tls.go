package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLS is a test CA and one certificate for 127.0.0.1 that every node presents, as files
// for redis-server and as a pool for clients.
type TLS struct {
	CAFile, CertFile, KeyFile string
	Pool                      *x509.CertPool
}

// NewTLS creates the CA and the certificate in a temporary directory.
func NewTLS(t testing.TB) *TLS {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redistest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature,
		// Nodes are servers to clients and clients to each other (replication, cluster bus).
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := &TLS{
		CAFile:   writePEM(t, filepath.Join(dir, "ca.crt"), "CERTIFICATE", caDER),
		CertFile: writePEM(t, filepath.Join(dir, "redis.crt"), "CERTIFICATE", leafDER),
		KeyFile:  writePEM(t, filepath.Join(dir, "redis.key"), "EC PRIVATE KEY", keyDER),
		Pool:     x509.NewCertPool(),
	}
	out.Pool.AddCert(ca)
	return out
}

// ClientConfig trusts the test CA only.
func (c *TLS) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: c.Pool, MinVersion: tls.VersionTLS12}
}

// serverArgs are redis-server's options to serve (and replicate, and gossip) only over TLS
// on port.
func (c *TLS) serverArgs(port string) []string {
	return []string{"--port", "0", "--tls-port", port, "--tls-cert-file", c.CertFile,
		"--tls-key-file", c.KeyFile, "--tls-ca-cert-file", c.CAFile, "--tls-auth-clients", "no",
		"--tls-replication", "yes"}
}

func writePEM(t testing.TB, path, kind string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
