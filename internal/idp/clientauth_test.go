package idp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/secret"
	"github.com/tokengate/tokengate/internal/testfix"
)

const (
	clusterIssuer  = "https://oidc.aks.example/cluster-1/"
	serviceAccount = "system:serviceaccount:tokengate:tokengate"
)

// testKeys are generated once: RSA generation dominates the run time otherwise.
var testKeys = sync.OnceValue(func() struct{ client, other *rsa.PrivateKey } {
	a, errA := rsa.GenerateKey(rand.Reader, 2048)
	b, errB := rsa.GenerateKey(rand.Reader, 2048)
	if errA != nil || errB != nil {
		panic("generate test keys")
	}
	return struct{ client, other *rsa.PrivateKey }{a, b}
})

// registeredCert is the certificate of testKeys().client on the provider's app registration.
var registeredCert = sync.OnceValue(func() *x509.Certificate { return testfix.SelfSigned(testKeys().client, time.Now()) })

// federatedToken is what the kubelet projects into the pod: a service-account token of the
// cluster's issuer for Entra's token-exchange audience.
func federatedToken(t *testing.T, jti, subject string, exp time.Time) string {
	t.Helper()
	return testfix.Federated{Issuer: clusterIssuer, Subject: subject, Audience: devidp.DefaultFederatedAudience,
		ID: jti, IssuedAt: time.Now().Add(-time.Minute), Expiry: exp}.Sign(t, testfix.ClusterKey(), jose.ES256)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// newAuthFixture is newFixture for any client authentication: the provider's client holds
// no secret unless the mode is a secret one, a certificate, and a federated credential.
func newAuthFixture(t *testing.T, cfg Config) *fixture {
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
	reg := devidp.Client{ID: clientID, RedirectURIs: []string{f.callback.URL + "/cb"},
		Certificates: []*x509.Certificate{registeredCert()},
		FederatedCredentials: []devidp.FederatedCredential{
			{Issuer: clusterIssuer, Subject: serviceAccount, Key: &testfix.ClusterKey().PublicKey},
		}}
	if cfg.ClientAuth.Mode == ClientAuthSecret {
		reg.Secret = clientSecret
	}
	p, err := devidp.New(devidp.Config{BaseURL: idpSrv.URL, Clients: []devidp.Client{reg}, SigningKey: testKeys().other})
	if err != nil {
		t.Fatal(err)
	}
	idpSrv.Config.Handler = p.Handler()
	f.idp = p
	cfg.IssuerURL, cfg.ClientID, cfg.RedirectURL = p.Issuer(), clientID, f.callback.URL+"/cb"
	cfg.SignInScopes = []string{"openid", "profile", "email", "offline_access", aksScope}
	cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	if f.client, err = New(cfg); err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := f.client.Discover(t.Context()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return f
}

// signInAndRefresh signs alice in and refreshes once, calling between() in between.
func (f *fixture) signInAndRefresh(t *testing.T, between func()) (*SignIn, Token, error) {
	t.Helper()
	verifier := strings.Repeat("v", 43)
	signIn, err := f.client.Exchange(t.Context(), f.code(t, "alice", "nonce-1", verifier), verifier, "nonce-1")
	if err != nil {
		return nil, Token{}, err
	}
	if between != nil {
		between()
	}
	tok, err := f.client.Refresh(t.Context(), signIn.Token.RefreshToken, aksScope)
	return signIn, tok, err
}

func TestClientAuthModesEndToEnd(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	tests := []struct {
		name    string
		cfg     Config
		before  func(t *testing.T) // before sign-in
		between func(t *testing.T) // between sign-in and refresh
		check   func(t *testing.T, f *fixture)
		wantACR string
	}{
		{name: "secret post", cfg: Config{ClientSecret: clientSecret, AuthMethod: AuthClientSecretPost, ClientAuth: ClientAuthConfig{Mode: ClientAuthSecret}}, wantACR: "1"},
		{name: "secret basic", cfg: Config{ClientSecret: clientSecret, AuthMethod: AuthClientSecretBasic, ClientAuth: ClientAuthConfig{Mode: ClientAuthSecret}}, wantACR: "1"},
		{name: "certificate RS256 x5t", cfg: Config{ClientAuth: ClientAuthConfig{Mode: ClientAuthCertificate, Algorithm: AlgRS256}}, wantACR: "2",
			check: func(t *testing.T, f *fixture) {
				if got := len(f.idp.AcceptedAssertions()); got != 2 {
					t.Errorf("provider accepted %d assertions; want 2 (exchange and refresh, each fresh)", got)
				}
			}},
		{name: "certificate PS256 x5t#S256", cfg: Config{ClientAuth: ClientAuthConfig{Mode: ClientAuthCertificate, Algorithm: AlgPS256}}, wantACR: "2"},
		{name: "workload identity with a rotated token file", wantACR: "2",
			cfg: Config{ClientAuth: ClientAuthConfig{Mode: ClientAuthWorkloadIdentity, TokenFile: tokenFile}},
			before: func(t *testing.T) {
				writeFile(t, tokenFile, federatedToken(t, "projected-1", serviceAccount, time.Now().Add(time.Hour))+"\n")
			},
			between: func(t *testing.T) {
				writeFile(t, tokenFile, federatedToken(t, "projected-2", serviceAccount, time.Now().Add(time.Hour)))
			},
			check: func(t *testing.T, f *fixture) {
				if got := f.idp.AcceptedAssertions(); !slices.Equal(got, []string{"projected-1", "projected-2"}) {
					t.Errorf("provider saw federated tokens %v; want [projected-1 projected-2]: the file must be read on every call", got)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.ClientAuth.Mode == ClientAuthCertificate {
				tc.cfg.ClientAuth.PrivateKey = testKeys().client
			}
			if tc.before != nil {
				tc.before(t)
			}
			f := newAuthFixture(t, withCertificate(t, tc.cfg))
			signIn, tok, err := f.signInAndRefresh(t, func() {
				if tc.between != nil {
					tc.between(t)
				}
			})
			if err != nil {
				t.Fatalf("sign-in and refresh: %v", err)
			}
			for _, raw := range []secret.String{signIn.Token.AccessToken, tok.AccessToken} {
				claims := payloadOf(t, raw.Reveal())
				if claims["appidacr"] != tc.wantACR || claims["aud"] != "6dae42f8-4368-4678-94ff-3960e28e3630" {
					t.Errorf("access token appidacr %v aud %v; want %s and the AKS app", claims["appidacr"], claims["aud"], tc.wantACR)
				}
			}
			if tok.RefreshToken.IsEmpty() {
				t.Error("refresh returned no rotated refresh token")
			}
			if tc.check != nil {
				tc.check(t, f)
			}
			if err := f.client.ProbeClientCredentials(t.Context(), "6dae42f8-4368-4678-94ff-3960e28e3630"); err != nil {
				t.Errorf("ProbeClientCredentials: %v", err)
			}
		})
	}
}

// withCertificate registers the certificate of cfg's private key with the fixture's client.
func withCertificate(t *testing.T, cfg Config) Config {
	t.Helper()
	switch key := cfg.ClientAuth.PrivateKey; {
	case key == testKeys().client:
		cfg.ClientAuth.Certificate = registeredCert()
	case key != nil:
		cfg.ClientAuth.Certificate = testfix.SelfSigned(key, time.Now()) // a certificate nobody registered
	}
	return cfg
}

func payloadOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestClientAuthRefused(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name      string
		cfg       Config
		tokenFile string // content written before the sign-in
		wantText  string
	}{
		{name: "certificate not registered", wantText: "AADSTS700027",
			cfg: Config{ClientAuth: ClientAuthConfig{Mode: ClientAuthCertificate, PrivateKey: testKeys().other}}},
		{name: "expired federated token", wantText: "AADSTS700024",
			tokenFile: federatedToken(t, "old", serviceAccount, time.Now().Add(-time.Minute)),
			cfg:       Config{ClientAuth: ClientAuthConfig{Mode: ClientAuthWorkloadIdentity}}},
		{name: "federated token of another service account", wantText: "AADSTS70021",
			tokenFile: federatedToken(t, "other", "system:serviceaccount:default:default", time.Now().Add(time.Hour)),
			cfg:       Config{ClientAuth: ClientAuthConfig{Mode: ClientAuthWorkloadIdentity}}},
		{name: "federated token file missing", wantText: "federated token file",
			cfg: Config{ClientAuth: ClientAuthConfig{Mode: ClientAuthWorkloadIdentity}}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.ClientAuth.Mode == ClientAuthWorkloadIdentity {
				tc.cfg.ClientAuth.TokenFile = filepath.Join(dir, "token-"+string(rune('a'+i)))
				if tc.tokenFile != "" {
					writeFile(t, tc.cfg.ClientAuth.TokenFile, tc.tokenFile)
				}
			}
			f := newAuthFixture(t, withCertificate(t, tc.cfg))
			verifier := strings.Repeat("v", 43)
			_, err := f.client.Exchange(t.Context(), f.code(t, "alice", "n", verifier), verifier, "n")
			if !errors.Is(err, ErrInvalidClient) || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("Exchange err = %v; want ErrInvalidClient mentioning %s", err, tc.wantText)
			}
			_, refreshErr := f.client.Refresh(t.Context(), "some-refresh-token", aksScope)
			probeErr := f.client.ProbeClientCredentials(t.Context(), aksScope)
			for _, err := range []error{refreshErr, probeErr} {
				if !errors.Is(err, ErrInvalidClient) || !strings.Contains(err.Error(), tc.wantText) {
					t.Errorf("err = %v; want ErrInvalidClient mentioning %s", err, tc.wantText)
				}
			}
			var pe *ProviderError
			if tc.tokenFile != "" && !errors.As(probeErr, &pe) {
				t.Errorf("probe err = %v; want a *ProviderError", probeErr)
			}
			for _, err := range []error{err, refreshErr, probeErr} {
				if tc.tokenFile != "" && strings.Contains(err.Error(), tc.tokenFile) {
					t.Errorf("error text contains the federated token: %v", err)
				}
			}
		})
	}
}
