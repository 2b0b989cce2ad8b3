package idp

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/secret"
)

const (
	aksScope     = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"
	clientID     = "idp-test-client"
	clientSecret = "idp-test-secret-9f2e"
)

// fixture is a development identity provider, a client for it, and a redirect endpoint that
// records the code the provider sends back.
type fixture struct {
	idp      *devidp.Provider
	client   *Client
	callback *httptest.Server
	mu       sync.Mutex
	query    url.Values
}

func newFixture(t *testing.T, authMethod string, secret string) *fixture {
	t.Helper()
	f := &fixture{}
	f.callback = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.query = r.URL.Query()
		f.mu.Unlock()
	}))
	t.Cleanup(f.callback.Close)
	idpSrv := httptest.NewServer(nil)
	t.Cleanup(idpSrv.Close)
	p, err := devidp.New(devidp.Config{
		BaseURL: idpSrv.URL,
		Clients: []devidp.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{f.callback.URL + "/cb"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	idpSrv.Config.Handler = p.Handler()
	f.idp = p
	f.client = newClient(t, p.Issuer(), f.callback.URL+"/cb", authMethod, secret)
	if err := f.client.Discover(t.Context()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return f
}

func newClient(t *testing.T, issuer, redirect, authMethod, clientSecret string) *Client {
	t.Helper()
	c, err := New(Config{
		IssuerURL: issuer, ClientID: clientID, ClientSecret: secret.String(clientSecret),
		AuthMethod: authMethod, RedirectURL: redirect,
		SignInScopes: []string{"openid", "profile", "email", "offline_access", aksScope},
		HTTPClient:   &http.Client{Timeout: 5 * time.Second},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// code signs user in at the provider's login form and returns the authorization code.
func (f *fixture) code(t *testing.T, user, nonce, verifier string) string {
	t.Helper()
	authURL, err := f.client.AuthCodeURL("state-1", nonce, verifier)
	if err != nil {
		t.Fatal(err)
	}
	b := browser.New(nil)
	page, err := b.Navigate(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.SignIn(page, user, "password"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.query.Get("state") != "state-1" || f.query.Get("code") == "" {
		t.Fatalf("callback query = %v; want a code and the state", f.query)
	}
	return f.query.Get("code")
}

func TestExchangeAndRefresh(t *testing.T) {
	for _, method := range []string{AuthClientSecretPost, AuthClientSecretBasic} {
		t.Run(method, func(t *testing.T) {
			f := newFixture(t, method, clientSecret)
			verifier := strings.Repeat("v", 43)
			signIn, err := f.client.Exchange(t.Context(), f.code(t, "alice", "nonce-1", verifier), verifier, "nonce-1")
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			id := signIn.Identity
			if id.PreferredUsername != "alice@contoso.example" || id.Subject == "" || id.TenantID == "" {
				t.Errorf("identity = %+v; want alice with oid and tenant", id)
			}
			if len(id.Groups) != 1 || id.Groups[0] != devidp.GroupPlatformAdmins {
				t.Errorf("groups = %v; want [%s] taken from the AKS token", id.Groups, devidp.GroupPlatformAdmins)
			}
			if signIn.Token.RefreshToken.IsEmpty() || signIn.Token.AccessToken.IsEmpty() {
				t.Fatal("exchange returned no access or refresh token")
			}
			info, err := DescribeAccessToken(signIn.Token.AccessToken.Reveal())
			if err != nil || len(info.Audience) != 1 || info.Audience[0] != "6dae42f8-4368-4678-94ff-3960e28e3630" {
				t.Errorf("access token audience = %v (%v); want the AKS app", info.Audience, err)
			}

			tok, err := f.client.Refresh(t.Context(), signIn.Token.RefreshToken, aksScope)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if tok.AccessToken.IsEmpty() || tok.RefreshToken.IsEmpty() || tok.RefreshToken == signIn.Token.RefreshToken {
				t.Error("refresh did not return a new access token and a rotated refresh token")
			}
			if left := time.Until(tok.Expiry); left < 50*time.Minute || left > 91*time.Minute {
				t.Errorf("expiry in %v; want Entra's 60–90 minutes", left)
			}

			idTok, err := f.client.Refresh(t.Context(), tok.RefreshToken, IDTokenScope)
			if err != nil {
				t.Fatalf("Refresh(IDTokenScope): %v", err)
			}
			claims, err := decodeUnverified(idTok.AccessToken.Reveal())
			if err != nil || claims.Issuer != f.idp.Issuer() || string(claims.Audience) != `"`+clientID+`"` {
				t.Errorf("id_token refresh gave iss %q aud %s (%v); want the v2 issuer and our client id", claims.Issuer, claims.Audience, err)
			}
			if left := time.Until(idTok.Expiry); left < 50*time.Minute || left > 61*time.Minute {
				t.Errorf("id_token expiry in %v; want about an hour", left)
			}
		})
	}
}

func TestExchangeRejectsWrongNonce(t *testing.T) {
	f := newFixture(t, AuthClientSecretPost, clientSecret)
	verifier := strings.Repeat("w", 43)
	code := f.code(t, "bob", "the-real-nonce", verifier)
	_, err := f.client.Exchange(t.Context(), code, verifier, "another-nonce")
	if !errors.Is(err, ErrVerification) {
		t.Fatalf("err = %v; want ErrVerification", err)
	}
}

func TestExchangeRejectsWrongVerifier(t *testing.T) {
	f := newFixture(t, AuthClientSecretPost, clientSecret)
	code := f.code(t, "bob", "n", strings.Repeat("a", 43))
	_, err := f.client.Exchange(t.Context(), code, strings.Repeat("b", 43), "n")
	if !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("err = %v; want ErrInvalidGrant (PKCE mismatch)", err)
	}
}

func TestRefreshErrors(t *testing.T) {
	f := newFixture(t, AuthClientSecretPost, clientSecret)
	verifier := strings.Repeat("v", 43)
	signIn, err := f.client.Exchange(t.Context(), f.code(t, "alice", "n", verifier), verifier, "n")
	if err != nil {
		t.Fatal(err)
	}
	rt := signIn.Token.RefreshToken
	wrongSecret := newClient(t, f.idp.Issuer(), f.callback.URL+"/cb", AuthClientSecretPost, "not-the-secret")
	if err := wrongSecret.Discover(t.Context()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		client   *Client
		rt       secret.String
		scope    string
		setup    func()
		wantIs   error
		wantText string
	}{
		{name: "two resources", client: f.client, rt: rt, scope: aksScope + " https://graph.microsoft.com/User.Read", wantText: "AADSTS28000"},
		{name: "unconsented resource", client: f.client, rt: rt, scope: "api://not-consented/.default", wantIs: ErrConsentRequired, wantText: "AADSTS65001"},
		{name: "bad client secret", client: wrongSecret, rt: rt, scope: aksScope, wantIs: ErrInvalidClient, wantText: "AADSTS7000215"},
		{name: "unknown refresh token", client: f.client, rt: "bogus-refresh-token", scope: aksScope, wantIs: ErrInvalidGrant},
		{name: "no refresh token", client: f.client, rt: "", scope: aksScope, wantIs: ErrInvalidGrant},
		{name: "provider down", client: f.client, rt: rt, scope: aksScope, setup: func() { f.idp.SetUnavailable(true) }, wantIs: ErrUnavailable},
		{name: "revoked user", client: f.client, rt: rt, scope: aksScope, setup: func() { f.idp.SetUnavailable(false); f.idp.RevokeUser("alice") }, wantIs: ErrInvalidGrant, wantText: "AADSTS50173"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			_, err := tc.client.Refresh(t.Context(), tc.rt, tc.scope)
			if err == nil {
				t.Fatal("Refresh succeeded; want an error")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("err = %v; want errors.Is %v", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("err = %q; want it to contain %q", err, tc.wantText)
			}
			for _, s := range []string{rt.Reveal(), clientSecret, "not-the-secret", "Trace ID"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error text leaks %q: %v", s, err)
				}
			}
		})
	}
}

func TestNotReadyBeforeDiscovery(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1/tenant/v2.0", "http://127.0.0.1/cb", AuthClientSecretPost, "s")
	if _, err := c.AuthCodeURL("s", "n", "v"); !errors.Is(err, ErrNotReady) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("AuthCodeURL err = %v; want ErrNotReady (an ErrUnavailable)", err)
	}
	if err := c.Discover(t.Context()); err == nil || c.Ready() {
		t.Errorf("Discover against a closed port: err %v, ready %v; want an error and not ready", err, c.Ready())
	}
}

func TestParseTokenResponse(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &Client{cfg: Config{Now: func() time.Time { return now }}}
	tests := []struct {
		name       string
		body       string
		wantErr    error
		wantExpiry time.Time
	}{
		{name: "v2 number", body: `{"access_token":"a","token_type":"Bearer","expires_in":5302}`, wantExpiry: now.Add(5302 * time.Second)},
		{name: "v1 string", body: `{"access_token":"a","token_type":"Bearer","expires_in":"3599"}`, wantExpiry: now.Add(3599 * time.Second)},
		{name: "missing expiry means one hour", body: `{"access_token":"a"}`, wantExpiry: now.Add(time.Hour)},
		{name: "no access token", body: `{"token_type":"Bearer"}`, wantErr: ErrUnavailable},
		{name: "not json", body: `<html>`, wantErr: ErrUnavailable},
		{name: "not bearer", body: `{"access_token":"a","token_type":"pop"}`, wantErr: ErrUnavailable},
		{name: "token with a line break", body: `{"access_token":"a\r\nX-Injected: 1","token_type":"Bearer"}`, wantErr: ErrUnavailable},
		{name: "token with a space", body: `{"access_token":"a b","token_type":"Bearer"}`, wantErr: ErrUnavailable},
		{name: "id_token with a quote", body: `{"access_token":"a","id_token":"x\"y"}`, wantErr: ErrUnavailable},
		{name: "padded token", body: `{"access_token":"YWJj==","token_type":"Bearer"}`, wantExpiry: now.Add(time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := c.parseTokenResponse([]byte(tc.body))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v; want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tok.Expiry.Equal(tc.wantExpiry) {
				t.Errorf("expiry = %v, err %v; want %v", tok.Expiry, err, tc.wantExpiry)
			}
		})
	}
}
