package testfix

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestClock(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewClock(start)
	c.Advance(90 * time.Second)
	if got, want := c.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("after Advance: got %v; want %v", got, want)
	}
	c.Set(start)
	if got := c.Now(); !got.Equal(start) {
		t.Errorf("after Set: got %v; want %v", got, start)
	}
}

func TestSelfSigned(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
	}{
		{name: "RSA", cert: SelfSigned(rsaKey, now)},
		{name: "ECDSA", cert: SelfSigned(ecKey, now)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cert.CheckSignature(tc.cert.SignatureAlgorithm, tc.cert.RawTBSCertificate, tc.cert.Signature); err != nil {
				t.Errorf("not self-signed: %v", err)
			}
			if !tc.cert.NotBefore.Before(now) || !tc.cert.NotAfter.After(now) {
				t.Errorf("valid %v to %v; want now (%v) inside", tc.cert.NotBefore, tc.cert.NotAfter, now)
			}
		})
	}
}

func TestFederatedSign(t *testing.T) {
	iat := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		fed     Federated
		wantExp time.Time
		wantJTI any
	}{
		{name: "default lifetime", fed: Federated{Issuer: "https://cluster/", Subject: "system:serviceaccount:a:b", Audience: "api://AzureADTokenExchange", IssuedAt: iat},
			wantExp: iat.Add(time.Hour)},
		{name: "expiry and jti", fed: Federated{Issuer: "https://cluster/", Subject: "s", Audience: "aud", ID: "j1", IssuedAt: iat, Expiry: iat.Add(-time.Minute)},
			wantExp: iat.Add(-time.Minute), wantJTI: "j1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.fed.Sign(t, ClusterKey(), jose.ES256)
			jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatal(err)
			}
			payload, err := jws.Verify(&ClusterKey().PublicKey)
			if err != nil {
				t.Fatalf("signature: %v", err)
			}
			var c map[string]any
			if err := json.Unmarshal(payload, &c); err != nil {
				t.Fatal(err)
			}
			if c["iss"] != tc.fed.Issuer || c["sub"] != tc.fed.Subject || c["jti"] != tc.wantJTI {
				t.Errorf("claims %v; want iss %q sub %q jti %v", c, tc.fed.Issuer, tc.fed.Subject, tc.wantJTI)
			}
			if aud, _ := c["aud"].([]any); len(aud) != 1 || aud[0] != tc.fed.Audience {
				t.Errorf("aud %v; want [%q]", c["aud"], tc.fed.Audience)
			}
			if c["iat"] != float64(iat.Unix()) || c["nbf"] != float64(iat.Unix()) || c["exp"] != float64(tc.wantExp.Unix()) {
				t.Errorf("iat %v nbf %v exp %v; want %d %d %d", c["iat"], c["nbf"], c["exp"], iat.Unix(), iat.Unix(), tc.wantExp.Unix())
			}
			if typ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType]; typ != "JWT" {
				t.Errorf("typ %v; want JWT", typ)
			}
		})
	}
}
