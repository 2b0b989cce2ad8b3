// Package devidp is a development identity provider that behaves like Microsoft Entra ID for
// the parts tokengate depends on: the v2 authorization-code flow
// with PKCE, client secrets (post and basic), certificate and federated client assertions,
// app-only client-credentials tokens, v1 access tokens for the AKS server app, v2 ID
// tokens, multi-resource refresh tokens that rotate without revoking the old one (or, with
// Config.RotateRefreshTokens, are single-use with reuse detection), the
// single-resource scope rule, groups overage, and Entra's error shape and AADSTS codes.
//
// It backs `tokengate demo` and every test that needs an identity provider. Tokens are real
// RS256 JWTs, so clients verify them with go-oidc exactly as they would Entra's. It keeps all
// state in memory and is not meant for production.
package devidp

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultTenantID is the tenant used when Config.TenantID is empty. It is a fixed, made-up
// GUID so that issuers and URLs stay stable across runs.
const DefaultTenantID = "8c5d7f2e-4b1a-4e3c-9d6f-0a1b2c3d4e5f"

// Config configures a Provider. BaseURL and Clients are required; everything else has an
// Entra-like default.
type Config struct {
	// BaseURL is where clients reach the provider, e.g. http://127.0.0.1:5556 (a trailing
	// slash is trimmed). It stands in for https://login.microsoftonline.com.
	BaseURL string
	// STSBaseURL is where the v1 access-token issuer lives, standing in for
	// https://sts.windows.net: access tokens carry iss STSBaseURL/<tenant>/ and its discovery
	// document and keys are served there. Default BaseURL. A Kubernetes API server fetches
	// an issuer's discovery over https only, so a demo with a real API server serves Handler
	// a second time over TLS here while the browser keeps the plain-http sign-in pages.
	STSBaseURL string
	// TenantID is the directory (tenant) id; default DefaultTenantID.
	TenantID string
	// Clients are the app registrations; at least one.
	Clients []Client
	// Users can sign in; default SampleUsers().
	Users []User
	// AccessTokenLifetime is fixed when set; zero means random 60–90 minutes, like Entra.
	AccessTokenLifetime time.Duration
	// IDTokenLifetime defaults to 1h.
	IDTokenLifetime time.Duration
	// RefreshTokenLifetime defaults to 90 days; it slides: every redemption issues a new
	// refresh token valid for the full lifetime again.
	RefreshTokenLifetime time.Duration
	// CodeLifetime defaults to 10 minutes.
	CodeLifetime time.Duration
	// RotateRefreshTokens makes refresh tokens single-use with reuse detection, as Keycloak,
	// Okta, Auth0 and Dex do: redeeming one invalidates it, and redeeming an already redeemed
	// one revokes its whole family (every token descended from that sign-in) and answers
	// invalid_grant. Off by default: Entra keeps a redeemed refresh token valid.
	RotateRefreshTokens bool
	// Now is the clock; default time.Now. Tests move it instead of sleeping.
	Now func() time.Time
	// SigningKey signs every token; nil generates a fresh RSA 2048 key. Test suites that
	// start many providers share one key to skip the (slow) generation.
	SigningKey *rsa.PrivateKey
}

// Provider is a running development identity provider. Its methods are safe for concurrent use.
type Provider struct {
	cfg     Config
	base    string // BaseURL/<tenant>
	stsBase string // STSBaseURL/<tenant>
	now     func() time.Time
	key     *signingKey
	clients map[string]*Client
	users   map[string]*User // by lower-case Username
	handler http.Handler

	// Precomputed documents: they never change after New.
	metadataV2, metadataV1, jwks []byte

	mu             sync.Mutex
	codes          map[string]*codeGrant
	refreshTokens  map[string]*refreshGrant
	sessions       map[string]*ssoSession // by cookie value
	tokenCalls     map[string]int
	authorizeCalls int
	reuses         int // refresh tokens redeemed twice under RotateRefreshTokens
	unavailable    bool
	throttle       throttleState // SetThrottle (throttle.go)
	nextPrune      time.Time     // pruneLocked does nothing before it (store.go)
	echo           EchoMode      // echo.go

	graph      graphState     // the Microsoft Graph stand-in (graph.go)
	assertions assertionState // client assertions seen (assertion.go)
}

// New validates cfg, fills in defaults, generates a fresh RSA signing key and returns the
// provider. Serve it with Handler.
func New(cfg Config) (*Provider, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	p := &Provider{
		cfg:           cfg,
		base:          cfg.BaseURL + "/" + cfg.TenantID,
		stsBase:       cfg.STSBaseURL + "/" + cfg.TenantID,
		now:           cfg.Now,
		clients:       make(map[string]*Client, len(cfg.Clients)),
		users:         make(map[string]*User, len(cfg.Users)),
		codes:         make(map[string]*codeGrant),
		refreshTokens: make(map[string]*refreshGrant),
		sessions:      make(map[string]*ssoSession),
		tokenCalls:    make(map[string]int),
	}
	for i := range cfg.Clients {
		c := &cfg.Clients[i]
		if _, dup := p.clients[c.ID]; dup {
			return nil, fmt.Errorf("devidp: clients[%d].ID %q: duplicate", i, c.ID)
		}
		p.clients[c.ID] = c
	}
	for i := range cfg.Users {
		u := &cfg.Users[i]
		k := strings.ToLower(u.Username)
		if _, dup := p.users[k]; dup {
			return nil, fmt.Errorf("devidp: users[%d].Username %q: duplicate", i, u.Username)
		}
		p.users[k] = u
	}
	if p.key, err = newSigningKey(cfg.SigningKey, p.now()); err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	if err := p.buildDocuments(); err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	p.handler = p.routes()
	return p, nil
}

// withDefaults checks the required fields and fills in the optional ones.
func withDefaults(cfg Config) (Config, error) {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	u, err := url.Parse(cfg.BaseURL)
	if cfg.BaseURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, errors.New("BaseURL: want an absolute http(s) URL such as http://127.0.0.1:5556")
	}
	cfg.STSBaseURL = strings.TrimRight(cfg.STSBaseURL, "/")
	if cfg.STSBaseURL == "" {
		cfg.STSBaseURL = cfg.BaseURL
	}
	if u, err := url.Parse(cfg.STSBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, errors.New("STSBaseURL: want an absolute http(s) URL such as https://127.0.0.1:5557")
	}
	if len(cfg.Clients) == 0 {
		return cfg, errors.New("at least one client is required (Config.Clients)")
	}
	for i, c := range cfg.Clients {
		switch {
		case c.ID == "":
			return cfg, fmt.Errorf("clients[%d].ID: required", i)
		case c.Secret == "" && len(c.Certificates) == 0 && len(c.FederatedCredentials) == 0:
			return cfg, fmt.Errorf("clients[%d].Secret: required unless the client has Certificates or FederatedCredentials (devidp models confidential web apps only)", i)
		case len(c.RedirectURIs) == 0:
			return cfg, fmt.Errorf("clients[%d].RedirectURIs: at least one is required", i)
		}
		for _, uris := range [][]string{c.RedirectURIs, c.PostLogoutRedirectURIs} {
			for _, r := range uris {
				if u, err := url.Parse(r); err != nil || !u.IsAbs() || u.Fragment != "" {
					return cfg, fmt.Errorf("clients[%d]: redirect URI %q: want an absolute URL without fragment", i, r)
				}
			}
		}
	}
	if cfg.TenantID == "" {
		cfg.TenantID = DefaultTenantID
	}
	if cfg.Users == nil {
		cfg.Users = SampleUsers()
	}
	for i, u := range cfg.Users {
		if u.Username == "" || u.OID == "" {
			return cfg, fmt.Errorf("users[%d]: Username and OID are required", i)
		}
	}
	setDefault(&cfg.IDTokenLifetime, time.Hour)
	setDefault(&cfg.RefreshTokenLifetime, 90*24*time.Hour)
	setDefault(&cfg.CodeLifetime, 10*time.Minute)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Handler serves every endpoint under BaseURL (the paths carry the tenant id, as Entra's do),
// and the v1 issuer's discovery and keys under STSBaseURL when that is served separately.
func (p *Provider) Handler() http.Handler { return p.handler }

func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	t := "/" + p.cfg.TenantID
	mux.HandleFunc("GET "+t+"/v2.0/.well-known/openid-configuration", p.serveJSON(p.metadataV2))
	mux.HandleFunc("GET "+t+"/.well-known/openid-configuration", p.serveJSON(p.metadataV1))
	mux.HandleFunc("GET "+t+"/discovery/v2.0/keys", p.serveJSON(p.jwks))
	mux.HandleFunc("GET "+t+"/discovery/keys", p.serveJSON(p.jwks))
	mux.HandleFunc("GET "+t+"/oauth2/v2.0/authorize", p.authorizeGet)
	mux.HandleFunc("POST "+t+"/oauth2/v2.0/authorize", p.authorizePost)
	mux.HandleFunc("POST "+t+"/oauth2/v2.0/token", p.token)
	mux.HandleFunc("GET "+t+"/oauth2/v2.0/logout", p.logout)
	mux.HandleFunc("POST /graph/v1.0/me/getMemberObjects", p.getMemberObjects)
	return mux
}

// Issuer is the v2 issuer, BaseURL/<tenant>/v2.0: the iss of ID tokens.
func (p *Provider) Issuer() string { return p.base + "/v2.0" }

// AccessTokenIssuer is the v1 issuer, STSBaseURL/<tenant>/: the iss of AKS and Graph access
// tokens. It stands in for https://sts.windows.net/<tenant>/ and has its own discovery document,
// so go-oidc can verify v1 access tokens with oidc.NewProvider(ctx, p.AccessTokenIssuer()).
func (p *Provider) AccessTokenIssuer() string { return p.stsBase + "/" }

// TenantID is the tenant (directory) id in every URL and in the tid claim.
func (p *Provider) TenantID() string { return p.cfg.TenantID }

// TokenCalls counts the requests to the token endpoint with the given grant_type
// ("authorization_code", "refresh_token"), including refused ones and those answered 503.
func (p *Provider) TokenCalls(grantType string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokenCalls[grantType]
}

// AuthorizeCalls counts GET requests to the authorization endpoint, i.e. sign-ins started
// (submitting the login form is not counted again).
func (p *Provider) AuthorizeCalls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.authorizeCalls
}

// SetUnavailable makes the token endpoint answer 503 while on, simulating an Entra outage.
// Discovery, keys and the login pages keep working.
func (p *Provider) SetUnavailable(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unavailable = on
}

// RevokeUser does what an admin's "revoke sessions" does: every refresh token issued to the
// user so far fails with invalid_grant AADSTS50173 and the user's browser sessions end.
// Signing in again afterwards works.
func (p *Provider) RevokeUser(username string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range p.refreshTokens {
		if strings.EqualFold(g.username, username) {
			g.revoked = true
		}
	}
	for id, s := range p.sessions {
		if strings.EqualFold(s.username, username) {
			delete(p.sessions, id)
		}
	}
}

func (p *Provider) lookupUser(username string) *User {
	return p.users[strings.ToLower(username)]
}
