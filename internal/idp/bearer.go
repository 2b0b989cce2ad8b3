package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/tokengate/tokengate/internal/config"
)

// BearerIssuer is an issuer whose bearer JWTs are accepted as they are, with its audiences
// and optional key set URL. It is the configuration type itself, so wiring needs no copy.
type BearerIssuer = config.BearerIssuer

// ErrBearerRejected means a bearer token failed a check: not a JWT, unknown issuer, bad
// signature or algorithm, wrong audience, expired. The request is unauthenticated (401).
var ErrBearerRejected = errors.New("bearer token rejected")

// maxBearerBytes bounds a token we parse at all: Entra's largest, with 200 groups, is ~12 KB.
const maxBearerBytes = 64 << 10

// bearerAlgs are the asymmetric algorithms accepted. "none" and HS* are never in it: an HS256
// token "signed" with a public key is the classic algorithm-confusion forgery.
var bearerAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512, oidc.EdDSA,
}

// BearerVerifier accepts bearer JWTs from a fixed set of issuers, each with its audiences.
// Keys come from each issuer's JWKS URL or its OIDC discovery document, fetched on first
// use and cached. It is safe for concurrent use.
type BearerVerifier struct {
	issuers map[string]*bearerIssuer // by exact iss
	http    *http.Client
	now     func() time.Time
	// ClockSkew is how far in the future a token's iat or nbf may be (provider.clockSkew).
	// NewBearerVerifier sets DefaultClockSkew; change it before the first Verify.
	ClockSkew time.Duration
}

// bearerIssuer is one accepted issuer; its verifier is built on first use, because
// discovery needs the network and the service must start while the issuer is down.
type bearerIssuer struct {
	issuer, jwksURL string
	audiences       []string

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
}

// NewBearerVerifier returns a verifier for issuers. httpClient makes the discovery and key
// set calls and must carry a timeout; now is the clock for exp and nbf (nil: time.Now).
// Entries naming the same issuer share their audiences. It does no I/O.
func NewBearerVerifier(issuers []BearerIssuer, httpClient *http.Client, now func() time.Time) *BearerVerifier {
	if now == nil {
		now = time.Now
	}
	v := &BearerVerifier{issuers: make(map[string]*bearerIssuer, len(issuers)), http: httpClient, now: now, ClockSkew: DefaultClockSkew}
	for _, cfg := range issuers {
		b := v.issuers[cfg.IssuerURL]
		if b == nil {
			b = &bearerIssuer{issuer: cfg.IssuerURL, jwksURL: cfg.JWKSURL}
			v.issuers[cfg.IssuerURL] = b
		}
		b.audiences = append(b.audiences, cfg.Audiences...)
	}
	return v
}

// Verify checks raw's signature (keys from the issuer's JWKS), iss, aud, exp and nbf with the
// injected clock, and algorithm, then returns the token's user for the X-Auth-Request
// headers. Errors wrap ErrBearerRejected, ErrUnavailable (discovery or key set unreachable:
// the token could not be checked) or ctx's error; none contains the token.
func (v *BearerVerifier) Verify(ctx context.Context, raw string) (Identity, error) {
	if raw == "" || len(raw) > maxBearerBytes {
		return Identity{}, fmt.Errorf("%w: empty or larger than %d bytes", ErrBearerRejected, maxBearerBytes)
	}
	// The issuer picks the keys and audiences; it is read unverified only to choose them.
	unverified, err := decodeUnverified(raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrBearerRejected, err)
	}
	iss := v.issuers[unverified.Issuer]
	if iss == nil {
		return Identity{}, fmt.Errorf("%w: issuer %.200q is not accepted", ErrBearerRejected, unverified.Issuer)
	}
	verifier, err := iss.verifierFor(ctx, v)
	if err != nil {
		return Identity{}, err
	}
	probe := &fetchProbe{}
	tok, err := verifier.Verify(context.WithValue(ctx, fetchProbeKey{}, probe), raw)
	switch {
	case err == nil:
	case probe.err != nil:
		return Identity{}, fmt.Errorf("verify bearer token of %s: %w", iss.issuer, probe.err)
	case ctx.Err() != nil:
		return Identity{}, fmt.Errorf("verify bearer token of %s: %w", iss.issuer, ctx.Err())
	default:
		return Identity{}, fmt.Errorf("%w: %s", ErrBearerRejected, libraryError(err))
	}
	if err := v.checkStrict(tok, iss); err != nil {
		return Identity{}, err
	}
	var c tokenClaims
	if err := tok.Claims(&c); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %v", ErrBearerRejected, err)
	}
	ident := identityFrom(c, nil)
	// v1 access tokens have no preferred_username; guests have no upn either, only
	// unique_name ("live.com#…"), which is how Entra names them.
	ident.PreferredUsername = firstNonEmpty(ident.PreferredUsername, c.UniqueName)
	return ident, nil
}

// checkStrict adds to go-oidc's checks the rules the id_token gets (OIDC Core §3.1.3.7):
// every audience accepted, not just one (a token minted for several APIs is not ours to
// pass on); exp, iat and nbf JSON numbers; iat and nbf no further ahead than the skew.
func (v *BearerVerifier) checkStrict(tok *oidc.IDToken, iss *bearerIssuer) error {
	if len(tok.Audience) == 0 || slices.ContainsFunc(tok.Audience, func(a string) bool { return !slices.Contains(iss.audiences, a) }) {
		return fmt.Errorf("%w: audience %.200q is not accepted for issuer %s", ErrBearerRejected, tok.Audience, iss.issuer)
	}
	var payload json.RawMessage
	if err := tok.Claims(&payload); err != nil {
		return fmt.Errorf("%w: claims: %v", ErrBearerRejected, err)
	}
	tc, err := ReadTimeClaims(payload)
	if err == nil {
		err = tc.Check(v.now(), v.ClockSkew, false)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBearerRejected, err)
	}
	return nil
}

// verifierFor returns the issuer's verifier, discovering its key set URL on first use. A
// failed discovery is not remembered: the next request tries again.
func (b *bearerIssuer) verifierFor(ctx context.Context, v *BearerVerifier) (*oidc.IDTokenVerifier, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.verifier != nil {
		return b.verifier, nil
	}
	jwksURL := b.jwksURL
	if jwksURL == "" {
		provider, err := oidc.NewProvider(oidc.ClientContext(ctx, quietClient(v.http)), b.issuer)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("discover bearer issuer %s: %w", b.issuer, ctx.Err())
			}
			return nil, fmt.Errorf("discover bearer issuer %s: %w: %s", b.issuer, ErrUnavailable, libraryError(err))
		}
		var meta struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := provider.Claims(&meta); err != nil || meta.JWKSURI == "" {
			return nil, fmt.Errorf("discover bearer issuer %s: %w: no jwks_uri", b.issuer, ErrUnavailable)
		}
		jwksURL = meta.JWKSURI
	}
	client := *v.http
	client.Transport = newKeyFetcher(v.http.Transport, v.now)
	// The key set keeps this context for every later fetch: only the client matters, the
	// request's context would be cancelled long before the next key rotation.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), &client), jwksURL)
	b.verifier = oidc.NewVerifier(b.issuer, probedKeySet{keys: keys}, &oidc.Config{
		SkipClientIDCheck:    true, // several audiences: checked in Verify
		SupportedSigningAlgs: bearerAlgs,
		Now:                  v.now,
	})
	return b.verifier, nil
}

// fetchProbe carries a key set fetch failure of one Verify call past go-oidc, which flattens
// the errors of a KeySet into text: the caller must tell "JWKS unreachable" (503) from "bad
// signature" (401) without matching strings.
type fetchProbe struct{ err error }

type fetchProbeKey struct{}

// probedKeySet records in the call's fetchProbe when verification failed because the key
// set could not be fetched.
type probedKeySet struct{ keys oidc.KeySet }

func (p probedKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := p.keys.VerifySignature(ctx, jwt)
	if err != nil && errors.Is(err, ErrUnavailable) {
		if probe, ok := ctx.Value(fetchProbeKey{}).(*fetchProbe); ok {
			probe.err = err
		}
	}
	return payload, err
}

const (
	// keyRefetchAfterSuccess spaces key set fetches: go-oidc refetches whenever a token names
	// an unknown kid, so without it every forged token would cost a call to the issuer.
	// Issuers publish new keys well before signing with them, so a minute loses nothing.
	keyRefetchAfterSuccess = time.Minute
	// keyRefetchAfterFailure is how long an unreachable key set is not asked again; tokens
	// meanwhile get ErrUnavailable.
	keyRefetchAfterFailure = 5 * time.Second
	// maxKeySetBytes bounds a JWKS document (Entra's is about 10 KB).
	maxKeySetBytes = 1 << 20
)

// errKeysThrottled means the key set was fetched moments ago and knows no key for the token.
var errKeysThrottled = errors.New("key set was fetched recently and has no key for this token")

// keyFetcher is the transport of one issuer's key set: it turns a failed fetch, including a
// non-200 answer, into an error wrapping ErrUnavailable that survives go-oidc's wrapping
// (%w) up to probedKeySet, throttles refetches, and bounds the document.
type keyFetcher struct {
	base http.RoundTripper
	now  func() time.Time

	mu     sync.Mutex
	last   time.Time // start of the last fetch
	failed bool      // the last fetch failed
}

func newKeyFetcher(base http.RoundTripper, now func() time.Time) *keyFetcher {
	if base == nil {
		base = http.DefaultTransport
	}
	return &keyFetcher{base: base, now: now}
}

func (k *keyFetcher) RoundTrip(req *http.Request) (*http.Response, error) {
	now := k.now()
	k.mu.Lock()
	wait := keyRefetchAfterSuccess
	if k.failed {
		wait = keyRefetchAfterFailure
	}
	if !k.last.IsZero() && now.Before(k.last.Add(wait)) && !now.Before(k.last) {
		failed := k.failed
		k.mu.Unlock()
		if failed {
			return nil, fmt.Errorf("%w: key set fetch failed less than %v ago", ErrUnavailable, wait)
		}
		return nil, errKeysThrottled
	}
	k.last = now
	k.mu.Unlock()

	resp, err := k.base.RoundTrip(req)
	if err == nil && resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		err = fmt.Errorf("key set answered %d", resp.StatusCode)
	}
	k.mu.Lock()
	k.failed = err != nil
	k.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%w: fetch key set: %v", ErrUnavailable, redactURLError(err))
	}
	resp.Body = limitedBody{Reader: io.LimitReader(resp.Body, maxKeySetBytes), Closer: resp.Body}
	return resp, nil
}

// limitedBody reads at most a bound of a response body and closes the real one.
type limitedBody struct {
	io.Reader
	io.Closer
}
