package idp

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/secret"
)

// Client auth methods accepted in Config.AuthMethod.
const (
	AuthClientSecretPost  = "client_secret_post"
	AuthClientSecretBasic = "client_secret_basic"
)

// Config is what the client needs to talk to one OIDC provider.
type Config struct {
	IssuerURL    string
	ClientID     string
	ClientSecret secret.String
	AuthMethod   string // AuthClientSecretPost or AuthClientSecretBasic
	// ClientAuth chooses a certificate or workload identity instead of the secret.
	ClientAuth  ClientAuthConfig
	RedirectURL string
	// SignInScopes are sent on /authorize and on the code redemption: OIDC scopes plus
	// exactly one resource scope.
	SignInScopes []string
	// HTTPClient makes every call to the provider; it must carry a timeout.
	HTTPClient *http.Client
	Now        func() time.Time
	// TrustedAudiences are the audiences besides ClientID an id_token may also name (OIDC
	// Core §3.1.3.7 item 3). Empty: the client id alone.
	TrustedAudiences []string
	// ClockSkew is how far in the future an iat or nbf may be (provider.clockSkew, whose
	// default is DefaultClockSkew). Zero tolerates no skew at all.
	ClockSkew time.Duration
}

// ErrVerification means the id_token of a sign-in failed a check (signature, issuer,
// audience, expiry, nonce). Every token of that response has been discarded.
var ErrVerification = errors.New("id_token verification failed")

// ErrNotReady means discovery has not succeeded yet.
var ErrNotReady = fmt.Errorf("%w: %w: provider discovery not loaded yet", ErrUnavailable, ErrNotSent)

// Client is tokengate's OIDC relying party. It is safe for concurrent use. Discover must
// succeed before the other methods work; until then they return ErrNotReady.
type Client struct {
	cfg        Config
	auth       clientAuth
	discovered atomic.Pointer[discovery]
}

// discovery is everything learned from the provider's metadata.
type discovery struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	// refreshIDs checks a refresh's id_token for whom it names: signature, issuer and
	// audience, not expiry. It came straight from the token endpoint over TLS (OIDC Core
	// 3.1.3.7), and a clock step must not turn a good refresh into a lost session.
	refreshIDs  *oidc.IDTokenVerifier
	tokenURL    string
	endSession  string
	oidcScopes  []string // SignInScopes without the resource, sent with every refresh
	resource    string   // the sign-in's one resource scope
	issuerFound string
}

// New checks the configuration; it does no I/O.
func New(cfg Config) (*Client, error) {
	switch {
	case cfg.IssuerURL == "":
		return nil, errors.New("idp: issuer URL is empty")
	case cfg.ClientID == "":
		return nil, errors.New("idp: client id is empty")
	case cfg.HTTPClient == nil:
		return nil, errors.New("idp: no HTTP client")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	auth, err := newClientAuth(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, auth: auth}, nil
}

// Discover loads the provider's metadata. Call it until it succeeds; it is cheap to repeat.
func (c *Client) Discover(ctx context.Context) error {
	// The key set keeps this client for its later fetches: both go through quietTransport.
	ctx = oidcContext(ctx, quietClient(c.cfg.HTTPClient))
	provider, err := oidc.NewProvider(ctx, c.cfg.IssuerURL)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("discover issuer %s: %w", c.cfg.IssuerURL, ctx.Err())
		}
		return fmt.Errorf("discover issuer %s: %s", c.cfg.IssuerURL, libraryError(err))
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		return fmt.Errorf("read metadata of %s: %w", c.cfg.IssuerURL, err)
	}
	endpoint := provider.Endpoint()
	clientSecret, style := c.auth.endpointAuth()
	endpoint.AuthStyle = style
	d := &discovery{
		oauth: oauth2.Config{
			ClientID:     c.cfg.ClientID,
			ClientSecret: clientSecret,
			Endpoint:     endpoint,
			RedirectURL:  c.cfg.RedirectURL,
			Scopes:       c.cfg.SignInScopes,
		},
		verifier:    provider.Verifier(&oidc.Config{ClientID: c.cfg.ClientID, Now: c.cfg.Now}),
		refreshIDs:  provider.Verifier(&oidc.Config{ClientID: c.cfg.ClientID, Now: c.cfg.Now, SkipExpiryCheck: true}),
		tokenURL:    endpoint.TokenURL,
		endSession:  meta.EndSession,
		oidcScopes:  oidcScopesOf(c.cfg.SignInScopes),
		resource:    resourceOf(c.cfg.SignInScopes),
		issuerFound: c.cfg.IssuerURL,
	}
	c.discovered.Store(d)
	return nil
}

// Ready reports whether discovery has succeeded.
func (c *Client) Ready() bool { return c.discovered.Load() != nil }

func (c *Client) state() (*discovery, error) {
	d := c.discovered.Load()
	if d == nil {
		return nil, ErrNotReady
	}
	return d, nil
}

// AuthCodeURL is the /authorize URL for a sign-in with PKCE (S256), state and nonce.
func (c *Client) AuthCodeURL(state, nonce, verifier string) (string, error) {
	d, err := c.state()
	if err != nil {
		return "", err
	}
	return d.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), nil
}

// EndSessionURL is the provider's logout URL that returns the browser to postLogout, or ""
// when the provider publishes no end_session_endpoint.
func (c *Client) EndSessionURL(postLogout string) string {
	d := c.discovered.Load()
	if d == nil || d.endSession == "" {
		return ""
	}
	sep := "?"
	if strings.Contains(d.endSession, "?") {
		sep = "&"
	}
	return d.endSession + sep + "post_logout_redirect_uri=" + url.QueryEscape(postLogout)
}

// SignIn is the result of a successful code redemption.
type SignIn struct {
	Identity Identity
	Token    Token
	// IDTokenExpiry is when Token.IDToken expires (about an hour, unlike the access token).
	IDTokenExpiry time.Time
}

// Exchange redeems an authorization code with its PKCE verifier, verifies the id_token
// (signature, issuer, audience, expiry) and its nonce, and returns who signed in with the
// tokens of the response. On any failure no token is returned.
func (c *Client) Exchange(ctx context.Context, code, verifier, nonce string) (*SignIn, error) {
	d, err := c.state()
	if err != nil {
		return nil, err
	}
	ctx = oidcContext(ctx, c.cfg.HTTPClient)
	opts, err := authOptions(c.auth, d.tokenURL)
	if err != nil {
		return nil, fmt.Errorf("redeem authorization code: client authentication: %w", err)
	}
	tok, err := d.oauth.Exchange(ctx, code, append(opts,
		oauth2.VerifierOption(verifier),
		// Entra wants one resource per /token call; name it explicitly (ENTRA.md).
		oauth2.SetAuthURLParam("scope", strings.Join(c.cfg.SignInScopes, " ")))...)
	if err != nil {
		return nil, fmt.Errorf("redeem authorization code: %w", classify(err, code, verifier, d.oauth.ClientSecret))
	}
	if !isB64Token(tok.AccessToken) {
		return nil, fmt.Errorf("redeem authorization code: %w: the access_token is not RFC 6750 b64token text", ErrUnavailable)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, fmt.Errorf("%w: the token response has no id_token", ErrVerification)
	}
	idToken, err := c.verifyIDToken(ctx, d, rawID)
	if err != nil {
		return nil, err
	}
	var idClaims tokenClaims
	if err := idToken.Claims(&idClaims); err != nil {
		return nil, fmt.Errorf("%w: read claims: %v", ErrVerification, err)
	}
	// go-oidc leaves the nonce to the caller (its Verify docs say so).
	if subtle.ConstantTimeCompare([]byte(idClaims.Nonce), []byte(nonce)) != 1 || nonce == "" {
		return nil, fmt.Errorf("%w: nonce does not match the sign-in", ErrVerification)
	}
	expiry, err := c.accessTokenExpiry(expiresIn(tok), tok.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("redeem authorization code: %w", err)
	}
	var access *tokenClaims
	if ac, err := decodeUnverified(tok.AccessToken); err == nil {
		access = &ac
	}
	return &SignIn{
		IDTokenExpiry: c.capLifetime(idToken.Expiry),
		Identity:      identityFrom(idClaims, access),
		Token: Token{
			AccessToken:  secret.String(tok.AccessToken),
			RefreshToken: secret.String(tok.RefreshToken),
			IDToken:      secret.String(rawID),
			Expiry:       expiry,
		},
	}, nil
}

// verifyIDToken runs go-oidc's checks (signature, algorithm, issuer, client id among the
// audiences, exp, nbf) and then what OIDC Core §3.1.3.7 asks beyond them: every audience
// trusted and azp the client id (items 3-5), iat not in the future (item 10), and exp, iat
// and nbf real JSON numbers, which go-oidc's json.Number also accepts quoted.
func (c *Client) verifyIDToken(ctx context.Context, d *discovery, raw string) (*oidc.IDToken, error) {
	idToken, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrVerification, libraryError(err))
	}
	var payload json.RawMessage
	if err := idToken.Claims(&payload); err != nil {
		return nil, fmt.Errorf("%w: read claims: %v", ErrVerification, err)
	}
	tc, err := ReadTimeClaims(payload)
	if err == nil {
		err = tc.Check(c.cfg.Now(), c.cfg.ClockSkew, true)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVerification, err)
	}
	var azp struct {
		AZP string `json:"azp"`
	}
	if err := json.Unmarshal(payload, &azp); err != nil {
		return nil, fmt.Errorf("%w: azp is not a string", ErrVerification)
	}
	if err := checkAudience(idToken.Audience, azp.AZP, c.cfg.ClientID, c.cfg.TrustedAudiences); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVerification, err)
	}
	return idToken, nil
}

// resourceOf joins the scopes of a scope list that are not OIDC scopes: the one resource.
func resourceOf(scopes []string) string {
	var out []string
	for _, s := range scopes {
		if !slices.Contains(oidcOnly, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

var oidcOnly = []string{"openid", "profile", "email", "offline_access"}

// oidcScopesOf keeps the OIDC scopes of a scope list: the ones every token request may repeat.
func oidcScopesOf(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		if slices.Contains(oidcOnly, s) {
			out = append(out, s)
		}
	}
	return out
}

// expiresIn recovers expires_in from the exchange response: oauth2 computes Expiry with the
// wall clock, and we want the injected one.
func expiresIn(tok *oauth2.Token) json.RawMessage {
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		return json.RawMessage(strconv.FormatInt(int64(v), 10))
	case string:
		return json.RawMessage(strconv.Quote(v))
	}
	return nil
}

// oidcContext hands our HTTP client (timeouts, tracing) to go-oidc and x/oauth2.
func oidcContext(ctx context.Context, client *http.Client) context.Context {
	return oidc.ClientContext(ctx, client)
}
