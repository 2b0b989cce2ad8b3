package doctor

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/testfix"
)

const (
	testClientID = "doctor-client"
	testSecret   = "doctor-secret-7a1c9e"
	// testAPI is an API of our own: devidp issues v2 tokens for it.
	testAPI = "api://doctor-api"
)

// idpFixture is a development identity provider on 127.0.0.1 with one confidential client,
// and a redirect endpoint that records the code it is sent.
type idpFixture struct {
	p        *devidp.Provider
	url      string
	redirect string
	mu       sync.Mutex
	query    url.Values
}

func newIDP(t *testing.T) *idpFixture {
	t.Helper()
	f := &idpFixture{}
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.query = r.URL.Query()
		f.mu.Unlock()
	}))
	t.Cleanup(cb.Close)
	f.redirect = cb.URL + "/cb"
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	p, err := devidp.New(devidp.Config{
		BaseURL: srv.URL,
		Clients: []devidp.Client{{ID: testClientID, Secret: testSecret, RedirectURIs: []string{f.redirect},
			ConsentedResources: []string{config.AKSServerAppID, "https://graph.microsoft.com", testAPI}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p.Handler()
	f.p, f.url = p, srv.URL
	return f
}

// tokens signs user in with a code flow for one resource scope, as a browser and tokengate
// would, and returns the access token and the id_token of the redemption.
func (f *idpFixture) tokens(t *testing.T, user, resourceScope string) (access, id string) {
	t.Helper()
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	scope := "openid profile email offline_access " + resourceScope
	q := url.Values{
		"client_id": {testClientID}, "response_type": {"code"}, "redirect_uri": {f.redirect},
		"scope": {scope}, "state": {"s1"}, "nonce": {"n1"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	b := browser.New(nil)
	page, err := b.Navigate(f.tenantBase() + "/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.SignIn(page, user, "password"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	code := f.query.Get("code")
	f.mu.Unlock()
	if code == "" {
		t.Fatalf("no code for %s", user)
	}
	resp, err := http.PostForm(f.tokenURL(), url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.redirect},
		"code_verifier": {verifier}, "scope": {scope}, "client_id": {testClientID}, "client_secret": {testSecret},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" || tr.IDToken == "" {
		t.Fatalf("token response %d: %v", resp.StatusCode, err)
	}
	return tr.AccessToken, tr.IDToken
}

func (f *idpFixture) tokenURL() string { return f.tenantBase() + "/oauth2/v2.0/token" }

// tenantBase is BaseURL/<tenant>, under which devidp serves every endpoint.
func (f *idpFixture) tenantBase() string { return strings.TrimSuffix(f.p.Issuer(), "/v2.0") }

// signJWT signs claims (plus header fields) with a throw-away HMAC key: doctor never checks
// signatures, so edge cases need not come from a provider.
func signJWT(t *testing.T, header map[string]any, claims map[string]any) string {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return testfix.SignJWT(t, key, jose.HS256, header, claims)
}

// randomKey is a cookie key as `openssl rand -base64 32` makes one.
func randomKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkOutput fails the test for every wanted line fragment missing from out and every
// unwanted one present; the messages quote the whole report.
func checkOutput(t *testing.T, out string, want, notWant []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q:\n%s", w, out)
		}
	}
	for _, w := range notWant {
		if w != "" && strings.Contains(out, w) {
			t.Errorf("report contains %q:\n%s", w, out)
		}
	}
}

func reportText(t *testing.T, rep *Report) string {
	t.Helper()
	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
