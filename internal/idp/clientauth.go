package idp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint (RFC 7515 §4.1.7); not a security use.
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/secret"
)

// Client authentication modes of ClientAuthConfig.Mode (ENTRA.md, "Client authentication").
// They are provider.clientAuth's values, so the configuration passes straight through.
const (
	// ClientAuthSecret sends Config.ClientSecret as Config.AuthMethod says.
	ClientAuthSecret = config.ClientAuthSecret
	// ClientAuthCertificate sends a client assertion signed with a certificate's key
	// (private_key_jwt, RFC 7523 §2.2).
	ClientAuthCertificate = config.ClientAuthCertificate
	// ClientAuthWorkloadIdentity sends the federated token Azure Workload Identity projects
	// into the pod as the client assertion.
	ClientAuthWorkloadIdentity = config.ClientAuthWorkloadIdentity
)

// Signature algorithms of a certificate client assertion. Entra accepts both; the header
// names the certificate by SHA-1 thumbprint (x5t) with RS256 and by SHA-256 (x5t#S256) with PS256.
const (
	AlgRS256 = config.AlgRS256
	AlgPS256 = config.AlgPS256
)

// ClientAssertionType is the client_assertion_type of every client assertion (RFC 7523 §2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a certificate assertion is valid: one token call needs
// seconds, and Entra refuses assertions valid for much longer than that anyway.
const assertionLifetime = 5 * time.Minute

// maxFederatedToken bounds the federated token file: a projected service-account token is
// about 1 KB, and a wrong path must not make us read a large file on every token call.
const maxFederatedToken = 64 << 10

// ClientAuthConfig chooses how tokengate authenticates at the token endpoint. The zero value
// is ClientAuthSecret with Config.ClientSecret and Config.AuthMethod.
type ClientAuthConfig struct {
	// Mode is ClientAuthSecret (or ""), ClientAuthCertificate or ClientAuthWorkloadIdentity.
	Mode string
	// Certificate and PrivateKey sign the assertions of ClientAuthCertificate; the key must
	// belong to the certificate uploaded to the app registration.
	Certificate *x509.Certificate
	PrivateKey  *rsa.PrivateKey
	// Algorithm is AlgRS256 (default) or AlgPS256.
	Algorithm string
	// TokenFile holds the federated token of ClientAuthWorkloadIdentity. It is read on every
	// token call, because the kubelet rotates it.
	TokenFile string
}

// clientAuth is how tokengate proves itself to the token endpoint. The code exchange (through
// x/oauth2) and every token request built here use the same implementation, so they always
// send the same kind of credentials.
type clientAuth interface {
	// endpointAuth is the client secret x/oauth2 sends and where: in the form or as HTTP
	// Basic. The assertion modes return "" and AuthStyleInParams, so only client_id is sent.
	endpointAuth() (clientSecret string, style oauth2.AuthStyle)
	// params returns the extra form fields of one token request to tokenURL. It is called for
	// every request: an assertion is single use, and a federated token file rotates. Errors
	// name files, never their content.
	params(tokenURL string) (url.Values, error)
}

var (
	_ clientAuth = secretAuth{}
	_ clientAuth = (*certificateAuth)(nil)
	_ clientAuth = federatedAuth{}
)

// newClientAuth checks cfg's client authentication and returns its implementation.
func newClientAuth(cfg Config) (clientAuth, error) {
	switch cfg.ClientAuth.Mode {
	case ClientAuthSecret, "":
		if cfg.AuthMethod != AuthClientSecretPost && cfg.AuthMethod != AuthClientSecretBasic {
			return nil, fmt.Errorf("idp: unknown client auth method %q", cfg.AuthMethod)
		}
		return secretAuth{secret: cfg.ClientSecret, basic: cfg.AuthMethod == AuthClientSecretBasic}, nil
	case ClientAuthCertificate:
		return newCertificateAuth(cfg.ClientID, cfg.ClientAuth, cfg.Now)
	case ClientAuthWorkloadIdentity:
		if cfg.ClientAuth.TokenFile == "" {
			return nil, errors.New("idp: workload identity needs the federated token file (AZURE_FEDERATED_TOKEN_FILE)")
		}
		return federatedAuth{path: cfg.ClientAuth.TokenFile}, nil
	}
	return nil, fmt.Errorf("idp: unknown client authentication mode %q", cfg.ClientAuth.Mode)
}

// secretAuth is client_secret_post or client_secret_basic.
type secretAuth struct {
	secret secret.String
	basic  bool
}

func (a secretAuth) endpointAuth() (string, oauth2.AuthStyle) {
	if a.basic {
		return a.secret.Reveal(), oauth2.AuthStyleInHeader
	}
	return a.secret.Reveal(), oauth2.AuthStyleInParams
}

func (secretAuth) params(string) (url.Values, error) { return nil, nil }

// certificateAuth signs a fresh client assertion for every token request.
type certificateAuth struct {
	clientID string
	signer   jose.Signer
	now      func() time.Time
}

func newCertificateAuth(clientID string, c ClientAuthConfig, now func() time.Time) (*certificateAuth, error) {
	if c.Certificate == nil || c.PrivateKey == nil {
		return nil, errors.New("idp: certificate client authentication needs a certificate and its private key")
	}
	pub, ok := c.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&c.PrivateKey.PublicKey) {
		return nil, errors.New("idp: the private key does not belong to the client certificate")
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	alg := jose.RS256
	switch c.Algorithm {
	case AlgRS256, "":
		sum := sha1.Sum(c.Certificate.Raw) //nolint:gosec // see import
		opts = opts.WithHeader("x5t", base64.RawURLEncoding.EncodeToString(sum[:]))
	case AlgPS256:
		alg = jose.PS256
		sum := sha256.Sum256(c.Certificate.Raw)
		opts = opts.WithHeader("x5t#S256", base64.RawURLEncoding.EncodeToString(sum[:]))
	default:
		return nil, fmt.Errorf("idp: client assertion algorithm %q is not RS256 or PS256", c.Algorithm)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: c.PrivateKey}, opts)
	if err != nil {
		return nil, fmt.Errorf("idp: client assertion signer: %w", err)
	}
	return &certificateAuth{clientID: clientID, signer: signer, now: now}, nil
}

func (*certificateAuth) endpointAuth() (string, oauth2.AuthStyle) {
	return "", oauth2.AuthStyleInParams
}

// params signs the assertion Entra expects: iss = sub = client id, aud = the token endpoint,
// a unique jti, and a validity of a few minutes.
func (a *certificateAuth) params(tokenURL string) (url.Values, error) {
	now := a.now()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti) // crypto/rand.Read never returns an error (Go ≥ 1.24)
	payload, err := json.Marshal(map[string]any{
		"iss": a.clientID, "sub": a.clientID, "aud": tokenURL,
		"jti": base64.RawURLEncoding.EncodeToString(jti),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(assertionLifetime).Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("client assertion claims: %w", err)
	}
	jws, err := a.signer.Sign(payload)
	if err != nil {
		return nil, fmt.Errorf("sign client assertion: %w", err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		return nil, fmt.Errorf("serialize client assertion: %w", err)
	}
	return assertionParams(compact), nil
}

// federatedAuth sends the workload-identity token file's content as the client assertion.
type federatedAuth struct {
	path string
}

func (federatedAuth) endpointAuth() (string, oauth2.AuthStyle) {
	return "", oauth2.AuthStyleInParams
}

// params reads the file again for every request: the kubelet rewrites it before the token in
// it expires, and a token read once at start would be refused an hour later (AADSTS700024).
func (a federatedAuth) params(string) (url.Values, error) {
	token, err := readFederatedToken(a.path)
	if err != nil {
		// Not the provider's answer, but the same remedy: the operator fixes the credentials.
		return nil, fmt.Errorf("%w: %v", ErrInvalidClient, err)
	}
	return assertionParams(token), nil
}

func readFederatedToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read the federated token file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFederatedToken+1))
	if err != nil {
		return "", fmt.Errorf("read the federated token file %s: %w", path, err)
	}
	if len(b) > maxFederatedToken {
		return "", fmt.Errorf("the federated token file %s is larger than %d bytes", path, maxFederatedToken)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("the federated token file %s is empty", path)
	}
	return token, nil
}

func assertionParams(assertion string) url.Values {
	return url.Values{
		"client_assertion_type": {ClientAssertionType},
		"client_assertion":      {assertion},
	}
}

// authOptions turns the extra fields of one token request into x/oauth2 options, for the
// code exchange.
func authOptions(auth clientAuth, tokenURL string) ([]oauth2.AuthCodeOption, error) {
	extra, err := auth.params(tokenURL)
	if err != nil {
		return nil, err
	}
	var opts []oauth2.AuthCodeOption
	for k, vs := range extra {
		for _, v := range vs {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	return opts, nil
}

// ProbeClientCredentials asks the token endpoint for an app-only token for resource (a
// client_credentials grant for <resource>/.default) with the configured client
// authentication, and throws the token away. It is how `tokengate doctor` learns whether the
// provider accepts tokengate's credentials without a user: nil when it does; otherwise a
// *ProviderError (unwrapping to ErrInvalidClient when the credentials were refused) or an
// error wrapping ErrUnavailable or ErrNotReady. Errors never contain a credential.
func (c *Client) ProbeClientCredentials(ctx context.Context, resource string) error {
	d, err := c.state()
	if err != nil {
		return err
	}
	resource = strings.TrimSuffix(strings.TrimSuffix(resource, "/.default"), "/")
	if resource == "" {
		return errors.New("probe client credentials: no resource given")
	}
	form := url.Values{
		"grant_type": {"client_credentials"},
		"scope":      {resource + "/.default"},
	}
	if _, err := c.postToken(ctx, d, form); err != nil {
		return fmt.Errorf("probe client credentials for %s: %w", resource, err)
	}
	return nil
}
