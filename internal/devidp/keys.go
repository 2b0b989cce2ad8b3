package devidp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint (RFC 7515 §4.1.7); not a security use.
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/jwtpeek"
)

// signingKey is the provider's RSA key with the self-signed certificate Entra publishes
// alongside it (x5c) and its thumbprint, which Entra uses as both kid and x5t.
type signingKey struct {
	priv *rsa.PrivateKey
	kid  string
	jwk  jose.JSONWebKey // public half, for the JWKS
}

// newSigningKey wraps priv, or a new RSA 2048 key when priv is nil, with a fresh
// self-signed certificate.
func newSigningKey(priv *rsa.PrivateKey, now time.Time) (*signingKey, error) {
	if priv == nil {
		var err error
		if priv, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("generate signing key: %w", err)
		}
	} else if priv.N.BitLen() < 2048 {
		return nil, fmt.Errorf("SigningKey: %d bits; want at least 2048", priv.N.BitLen())
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "devidp token signing"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("self-sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	thumb := sha1.Sum(der) //nolint:gosec // see import
	kid := base64.RawURLEncoding.EncodeToString(thumb[:])
	return &signingKey{
		priv: priv,
		kid:  kid,
		jwk: jose.JSONWebKey{
			Key:                       &priv.PublicKey,
			KeyID:                     kid,
			Use:                       "sig",
			Certificates:              []*x509.Certificate{cert},
			CertificateThumbprintSHA1: thumb[:],
		},
	}, nil
}

// jwksJSON is the key set document. Entra's keys carry no "alg"; neither do ours.
func (k *signingKey) jwksJSON() ([]byte, error) {
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.jwk}})
	if err != nil {
		return nil, fmt.Errorf("marshal JWKS: %w", err)
	}
	return b, nil
}

// sign returns a compact RS256 JWT with Entra's header: typ JWT, kid and x5t (same value).
func (k *signingKey) sign(claims map[string]any) (string, error) {
	return k.signWithHeaders(claims, nil)
}

func (k *signingKey) signWithHeaders(claims map[string]any, extra map[jose.HeaderKey]any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", k.kid)
	for name, v := range extra {
		opts = opts.WithHeader(name, v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.RS256,
		Key:       jose.JSONWebKey{Key: k.priv, KeyID: k.kid},
	}, opts)
	if err != nil {
		return "", fmt.Errorf("new signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("marshal claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("serialize token: %w", err)
	}
	return compact, nil
}

// signGraph mimics a Microsoft Graph access token: it is signed over a header holding a
// random nonce, and the published header then holds SHA-256 of that nonce instead. Graph
// can undo that; nobody else can, so the signature does not verify — as with real Graph
// tokens, which clients must treat as opaque (ENTRA.md, "Tokens"). It also returns the
// header that was signed, so the provider's Graph stand-in can undo it (graph.go).
func (k *signingKey) signGraph(claims map[string]any) (token, signedHeader string, err error) {
	nonce := randomToken()
	tok, err := k.signWithHeaders(claims, map[jose.HeaderKey]any{"nonce": nonce})
	if err != nil {
		return "", "", err
	}
	parts, err := jwtpeek.Split(tok)
	if err != nil {
		return "", "", fmt.Errorf("split own token: %w", err)
	}
	dec, err := jwtpeek.Decode(tok)
	if err != nil {
		return "", "", fmt.Errorf("decode own token: %w", err)
	}
	var h map[string]any
	if err := json.Unmarshal(dec.Header, &h); err != nil {
		return "", "", fmt.Errorf("parse own header: %w", err)
	}
	sum := sha256.Sum256([]byte(nonce))
	h["nonce"] = base64.RawURLEncoding.EncodeToString(sum[:])
	raw, err := json.Marshal(h)
	if err != nil {
		return "", "", fmt.Errorf("marshal header: %w", err)
	}
	signedHeader = parts.Header
	parts.Header = base64.RawURLEncoding.EncodeToString(raw)
	return parts.Compact(), signedHeader, nil
}
