package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

const (
	reuseClientID     = "session-test-client"
	reuseClientSecret = "session-test-secret-4b1c"
	aksScope          = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"
)

// reuseIdP is the development provider with rotating refresh tokens and reuse detection
// (Keycloak, Okta, Auth0, Dex), an OIDC client of it, and a refresher that can hold a
// refresh after the provider answered: a replica pausing at the worst moment.
type reuseIdP struct {
	p      *devidp.Provider
	client *idp.Client

	mu       sync.Mutex
	hold     chan struct{} // when set, a refresh that got its answer waits for it to close
	answered chan struct{} // one send per refresh the provider answered
}

func newReuseIdP(t *testing.T, clock *testClock) *reuseIdP {
	t.Helper()
	r := &reuseIdP{answered: make(chan struct{}, 100)}
	// The browser stops at the callback, whose URL carries the code.
	callback := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(callback.Close)
	idpSrv := httptest.NewServer(nil)
	t.Cleanup(idpSrv.Close)
	p, err := devidp.New(devidp.Config{
		BaseURL: idpSrv.URL, Now: clock.Now, RotateRefreshTokens: true, AccessTokenLifetime: time.Hour,
		Clients: []devidp.Client{{ID: reuseClientID, Secret: reuseClientSecret, RedirectURIs: []string{callback.URL + "/cb"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	idpSrv.Config.Handler = p.Handler()
	r.p = p
	r.client, err = idp.New(idp.Config{
		IssuerURL: p.Issuer(), ClientID: reuseClientID, ClientSecret: reuseClientSecret,
		AuthMethod: idp.AuthClientSecretPost, RedirectURL: callback.URL + "/cb",
		SignInScopes: []string{"openid", "profile", "email", "offline_access", aksScope},
		HTTPClient:   &http.Client{Timeout: 5 * time.Second}, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.client.Discover(t.Context()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return r
}

// signIn signs alice in and returns her sign-in's refresh token, access token and identity.
func (r *reuseIdP) signIn(t *testing.T) (secret.String, idp.Token, idp.Identity) {
	t.Helper()
	verifier := strings.Repeat("v", 43)
	authURL, err := r.client.AuthCodeURL("state-1", "nonce-1", verifier)
	if err != nil {
		t.Fatal(err)
	}
	b := browser.New(nil)
	page, err := b.Navigate(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, err = b.SignIn(page, "alice", "password")
	if err != nil {
		t.Fatal(err)
	}
	code := page.URL.Query().Get("code")
	if code == "" {
		t.Fatalf("sign-in ended at %s without a code", page.URL.Path)
	}
	in, err := r.client.Exchange(t.Context(), code, verifier, "nonce-1")
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return in.Token.RefreshToken, idp.Token{AccessToken: in.Token.AccessToken, Expiry: in.Token.Expiry}, in.Identity
}

// Refresh is the client's; the first after holdAfterAnswer waits once the provider answered.
func (r *reuseIdP) Refresh(ctx context.Context, rt secret.String, scope string) (idp.Token, error) {
	tok, err := r.client.Refresh(ctx, rt, scope)
	r.mu.Lock()
	hold := r.hold
	r.hold = nil // only the next refresh pauses
	r.mu.Unlock()
	r.answered <- struct{}{}
	if hold != nil {
		<-hold
	}
	return tok, err
}

// holdAfterAnswer makes the next refresh wait, once the provider answered, until the
// returned release is called.
func (r *reuseIdP) holdAfterAnswer() (release func()) {
	ch := make(chan struct{})
	r.mu.Lock()
	r.hold = ch
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			if r.hold == ch {
				r.hold = nil
			}
			r.mu.Unlock()
			close(ch)
		})
	}
}

// refreshCalls is how many refresh_token grants the provider served.
func (r *reuseIdP) refreshCalls() int { return r.p.TokenCalls("refresh_token") }
