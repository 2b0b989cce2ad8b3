package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/demo"
	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/secret"
	"github.com/tokengate/tokengate/internal/telemetry"
	"github.com/tokengate/tokengate/internal/testfix"
)

// newTestClock is the clock tokengate and the identity provider share, so that a test reaches
// token expiry by moving it, without sleeping.
func newTestClock() *testfix.Clock { return testfix.NewClock(time.Now()) }

// upstreamRecorder is the dashboard behind the proxy: it remembers what the proxy sent.
type upstreamRecorder struct {
	mu   sync.Mutex
	last http.Header
	hits int
}

func (u *upstreamRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.last = r.Header.Clone()
	u.hits++
	u.mu.Unlock()
	io.WriteString(w, "dashboard ok")
}

func (u *upstreamRecorder) Last() http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}

// harness runs the development identity provider, tokengate (over TLS, so Secure cookies
// flow) and a dashboard behind a Traefik-style forward-auth proxy, all on 127.0.0.1.
type harness struct {
	t         *testing.T
	clock     *testfix.Clock
	idp       *devidp.Provider
	app       *app
	cfg       *config.Config
	auth      *httptest.Server
	dashboard *httptest.Server
	upstream  *upstreamRecorder
	browser   *browser.Browser
	logs      *syncBuffer
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const (
	testClientID      = "tokengate-test"
	testClientSecret  = "test-client-secret-value-7d1c"
	testTokenLifetime = time.Hour
)

func newHarness(t *testing.T, tweak func(*config.Config)) *harness {
	t.Helper()
	return newHarnessWith(t, tweak, harnessOptions{})
}

// harnessOptions inject what the process environment would otherwise decide.
type harnessOptions struct {
	// tracing traces tokengate (e.g. to an in-memory exporter); nil: off.
	tracing *telemetry.Tracing
	// outbound, when set, carries tokengate's calls to the identity provider.
	outbound http.RoundTripper
	// users replaces the provider's sample users.
	users []devidp.User
}

func newHarnessWith(t *testing.T, tweak func(*config.Config), opts harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, clock: newTestClock(), upstream: &upstreamRecorder{}, logs: &syncBuffer{}}

	idpSrv := httptest.NewServer(nil)
	t.Cleanup(idpSrv.Close)
	h.auth = httptest.NewUnstartedServer(nil)
	h.auth.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut short at Close
	h.auth.StartTLS()
	t.Cleanup(h.auth.Close)
	h.dashboard = httptest.NewUnstartedServer(nil)
	h.dashboard.Config.ErrorLog = log.New(io.Discard, "", 0)
	h.dashboard.StartTLS()
	t.Cleanup(h.dashboard.Close)

	provider, err := devidp.New(devidp.Config{
		BaseURL:             idpSrv.URL,
		AccessTokenLifetime: testTokenLifetime,
		Now:                 h.clock.Now,
		Users:               opts.users,
		Clients: []devidp.Client{{
			ID: testClientID, Secret: testClientSecret,
			RedirectURIs:           []string{h.auth.URL + "/oauth2/callback"},
			PostLogoutRedirectURIs: []string{h.dashboard.URL + "/", h.auth.URL + "/"},
		}},
	})
	if err != nil {
		t.Fatalf("devidp.New: %v", err)
	}
	h.idp = provider
	idpSrv.Config.Handler = provider.Handler()

	cfg := testConfig(h.auth.URL, h.dashboard.URL, provider)
	if tweak != nil {
		tweak(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h.cfg = &cfg
	logger := slog.New(telemetry.NewTraceHandler(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	a, err := newAppWith(&cfg, logger, h.clock.Now, &http.Client{Timeout: 5 * time.Second, Transport: opts.outbound}, opts.tracing)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	if err := a.idp.Discover(t.Context()); err != nil {
		t.Fatalf("discover: %v", err)
	}
	t.Cleanup(a.tokens.Close)
	h.app = a
	h.auth.Config.Handler = a.handler

	proxy := demo.NewForwardAuthProxy(h.auth.URL+"/auth", h.upstream)
	proxy.Client.Transport = h.auth.Client().Transport
	h.dashboard.Config.Handler = proxy
	h.browser = browser.New(h.auth.Client().Transport)
	return h
}

// signIn navigates to the dashboard, signs in at the provider's form and checks that the
// browser ends on the dashboard.
func (h *harness) signIn(user string) {
	h.t.Helper()
	page, err := h.browser.Navigate(h.dashboard.URL + "/workloads?ns=default")
	if err != nil {
		h.t.Fatalf("navigate: %v", err)
	}
	if !strings.Contains(string(page.Body), `name="password"`) {
		h.t.Fatalf("navigation ended at %s (%d), not the login form: %s", page.URL, page.Status, page.Body)
	}
	page, err = h.browser.SignIn(page, user, "password")
	if err != nil {
		h.t.Fatalf("sign in: %v", err)
	}
	if page.Status != http.StatusOK || string(page.Body) != "dashboard ok" {
		h.t.Fatalf("after sign-in got %d at %s: %s; hops %v", page.Status, page.URL, page.Body, h.browser.Hops)
	}
	if got, want := page.URL.String(), h.dashboard.URL+"/workloads?ns=default"; got != want {
		h.t.Fatalf("after sign-in ended at %s; want %s", got, want)
	}
}

// bearer returns the token the dashboard received last and its claims.
func (h *harness) bearer() (string, map[string]any) {
	h.t.Helper()
	raw, ok := strings.CutPrefix(h.upstream.Last().Get("Authorization"), "Bearer ")
	if !ok {
		h.t.Fatalf("dashboard got no bearer token; headers %v", h.upstream.Last())
	}
	return raw, jwtClaims(h.t, raw)
}

// authRequest sends one forward-auth subrequest the way Traefik does, with the browser's
// cookies for the auth host.
func (h *harness) authRequest(extra http.Header) *browser.Page {
	h.t.Helper()
	hdr := http.Header{
		"X-Forwarded-Method": {"GET"},
		"X-Forwarded-Proto":  {"https"},
		"X-Forwarded-Host":   {strings.TrimPrefix(h.dashboard.URL, "https://")},
		"X-Forwarded-Uri":    {"/api/v1/namespaces"},
		"Accept":             {"application/json"},
	}
	for k, v := range extra {
		hdr[k] = v
	}
	page, err := h.browser.Fetch(http.MethodGet, h.auth.URL+"/auth", hdr)
	if err != nil {
		h.t.Fatalf("/auth: %v", err)
	}
	return page
}

func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	claims := map[string]any{}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("claims: %v", err)
	}
	return claims
}

// waitFor polls cond for a background effect (not an expiry: the clock is injected).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// credentialsIn lists what an /auth answer and the browser's cookie jar hold that must never
// reach a log line or a span: the bearer token, the session cookie values written, and every
// cookie the browser keeps for tokengate.
func (h *harness) credentialsIn(answer *browser.Page) []string {
	out := []string{strings.TrimPrefix(answer.Header.Get("Authorization"), "Bearer ")}
	for _, c := range answer.Header.Values("Set-Cookie") {
		value, _, _ := strings.Cut(strings.TrimPrefix(c, h.cfg.Cookie.Name+"="), ";")
		out = append(out, value)
	}
	authURL, _ := url.Parse(h.auth.URL)
	for _, c := range h.browser.Client.Jar.Cookies(authURL) {
		out = append(out, c.Value)
	}
	return out
}

// testConfig is the configuration every in-process test starts from: tokengate at publicURL
// signing in at the development provider p, redirects allowed to the dashboard at
// dashboardURL (its port too), one fixed cookie key, both header families.
func testConfig(publicURL, dashboardURL string, p *devidp.Provider) config.Config {
	cfg := config.Defaults()
	cfg.PublicURL = publicURL
	cfg.AllowedRedirectDomains = []string{strings.TrimPrefix(dashboardURL, "https://")}
	cfg.Provider.IssuerURL = p.Issuer()
	cfg.Provider.ClientID = testClientID
	cfg.Provider.ClientSecret = secret.String(testClientSecret)
	cfg.Provider.GraphURL = p.GraphURL()
	cfg.Cookie.Secrets = []secret.String{secret.String(base64.StdEncoding.EncodeToString(make([]byte, 32)))}
	cfg.ForwardAuth.Mode = "auto"
	return cfg
}
