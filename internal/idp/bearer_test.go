package idp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/jwtpeek"
	"github.com/tokengate/tokengate/internal/testfix"
)

const aksApp = "6dae42f8-4368-4678-94ff-3960e28e3630"

// jwtSegments splits a compact JWT and decodes its header and claims.
func jwtSegments(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	dec, err := jwtpeek.Decode(tok)
	if err != nil {
		t.Fatalf("decode JWT: %v", err)
	}
	if json.Unmarshal(dec.Header, &header) != nil || json.Unmarshal(dec.Payload, &claims) != nil {
		t.Fatal("decode JWT: not JSON objects")
	}
	return header, claims
}

func encodeSegment(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// forgeries returns tokens carrying tok's claims: unsigned (alg none), HS256 keyed with the
// issuer's public key set (algorithm confusion), and RS256 by a key that is not the issuer's.
func forgeries(t *testing.T, tok string, jwks []byte) (none, hs256, otherKey string) {
	t.Helper()
	header, claims := jwtSegments(t, tok)
	payload := encodeSegment(t, claims)
	none = encodeSegment(t, map[string]any{"alg": "none", "typ": "JWT"}) + "." + payload + "."
	hsInput := encodeSegment(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": header["kid"]}) + "." + payload
	mac := hmac.New(sha256.New, jwks)
	mac.Write([]byte(hsInput))
	hs256 = hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherKey = testfix.SignJWT(t, jose.JSONWebKey{Key: key, KeyID: header["kid"].(string)}, jose.RS256, nil, claims)
	return none, hs256, otherKey
}

func fetchBody(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBearerVerify(t *testing.T) {
	f := newFixture(t, AuthClientSecretPost, clientSecret)
	verifier := strings.Repeat("b", 43)
	alice, err := f.client.Exchange(t.Context(), f.code(t, "alice", "n-a", verifier), verifier, "n-a")
	if err != nil {
		t.Fatal(err)
	}
	guest, err := f.client.Exchange(t.Context(), f.code(t, "guest", "n-g", verifier), verifier, "n-g")
	if err != nil {
		t.Fatal(err)
	}
	overage := overageSignIn(t, f)
	graph, err := f.client.Refresh(t.Context(), alice.Token.RefreshToken, GraphScope)
	if err != nil {
		t.Fatal(err)
	}
	aks := alice.Token.AccessToken.Reveal()
	v1, v2 := f.idp.AccessTokenIssuer(), f.idp.Issuer()
	jwksURL := v1 + "discovery/keys"
	none, hs256, otherKey := forgeries(t, aks, fetchBody(t, jwksURL))
	closed := httptest.NewServer(nil)
	closed.Close()

	aksOnly := []BearerIssuer{{IssuerURL: v1, Audiences: []string{aksApp}}}
	tests := []struct {
		name     string
		issuers  []BearerIssuer
		token    string
		advance  time.Duration
		wantErr  error // nil: accepted
		wantUser string
	}{
		{name: "AKS token, keys by discovery", issuers: aksOnly, token: aks, wantUser: "alice@contoso.example"},
		{name: "AKS token, keys by JWKS URL", issuers: []BearerIssuer{{IssuerURL: v1, JWKSURL: jwksURL, Audiences: []string{aksApp}}}, token: aks, wantUser: "alice@contoso.example"},
		{name: "one of several audiences", issuers: []BearerIssuer{{IssuerURL: v1, Audiences: []string{"api://other"}}, {IssuerURL: v1, Audiences: []string{aksApp}}}, token: aks, wantUser: "alice@contoso.example"},
		{name: "guest is named by unique_name", issuers: aksOnly, token: guest.Token.AccessToken.Reveal(), wantUser: "live.com#gail@fabrikam.example"},
		{name: "overage user", issuers: aksOnly, token: overage.Token.AccessToken.Reveal(), wantUser: "overage@contoso.example"},
		{name: "expired", issuers: aksOnly, token: aks, advance: 2 * time.Hour, wantErr: ErrBearerRejected},
		{name: "not yet valid", issuers: aksOnly, token: aks, advance: -10 * time.Minute, wantErr: ErrBearerRejected},
		{name: "wrong audience", issuers: []BearerIssuer{{IssuerURL: v1, Audiences: []string{"api://other"}}}, token: aks, wantErr: ErrBearerRejected},
		{name: "wrong issuer", issuers: []BearerIssuer{{IssuerURL: v2, Audiences: []string{aksApp}}}, token: aks, wantErr: ErrBearerRejected},
		{name: "alg none", issuers: aksOnly, token: none, wantErr: ErrBearerRejected},
		{name: "HS256 keyed with the public keys", issuers: aksOnly, token: hs256, wantErr: ErrBearerRejected},
		{name: "signed by another key", issuers: aksOnly, token: otherKey, wantErr: ErrBearerRejected},
		{name: "garbage", issuers: aksOnly, token: "not-a-jwt", wantErr: ErrBearerRejected},
		{name: "empty", issuers: aksOnly, token: "", wantErr: ErrBearerRejected},
		{name: "oversize", issuers: aksOnly, token: strings.Repeat("a", maxBearerBytes+1), wantErr: ErrBearerRejected},
		{name: "Graph token is unverifiable", issuers: []BearerIssuer{{IssuerURL: v1, Audiences: []string{aksApp, devidp.GraphResource}}}, token: graph.AccessToken.Reveal(), wantErr: ErrBearerRejected},
		{name: "id_token has the client's audience", issuers: append(aksOnly, BearerIssuer{IssuerURL: v2, Audiences: []string{aksApp}}), token: alice.Token.IDToken.Reveal(), wantErr: ErrBearerRejected},
		{name: "key set unreachable", issuers: []BearerIssuer{{IssuerURL: v1, JWKSURL: closed.URL + "/keys", Audiences: []string{aksApp}}}, token: aks, wantErr: ErrUnavailable},
		{name: "another issuer unreachable", issuers: []BearerIssuer{{IssuerURL: v1, JWKSURL: "", Audiences: []string{aksApp}}, {IssuerURL: closed.URL + "/", Audiences: []string{aksApp}}}, token: aks, wantUser: "alice@contoso.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := testfix.NewClock(time.Now())
			clk.Advance(tc.advance)
			v := NewBearerVerifier(tc.issuers, &http.Client{Timeout: 5 * time.Second}, clk.Now)
			ident, err := v.Verify(t.Context(), tc.token)
			if tc.wantErr == nil {
				if err != nil || ident.PreferredUsername != tc.wantUser || ident.Issuer != v1 || ident.Subject == "" {
					t.Fatalf("got %+v, %v; want %s from %s", ident, err, tc.wantUser, v1)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v; want %v", err, tc.wantErr)
			}
			if errors.Is(err, ErrBearerRejected) && errors.Is(err, ErrUnavailable) {
				t.Errorf("err = %v is both rejected and unavailable", err)
			}
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Error("error text contains the token")
			}
		})
	}
}

func TestBearerIdentity(t *testing.T) {
	f := newFixture(t, AuthClientSecretPost, clientSecret)
	overage := overageSignIn(t, f)
	v := NewBearerVerifier([]BearerIssuer{{IssuerURL: f.idp.AccessTokenIssuer(), Audiences: []string{aksApp}}},
		&http.Client{Timeout: 5 * time.Second}, nil)
	ident, err := v.Verify(t.Context(), overage.Token.AccessToken.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if !ident.GroupsOverage || ident.Subject != "0fe40000-0000-4000-8000-0000000000fe" || ident.TenantID != f.idp.TenantID() || ident.Name != "Olive Overage" {
		t.Errorf("identity = %+v; want Olive's oid, tenant, name and the groups overage", ident)
	}
}

func TestBearerDiscoveryUnreachable(t *testing.T) {
	closed := httptest.NewServer(nil)
	closed.Close()
	issuer := closed.URL + "/tenant/"
	token := encodeSegment(t, map[string]any{"alg": "RS256"}) + "." + encodeSegment(t, map[string]any{"iss": issuer}) + ".c2ln"
	v := NewBearerVerifier([]BearerIssuer{{IssuerURL: issuer, Audiences: []string{aksApp}}}, &http.Client{Timeout: 5 * time.Second}, nil)
	_, err := v.Verify(t.Context(), token)
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrBearerRejected) {
		t.Fatalf("err = %v; want ErrUnavailable: discovery failed, the token was not judged", err)
	}
}

// TestBearerKeySetOutage checks that an unreachable key set answers unavailable, is not asked
// again at once, recovers, and that forged tokens cannot make us refetch keys at will.
func TestBearerKeySetOutage(t *testing.T) {
	f := newFixture(t, AuthClientSecretPost, clientSecret)
	verifier := strings.Repeat("o", 43)
	signIn, err := f.client.Exchange(t.Context(), f.code(t, "bob", "n-o", verifier), verifier, "n-o")
	if err != nil {
		t.Fatal(err)
	}
	aks := signIn.Token.AccessToken.Reveal()
	jwks := fetchBody(t, f.idp.AccessTokenIssuer()+"discovery/keys")
	var down atomic.Bool
	var fetches atomic.Int32
	keys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(keys.Close)
	_, _, otherKey := forgeries(t, aks, jwks)
	clk := testfix.NewClock(time.Now())
	v := NewBearerVerifier([]BearerIssuer{{IssuerURL: f.idp.AccessTokenIssuer(), JWKSURL: keys.URL, Audiences: []string{aksApp}}},
		&http.Client{Timeout: 5 * time.Second}, clk.Now)

	steps := []struct {
		name        string
		down        bool
		advance     time.Duration
		token       string
		wantErr     error
		wantFetches int32
	}{
		{name: "key set down", down: true, token: aks, wantErr: ErrUnavailable, wantFetches: 1},
		{name: "back up, not asked again at once", token: aks, wantErr: ErrUnavailable, wantFetches: 1},
		{name: "retried after the pause", advance: keyRefetchAfterFailure, token: aks, wantFetches: 2},
		{name: "cached keys", token: aks, wantFetches: 2},
		{name: "forged kid does not refetch", token: otherKey, wantErr: ErrBearerRejected, wantFetches: 2},
		{name: "forged kid later refetches once", advance: keyRefetchAfterSuccess, token: otherKey, wantErr: ErrBearerRejected, wantFetches: 3},
	}
	for _, s := range steps {
		down.Store(s.down)
		clk.Advance(s.advance)
		_, err := v.Verify(t.Context(), s.token)
		// go-oidc hands the result of a fetch to its waiters before it forgets the fetch, so
		// a Verify right after one may join the finished fetch instead of starting its own.
		// A step that wants a fetch asks again for a moment; any extra fetch still fails.
		for tries := 0; fetches.Load() < s.wantFetches && tries < 50; tries++ {
			time.Sleep(2 * time.Millisecond)
			_, err = v.Verify(t.Context(), s.token)
		}
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
			t.Errorf("%s: err = %v; want %v", s.name, err, s.wantErr)
		}
		if got := fetches.Load(); got != s.wantFetches {
			t.Errorf("%s: %d key set fetches; want %d", s.name, got, s.wantFetches)
		}
	}
}
