package idp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/testfix"
)

const strictIssuer = "https://login.example.test/tenant/v2.0"

// strictSigner signs id_tokens whose claims a test writes itself, raw JSON included, so
// that claims of the wrong JSON type can be tried.
type strictSigner struct {
	key *ecdsa.PrivateKey
}

func newStrictSigner(t *testing.T) *strictSigner {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &strictSigner{key: key}
}

func (s *strictSigner) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	return testfix.SignJWT(t, s.key, jose.ES256, nil, claims)
}

// strictClient is a Client whose discovery holds a verifier for s's key, at a fixed clock.
func strictClient(s *strictSigner, now time.Time, trusted []string) (*Client, *discovery) {
	clock := func() time.Time { return now }
	c := &Client{cfg: Config{ClientID: clientID, Now: clock, ClockSkew: DefaultClockSkew, TrustedAudiences: trusted}}
	keys := &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&s.key.PublicKey}}
	d := &discovery{verifier: oidc.NewVerifier(strictIssuer, keys, &oidc.Config{
		ClientID: clientID, Now: clock, SupportedSigningAlgs: []string{oidc.ES256},
	})}
	return c, d
}

// TestIDTokenHostileClaims: every check OIDC Core §3.1.3.7 asks for, on id_tokens that are
// validly signed by the provider's key.
func TestIDTokenHostileClaims(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	base := func() map[string]any {
		return map[string]any{
			"iss": strictIssuer, "sub": "s-1", "aud": clientID, "nonce": "n",
			"iat": now.Unix() - 10, "nbf": now.Unix() - 10, "exp": now.Add(time.Hour).Unix(),
		}
	}
	tests := []struct {
		name    string
		edit    func(c map[string]any)
		trusted []string
		wantErr string // "" accepts
	}{
		{name: "valid", edit: func(map[string]any) {}},
		{name: "aud as a list of one", edit: func(c map[string]any) { c["aud"] = []string{clientID} }},
		{name: "azp equal to the client id", edit: func(c map[string]any) { c["azp"] = clientID }},
		{name: "trusted second audience with azp", trusted: []string{"api://other"},
			edit: func(c map[string]any) { c["aud"] = []string{clientID, "api://other"}; c["azp"] = clientID }},
		{name: "second audience not trusted", wantErr: "not trusted",
			edit: func(c map[string]any) { c["aud"] = []string{clientID, "api://other"}; c["azp"] = clientID }},
		{name: "several audiences without azp", trusted: []string{"api://other"}, wantErr: "no azp",
			edit: func(c map[string]any) { c["aud"] = []string{clientID, "api://other"} }},
		{name: "several audiences, azp another client", trusted: []string{"api://other"}, wantErr: "azp",
			edit: func(c map[string]any) { c["aud"] = []string{clientID, "api://other"}; c["azp"] = "api://other" }},
		{name: "one audience, azp another client", wantErr: "azp",
			edit: func(c map[string]any) { c["azp"] = "someone-else" }},
		{name: "azp not a string", wantErr: "azp", edit: func(c map[string]any) { c["azp"] = 7 }},
		{name: "client id not an audience", wantErr: "audience", edit: func(c map[string]any) { c["aud"] = "api://other" }},
		{name: "iat within the skew", edit: func(c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() }},
		{name: "iat beyond the skew", wantErr: "iat", edit: func(c map[string]any) { c["iat"] = now.Add(3 * time.Minute).Unix() }},
		{name: "iat far in the future", wantErr: "iat", edit: func(c map[string]any) { c["iat"] = now.Add(24 * time.Hour).Unix() }},
		{name: "iat missing", wantErr: "iat is missing", edit: func(c map[string]any) { delete(c, "iat") }},
		{name: "nbf beyond the skew", wantErr: "not valid before", edit: func(c map[string]any) { c["nbf"] = now.Add(3 * time.Minute).Unix() }},
		{name: "exp a quoted number", wantErr: "exp is not a JSON number", edit: func(c map[string]any) { c["exp"] = "9999999999" }},
		{name: "iat a quoted number", wantErr: "iat is not a JSON number", edit: func(c map[string]any) { c["iat"] = "1" }},
		{name: "nbf a quoted number", wantErr: "nbf is not a JSON number", edit: func(c map[string]any) { c["nbf"] = "1" }},
		{name: "iat null", wantErr: "unmarshal", edit: func(c map[string]any) { c["iat"] = nil }},
		{name: "nbf an object", wantErr: "nbf", edit: func(c map[string]any) { c["nbf"] = map[string]any{"n": 1} }},
		{name: "iat a boolean", wantErr: "iat", edit: func(c map[string]any) { c["iat"] = true }},
		{name: "exp absurdly large", wantErr: "exp", edit: func(c map[string]any) { c["exp"] = 1e300 }},
		{name: "iat negative", wantErr: "iat", edit: func(c map[string]any) { c["iat"] = -5 }},
		{name: "exp past", wantErr: "expired", edit: func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() }},
		{name: "exp missing", wantErr: "exp", edit: func(c map[string]any) { delete(c, "exp") }},
		{name: "other issuer", wantErr: "different provider", edit: func(c map[string]any) { c["iss"] = "https://evil.example.test/v2.0" }},
	}
	s := newStrictSigner(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := base()
			tt.edit(claims)
			c, d := strictClient(s, now, tt.trusted)
			_, err := c.verifyIDToken(t.Context(), d, s.sign(t, claims))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("verifyIDToken: %v; want the token accepted", err)
			case tt.wantErr == "":
			case err == nil:
				t.Fatalf("verifyIDToken accepted the token; want an error containing %q", tt.wantErr)
			case !errors.Is(err, ErrVerification) || !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("verifyIDToken: %v; want ErrVerification containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestAccessTokenLifetime: the cache lifetime is the smaller of expires_in and the JWT's
// exp; lying values neither make an expired token servable nor put the expiry in the past
// (which would refresh on every request).
func TestAccessTokenLifetime(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	c := &Client{cfg: Config{Now: func() time.Time { return now }, ClockSkew: DefaultClockSkew}}
	jwt := func(claims string) string {
		return encodeSegment(t, map[string]any{"alg": "RS256", "typ": "JWT"}) + "." +
			strings.TrimRight(encodeRaw(claims), "=") + ".c2ln"
	}
	in10m := now.Add(10 * time.Minute)
	exp10m := jwt(`{"exp":` + itoa(in10m.Unix()) + `,"iat":` + itoa(now.Unix()) + `}`)
	tests := []struct {
		name      string
		token     string
		expiresIn string // raw JSON; "" for absent
		want      time.Time
		wantErr   string
	}{
		{name: "opaque, number", token: "opaque", expiresIn: `5302`, want: now.Add(5302 * time.Second)},
		{name: "opaque, v1 numeric string", token: "opaque", expiresIn: `"3599"`, want: now.Add(3599 * time.Second)},
		{name: "opaque, absent", token: "opaque", want: now.Add(time.Hour)},
		{name: "opaque, zero ignored", token: "opaque", expiresIn: `0`, want: now.Add(time.Hour)},
		{name: "opaque, negative ignored", token: "opaque", expiresIn: `-30`, want: now.Add(time.Hour)},
		{name: "opaque, word ignored", token: "opaque", expiresIn: `"soon"`, want: now.Add(time.Hour)},
		{name: "opaque, 10^12 capped, not wrapped into the past", token: "opaque", expiresIn: `1000000000000`, want: now.Add(24 * time.Hour)},
		{name: "opaque, 1e12 capped", token: "opaque", expiresIn: `1e12`, want: now.Add(24 * time.Hour)},
		{name: "jwt exp sooner than expires_in", token: exp10m, expiresIn: `3600`, want: in10m},
		{name: "jwt exp later than expires_in", token: jwt(`{"exp":` + itoa(now.Add(2*time.Hour).Unix()) + `}`), expiresIn: `3600`, want: now.Add(time.Hour)},
		{name: "jwt exp, expires_in zero", token: exp10m, expiresIn: `0`, want: in10m},
		{name: "jwt exp, expires_in negative", token: exp10m, expiresIn: `-1`, want: in10m},
		{name: "jwt exp, expires_in a word", token: exp10m, expiresIn: `"x"`, want: in10m},
		{name: "jwt exp, expires_in 10^12", token: exp10m, expiresIn: `1000000000000`, want: in10m},
		{name: "jwt exp, expires_in absent", token: exp10m, want: in10m},
		{name: "jwt without exp", token: jwt(`{"iat":` + itoa(now.Unix()) + `}`), expiresIn: `600`, want: now.Add(10 * time.Minute)},
		{name: "jwt already expired", token: jwt(`{"exp":` + itoa(now.Add(-time.Minute).Unix()) + `}`), expiresIn: `3600`, wantErr: "expired"},
		{name: "jwt exp a quoted number", token: jwt(`{"exp":"` + itoa(in10m.Unix()) + `"}`), expiresIn: `3600`, wantErr: "exp is not a JSON number"},
		{name: "jwt iat in the future", token: jwt(`{"exp":` + itoa(in10m.Unix()) + `,"iat":` + itoa(now.Add(time.Hour).Unix()) + `}`), wantErr: "iat"},
		{name: "jwt nbf a string", token: jwt(`{"nbf":"0"}`), wantErr: "nbf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"access_token":"` + tt.token + `","token_type":"Bearer"`
			if tt.expiresIn != "" {
				body += `,"expires_in":` + tt.expiresIn
			}
			tok, err := c.parseTokenResponse([]byte(body + "}"))
			switch {
			case tt.wantErr != "":
				if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want ErrUnavailable containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("parseTokenResponse: %v", err)
			case !tok.Expiry.Equal(tt.want):
				t.Errorf("expiry = %v; want %v", tok.Expiry, tt.want)
			}
		})
	}
}

func encodeRaw(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestBearerHostileClaims: pass-through bearer tokens get the id_token's strictness.
func TestBearerHostileClaims(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	s := newStrictSigner(t)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.key.PublicKey, Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(jwks) }))
	t.Cleanup(srv.Close)
	base := func() map[string]any {
		return map[string]any{"iss": strictIssuer, "sub": "s", "oid": "o", "aud": "api://aks",
			"iat": now.Unix() - 10, "exp": now.Add(time.Hour).Unix()}
	}
	tests := []struct {
		name    string
		edit    func(c map[string]any)
		wantErr bool
	}{
		{name: "valid", edit: func(map[string]any) {}},
		{name: "every audience accepted", edit: func(c map[string]any) { c["aud"] = []string{"api://aks", "api://aks2"} }},
		{name: "one audience not accepted", wantErr: true, edit: func(c map[string]any) { c["aud"] = []string{"api://aks", "api://other"} }},
		{name: "exp a quoted number", wantErr: true, edit: func(c map[string]any) { c["exp"] = "9999999999" }},
		{name: "nbf a quoted number", wantErr: true, edit: func(c map[string]any) { c["nbf"] = "0" }},
		{name: "iat beyond the skew", wantErr: true, edit: func(c map[string]any) { c["iat"] = now.Add(10 * time.Minute).Unix() }},
		{name: "iat a string", wantErr: true, edit: func(c map[string]any) { c["iat"] = "yesterday" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewBearerVerifier([]BearerIssuer{{IssuerURL: strictIssuer, Audiences: []string{"api://aks", "api://aks2"}, JWKSURL: srv.URL}},
				&http.Client{Timeout: 5 * time.Second}, func() time.Time { return now })
			claims := base()
			tt.edit(claims)
			_, err := v.Verify(t.Context(), s.sign(t, claims))
			if tt.wantErr && !errors.Is(err, ErrBearerRejected) || !tt.wantErr && err != nil {
				t.Fatalf("Verify: %v; want rejected %v", err, tt.wantErr)
			}
		})
	}
}

// TestIDTokenLifetimeCapped: an id_token is served from the cache until its exp, but never
// for more than a day, whatever exp the provider wrote.
func TestIDTokenLifetimeCapped(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	c := &Client{cfg: Config{Now: func() time.Time { return now }}}
	tests := []struct {
		name string
		exp  time.Time
		want time.Time
	}{
		{name: "an hour", exp: now.Add(time.Hour), want: now.Add(time.Hour)},
		{name: "a century", exp: now.AddDate(100, 0, 0), want: now.Add(24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.capLifetime(tt.exp); !got.Equal(tt.want) {
				t.Errorf("capLifetime(%v) = %v; want %v", tt.exp, got, tt.want)
			}
		})
	}
}
