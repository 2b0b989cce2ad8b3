package devidp

import (
	"crypto"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint (RFC 7515 §4.1.7); not a security use.
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// clientAssertionType is the only client_assertion_type Entra accepts (RFC 7523 §2.2).
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// DefaultFederatedAudience is the audience Entra expects in a federated (workload identity)
// token when a federated credential names none.
const DefaultFederatedAudience = "api://AzureADTokenExchange"

// assertionSkew is how far in the future an assertion's nbf or iat may lie: clocks of two
// machines differ a little. Expiry gets no grace, so expired assertions fail exactly.
const assertionSkew = time.Minute

// FederatedCredential is a workload-identity federated credential of an app registration:
// Entra accepts a client assertion issued by Issuer for Subject with Audience, signed by the
// issuer. devidp has no JWKS fetching; Key is the issuer's public key.
type FederatedCredential struct {
	// Issuer is the token's iss, e.g. the AKS cluster's OIDC issuer URL.
	Issuer string
	// Subject is the token's sub, e.g. system:serviceaccount:tokengate:tokengate.
	Subject string
	// Audience must be in the token's aud; default DefaultFederatedAudience.
	Audience string
	// Key verifies the token's signature (*rsa.PublicKey or *ecdsa.PublicKey).
	Key crypto.PublicKey
}

func (f *FederatedCredential) audience() string {
	if f.Audience == "" {
		return DefaultFederatedAudience
	}
	return f.Audience
}

// assertionState remembers the jti of accepted certificate assertions until they expire, so
// none is accepted twice, and the jti of every accepted assertion for tests. The zero value
// is ready.
type assertionState struct {
	mu       sync.Mutex
	used     map[string]time.Time // jti → the assertion's expiry
	accepted []string
}

// AcceptedAssertions lists the jti of every client assertion the token endpoint accepted
// (certificate and federated), oldest first: tests read it to see which assertion a client
// sent.
func (p *Provider) AcceptedAssertions() []string {
	p.assertions.mu.Lock()
	defer p.assertions.mu.Unlock()
	return slices.Clone(p.assertions.accepted)
}

// assertionClaims are the claims of a client assertion devidp checks.
type assertionClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	Expiry    int64    `json:"exp"`
	NotBefore int64    `json:"nbf"`
	IssuedAt  int64    `json:"iat"`
	JTI       string   `json:"jti"`
}

// audience is a JWT aud: one string or a list (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("aud is neither a string nor a list of strings: %w", err)
	}
	*a = many
	return nil
}

// authenticateAssertion checks a client assertion as Entra does: an assertion whose iss is
// the client itself is signed with one of the client's certificates (private_key_jwt);
// any other is a federated token that one of the client's federated credentials must match.
// id is the form's client_id, which a certificate assertion may leave out.
func (p *Provider) authenticateAssertion(id string, form url.Values) (*Client, *entraError) {
	jws, err := jose.ParseSignedCompact(form.Get("client_assertion"),
		[]jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, invalidClient(700027, "Client assertion failed signature validation: it is not a signed JWT.")
	}
	switch form.Get("client_assertion_type") {
	case clientAssertionType:
	case "":
		return nil, missingParam("client_assertion_type")
	default:
		return nil, invalidRequest(50027, "The client_assertion_type is not supported; want "+clientAssertionType+".")
	}
	var claims assertionClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return nil, invalidClient(700027, "Client assertion failed signature validation: its claims are not a JSON object.")
	}
	if id == "" {
		id = claims.Issuer
	}
	c := p.clients[id]
	if c == nil {
		return nil, unknownClient(id, p.cfg.TenantID)
	}
	if claims.Issuer == c.ID {
		return c, p.verifyCertificateAssertion(c, jws, claims)
	}
	return c, p.verifyFederatedAssertion(c, jws, claims)
}

// verifyCertificateAssertion checks a private_key_jwt assertion: a registered certificate
// named by x5t or x5t#S256, its signature, sub = iss = client id, aud = our token
// endpoint, the validity window, and a jti never seen before.
func (p *Provider) verifyCertificateAssertion(c *Client, jws *jose.JSONWebSignature, claims assertionClaims) *entraError {
	header := jws.Signatures[0].Protected
	cert, thumb := c.certificateFor(header.ExtraHeaders)
	if cert == nil {
		return invalidClient(700027, fmt.Sprintf("The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '%s']", thumb))
	}
	if _, err := jws.Verify(cert.PublicKey); err != nil {
		return invalidClient(700027, "Client assertion contains an invalid signature. [Reason - The key was found but the signature does not verify.]")
	}
	now := p.now()
	switch {
	case now.After(cert.NotAfter) || now.Before(cert.NotBefore):
		return invalidClient(700027, fmt.Sprintf("Client assertion failed signature validation: the certificate '%s' is outside its validity period.", thumb))
	case claims.Subject != c.ID:
		return invalidClient(700021, "Client assertion application identifier doesn't match 'client_id' parameter: sub must equal iss.")
	case !slices.Contains(claims.Audience, p.tokenEndpoint()):
		return invalidClient(700023, fmt.Sprintf("Client assertion audience claim does not match Realm issuer. Review the documentation at https://aka.ms/certCredentials . Want '%s'.", p.tokenEndpoint()))
	}
	if e := assertionTime(claims, now); e != nil {
		return e
	}
	return p.spendJTI(claims, now)
}

// certificateFor finds the client's certificate named by the header's x5t (SHA-1) or
// x5t#S256 thumbprint. It also returns the thumbprint the client sent, for the error text.
func (c *Client) certificateFor(header map[jose.HeaderKey]any) (*x509.Certificate, string) {
	s1, _ := header["x5t"].(string)
	s256, _ := header["x5t#S256"].(string)
	for _, cert := range c.Certificates {
		sum1 := sha1.Sum(cert.Raw) //nolint:gosec // see import
		sum256 := sha256.Sum256(cert.Raw)
		if s1 != "" && s1 == base64.RawURLEncoding.EncodeToString(sum1[:]) ||
			s256 != "" && s256 == base64.RawURLEncoding.EncodeToString(sum256[:]) {
			return cert, s1 + s256
		}
	}
	return nil, s1 + s256
}

// verifyFederatedAssertion checks a workload-identity token: a federated credential with its
// issuer, subject and audience, the issuer's signature, and the validity window. Federated
// tokens are reused until the kubelet rotates them, so their jti may repeat.
func (p *Provider) verifyFederatedAssertion(c *Client, jws *jose.JSONWebSignature, claims assertionClaims) *entraError {
	var match *FederatedCredential
	for i := range c.FederatedCredentials {
		fc := &c.FederatedCredentials[i]
		if fc.Issuer == claims.Issuer && fc.Subject == claims.Subject && slices.Contains(claims.Audience, fc.audience()) {
			match = fc
			break
		}
	}
	if match == nil {
		return invalidClient(70021, fmt.Sprintf("No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.",
			claims.Issuer, claims.Subject, firstOf(claims.Audience)))
	}
	if _, err := jws.Verify(match.Key); err != nil {
		return invalidClient(700027, "Client assertion contains an invalid signature: the federated token is not signed by its issuer's key.")
	}
	now := p.now()
	if e := assertionTime(claims, now); e != nil {
		return e
	}
	p.assertions.mu.Lock()
	p.assertions.accepted = append(p.assertions.accepted, claims.JTI)
	p.assertions.mu.Unlock()
	return nil
}

// assertionTime checks exp (required, no grace) and nbf/iat (a minute of skew).
func assertionTime(claims assertionClaims, now time.Time) *entraError {
	exp := time.Unix(claims.Expiry, 0)
	notBefore := time.Unix(max(claims.NotBefore, claims.IssuedAt), 0)
	if claims.Expiry == 0 || !now.Before(exp) || now.Add(assertionSkew).Before(notBefore) {
		return invalidClient(700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
			now.UTC().Format(time.RFC3339), notBefore.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339)))
	}
	return nil
}

// spendJTI accepts a certificate assertion's jti once.
func (p *Provider) spendJTI(claims assertionClaims, now time.Time) *entraError {
	if claims.JTI == "" {
		return invalidClient(700027, "Client assertion failed validation: it has no jti claim.")
	}
	a := &p.assertions
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.used == nil {
		a.used = make(map[string]time.Time)
	}
	for jti, exp := range a.used {
		if now.After(exp) {
			delete(a.used, jti) // expired assertions fail on exp already
		}
	}
	if _, replayed := a.used[claims.JTI]; replayed {
		return invalidClient(700027, "Client assertion failed validation: its jti was already used; sign a new assertion for every request.")
	}
	a.used[claims.JTI] = time.Unix(claims.Expiry, 0)
	a.accepted = append(a.accepted, claims.JTI)
	return nil
}

// clientACR is the appidacr (v1) or azpacr (v2) claim: how the client authenticated.
// "1" for a client secret, "2" for a certificate or federated assertion.
func clientACR(form url.Values) string {
	if form.Get("client_assertion") != "" {
		return "2"
	}
	return "1"
}

// unknownClient is Entra's answer for a client id that names no app registration.
func unknownClient(id, tenant string) *entraError {
	return &entraError{status: http.StatusBadRequest, code: "unauthorized_client", aadsts: 700016,
		text: fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", id, tenant)}
}

func firstOf(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}
