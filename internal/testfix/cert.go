package testfix

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync"
	"time"
)

// SelfSigned returns a certificate for key, signed by key, valid from an hour before now to a
// day after: what a client registers on an app registration for certificate credentials.
// Each has a random serial number. It panics on failure, which only a broken key can
// cause, so that it may seed a sync.OnceValue shared by a package's tests.
func SelfSigned(key crypto.Signer, now time.Time) *x509.Certificate {
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic("testfix: serial number: " + err.Error())
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: "tokengate"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic("testfix: create certificate: " + err.Error())
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic("testfix: parse certificate: " + err.Error())
	}
	return cert
}

// PEM encodes der as one PEM block of type typ ("CERTIFICATE", "PRIVATE KEY", …).
func PEM(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// ClusterKey is the P-256 key of the test cluster's service-account issuer, which signs
// federated tokens. It is generated once per test binary.
var ClusterKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("testfix: generate cluster key: " + err.Error())
	}
	return k
})
