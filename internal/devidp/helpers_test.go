package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/testfix"
)

const (
	testClientID    = "11111111-2222-4333-8444-555555555555"
	testSecret      = "s3cr+t/=:%&é"
	testRedirect    = "http://127.0.0.1:4180/oauth2/callback"
	testPostLogout  = "http://127.0.0.1:4180/signed-out"
	aksDefaultScope = AKSResource + "/.default"
)

type env struct {
	p     *Provider
	srv   *httptest.Server
	clock *testfix.Clock
}

// sharedKey spares each test the RSA key generation.
var sharedKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("generate test key: " + err.Error())
	}
	return k
})

// newEnv serves a provider on 127.0.0.1 with one test client; edit adjusts the config.
func newEnv(t *testing.T, edit func(*Config)) *env {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	clk := testfix.NewClock(time.Now().Truncate(time.Second))
	cfg := Config{
		BaseURL: "http://" + srv.Listener.Addr().String(),
		Clients: []Client{{
			ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect},
			PostLogoutRedirectURIs: []string{testPostLogout},
		}},
		Now:        clk.Now,
		SigningKey: sharedKey(),
	}
	if edit != nil {
		edit(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv.Config.Handler = p.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{p: p, srv: srv, clock: clk}
}

// oauthConfig is the client as tokengate would configure x/oauth2.
func (e *env) oauthConfig(style oauth2.AuthStyle, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: testClientID, ClientSecret: testSecret, RedirectURL: testRedirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   e.p.base + "/oauth2/v2.0/authorize",
			TokenURL:  e.p.tokenEndpoint(),
			AuthStyle: style,
		},
	}
}

// browser is a cookie-keeping client that stops at every redirect so tests see them.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookiejar: %v", err)
	}
	return &http.Client{
		Jar:           jar,
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// loginForm reads the hidden inputs of the login page.
func loginForm(t *testing.T, body string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	if len(v) == 0 {
		t.Fatalf("no login form in page:\n%s", body)
	}
	return v
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	return resp, readBody(t, resp)
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	return resp, readBody(t, resp)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// submitLogin posts the login form found in page with the given credentials and action.
func (e *env) submitLogin(t *testing.T, c *http.Client, page, username, password, action string) (*http.Response, string) {
	t.Helper()
	form := loginForm(t, page)
	form.Set("username", username)
	form.Set("password", password)
	form.Set("action", action)
	return postForm(t, c, e.p.base+"/oauth2/v2.0/authorize", form)
}

// redirectParams checks resp is a redirect to testRedirect and returns its query.
func redirectParams(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d; want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("Location: %v", err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirect {
		t.Fatalf("redirected to %s; want %s", got, testRedirect)
	}
	return loc.Query()
}

// signIn drives the login form like a browser and returns the authorization code.
func (e *env) signIn(t *testing.T, c *http.Client, authURL, username string) string {
	t.Helper()
	resp, page := get(t, c, authURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize status = %d; want 200 (page %s)", resp.StatusCode, page)
	}
	resp, _ = e.submitLogin(t, c, page, username, "password", "signin")
	q := redirectParams(t, resp)
	if q.Get("code") == "" {
		t.Fatalf("no code in redirect: error=%q %q", q.Get("error"), q.Get("error_description"))
	}
	return q.Get("code")
}

// flow is one sign-in's PKCE material and resulting code.
type flow struct {
	verifier, nonce, state, code string
}

// authorize signs username in with the given authorize scopes and returns the code.
func (e *env) authorize(t *testing.T, username string, scopes ...string) flow {
	t.Helper()
	f := flow{verifier: oauth2.GenerateVerifier(), nonce: "n-" + randomToken()[:8], state: "st-" + randomToken()[:8]}
	u := e.oauthConfig(oauth2.AuthStyleInParams, scopes...).AuthCodeURL(f.state,
		oauth2.S256ChallengeOption(f.verifier), oauth2.SetAuthURLParam("nonce", f.nonce))
	f.code = e.signIn(t, browser(t), u, username)
	return f
}

var signInScopes = []string{"openid", "profile", "email", "offline_access", aksDefaultScope}

// tokenCall posts a raw token request with client_secret_post and decodes the JSON answer.
func (e *env) tokenCall(t *testing.T, form url.Values) (int, map[string]any) {
	t.Helper()
	form.Set("client_id", testClientID)
	form.Set("client_secret", testSecret)
	return e.rawTokenCall(t, form, nil)
}

func (e *env) rawTokenCall(t *testing.T, form url.Values, edit func(*http.Request)) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, e.p.tokenEndpoint(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	body := readBody(t, resp)
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("token response is not JSON (%d): %s", resp.StatusCode, body)
	}
	return resp.StatusCode, out
}

func redeemForm(f flow, scope string) url.Values {
	v := url.Values{"grant_type": {"authorization_code"}, "code": {f.code},
		"redirect_uri": {testRedirect}, "code_verifier": {f.verifier}}
	if scope != "" {
		v.Set("scope", scope)
	}
	return v
}

// jwtPart decodes part i (0 header, 1 claims) of a compact JWT without verifying it.
func jwtPart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWT: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("decode JWT part %d: %v", i, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("parse JWT part %d: %v", i, err)
	}
	return m
}

// wantEntraError checks status, error, AADSTS code and the description trailer.
func wantEntraError(t *testing.T, status int, body map[string]any, wantStatus int, wantErr string, wantCode int) {
	t.Helper()
	if status != wantStatus || body["error"] != wantErr {
		t.Fatalf("got %d %v (%v); want %d %s", status, body["error"], body["error_description"], wantStatus, wantErr)
	}
	codes, _ := body["error_codes"].([]any)
	if len(codes) != 1 || codes[0] != float64(wantCode) {
		t.Errorf("error_codes = %v; want [%d]", body["error_codes"], wantCode)
	}
	desc, _ := body["error_description"].(string)
	if !strings.HasPrefix(desc, "AADSTS") || !strings.Contains(desc, "\r\nTrace ID: ") || !strings.Contains(desc, "\r\nCorrelation ID: ") {
		t.Errorf("error_description = %q; want Entra's shape", desc)
	}
	for _, k := range []string{"timestamp", "trace_id", "correlation_id"} {
		if s, _ := body[k].(string); s == "" {
			t.Errorf("%s missing", k)
		}
	}
}
