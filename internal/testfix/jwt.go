package testfix

import (
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// SignJWT signs claims as a compact JWT with key (a crypto.Signer, a jose.JSONWebKey for a
// kid, or []byte for HMAC) and alg, with "typ": "JWT" plus the header fields given.
func SignJWT(tb testing.TB, key any, alg jose.SignatureAlgorithm, header map[string]any, claims map[string]any) string {
	tb.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	for k, v := range header {
		opts = opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		tb.Fatalf("testfix: signer: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatalf("testfix: marshal claims: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		tb.Fatalf("testfix: sign: %v", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		tb.Fatalf("testfix: serialize: %v", err)
	}
	return raw
}

// Federated is a projected service-account token as the kubelet writes it for workload
// identity: the client assertion Entra exchanges for the app's own token.
type Federated struct {
	Issuer, Subject, Audience string
	ID                        string // jti; left out when empty
	IssuedAt                  time.Time
	Expiry                    time.Time // an hour after IssuedAt when zero
}

// Sign signs f with key and alg. iat and nbf are IssuedAt and aud is a list of one, as the
// kubelet writes them.
func (f Federated) Sign(tb testing.TB, key any, alg jose.SignatureAlgorithm) string {
	tb.Helper()
	exp := f.Expiry
	if exp.IsZero() {
		exp = f.IssuedAt.Add(time.Hour)
	}
	claims := map[string]any{"iss": f.Issuer, "sub": f.Subject, "aud": []string{f.Audience},
		"iat": f.IssuedAt.Unix(), "nbf": f.IssuedAt.Unix(), "exp": exp.Unix()}
	if f.ID != "" {
		claims["jti"] = f.ID
	}
	return SignJWT(tb, key, alg, nil, claims)
}
