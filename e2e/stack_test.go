package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/session"
)

const (
	e2eClientID     = "tokengate-e2e"
	e2eClientSecret = "e2e-client-secret-5c1d"
	// The dashboards' host names; the browser resolves every *.example.test to the proxy.
	headlamp = "headlamp.example.test"
	// issuerPlaceholder in stackOptions.Dashboards names the provider's v1 issuer, which is
	// known only once the provider runs (bearerPassThrough).
	issuerPlaceholder = "$ACCESS_TOKEN_ISSUER"
	grafana           = "grafana.example.test"
)

// Proxies under test, with the forwardAuth.mode an operator would set for each.
var proxies = []struct {
	name string
	mode string
}{
	{name: "nginx", mode: "ingress-nginx"},
	{name: "caddy", mode: "caddy"},
	{name: "traefik", mode: "traefik"},
}

// stackOptions are what a scenario group varies.
type stackOptions struct {
	Proxy string // "nginx", "caddy" or "traefik"
	Mode  string // forwardAuth.mode
	// TokenLifetime is the lifetime of the provider's access tokens, default 1h.
	TokenLifetime time.Duration
	// SafetyMargin and RefreshAhead are tokengate's token settings, default 60s and 5m.
	SafetyMargin, RefreshAhead time.Duration
	// BufferSize is the nginx proxy-buffer-size of the dashboards, default "16k".
	BufferSize string
	// Dashboards is the YAML of tokengate's dashboards key (profiles); "" for none.
	// issuerPlaceholder in it becomes the provider's v1 (access token) issuer URL.
	Dashboards string
	// CacheTTL is forwardAuth.cacheTTL; with nginx it also turns the auth cache on.
	CacheTTL time.Duration
	// Env is added to tokengate's environment (tokengateOptions.Env).
	Env []string
	// Traefik varies the documented Traefik configuration.
	Traefik traefikOptions
	// ErrorBackend is the nginx sites' custom-http-errors default backend (host:port).
	ErrorBackend string
	// RedisURL, when set, puts the sessions in this Redis server (session.store redis).
	RedisURL string
	// CookieKeys are cookie.secrets, the primary first; default one random key.
	CookieKeys [][]byte
}

// stack is one complete installation on 127.0.0.1: the identity provider, tokengate behind
// a tap, two dashboards, and the proxy in front of them serving TLS for *.example.test.
type stack struct {
	t          *testing.T
	opts       stackOptions
	dir        string
	idp        *devidp.Provider
	tap        *tap
	dashboards map[string]*dashboard // by host name
	port       int                   // the proxy's TLS port
	sessions   *session.CookieStore  // opens the browser's session cookie
	tokengate  *process              // restarted in place by restartTokengate
	tgOpts     tokengateOptions
}

func newStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	opts.TokenLifetime = durationOr(opts.TokenLifetime, time.Hour)
	opts.SafetyMargin = durationOr(opts.SafetyMargin, time.Minute)
	opts.RefreshAhead = durationOr(opts.RefreshAhead, 5*time.Minute)
	if opts.BufferSize == "" {
		opts.BufferSize = "16k"
	}
	s := &stack{t: t, opts: opts, dir: t.TempDir(), dashboards: map[string]*dashboard{}}
	s.startProvider()
	s.tgOpts = tokengateOptions{
		IssuerURL: s.idp.Issuer(), ClientID: e2eClientID, Mode: opts.Mode,
		SafetyMargin: opts.SafetyMargin, RefreshAhead: opts.RefreshAhead, Dashboards: strings.ReplaceAll(opts.Dashboards, issuerPlaceholder, s.idp.AccessTokenIssuer()),
		CacheTTL: opts.CacheTTL, Env: opts.Env, RedisURL: opts.RedisURL,
		Listen: hostPort(freePort(t)), // kept across restartTokengate
	}
	if len(opts.CookieKeys) > 0 {
		s.tgOpts.CookieKey, s.tgOpts.OlderCookieKeys = opts.CookieKeys[0], opts.CookieKeys[1:]
	}
	var tgURL string
	var cookieKey []byte
	s.tokengate, tgURL, cookieKey = runTokengate(t, s.dir, e2eClientSecret, s.tgOpts)
	s.tgOpts.CookieKey = cookieKey // a random one unless CookieKeys named it
	codec, err := session.NewCodec([][]byte{cookieKey}, time.Now)
	mustf(t, err, "session codec")
	s.sessions = session.NewCookieStore(codec, session.CookieOptions{Name: "_tokengate", Domain: ".example.test"})
	s.tap = newTap(t, tgURL)
	for _, host := range []string{headlamp, grafana} {
		s.dashboards[host] = newDashboard(t, strings.TrimSuffix(host, ".example.test"))
	}
	switch opts.Proxy {
	case "nginx":
		var sites []nginxSite
		for _, host := range []string{headlamp, grafana} {
			sites = append(sites, nginxSite{Host: host, Upstream: s.dashboards[host].Addr(), BufferSize: opts.BufferSize,
				AuthCache: opts.CacheTTL > 0, ErrorBackend: opts.ErrorBackend})
		}
		s.port = startNginx(t, s.dir, s.tap.Addr(), sites, s.ready)
	case "caddy":
		sites := []caddySite{
			{Host: headlamp, Upstream: s.dashboards[headlamp].Addr(), StripIdentity: true},
			{Host: grafana, Upstream: s.dashboards[grafana].Addr(), StripIdentity: true},
			// The same dashboard behind Caddy's forward_auth exactly as documented, to
			// show what the StripIdentity hardening is for.
			{Host: "bare-" + headlamp, Upstream: s.dashboards[headlamp].Addr()},
		}
		s.port = startCaddy(t, s.dir, s.tap.Addr(), sites, s.ready)
	case "traefik":
		s.port = startTraefik(t, s.dir, s.tap.Addr(), s.traefikSites(), opts.Traefik, s.ready)
	default:
		t.Fatalf("unknown proxy %q", opts.Proxy)
	}
	return s
}

// restartTokengate stops tokengate and starts it again on the same address with keys as
// cookie.secrets (the primary first), as a rollout of a changed Secret would.
func (s *stack) restartTokengate(keys ...[]byte) {
	s.t.Helper()
	s.tokengate.stop(s.t)
	s.tgOpts.CookieKey, s.tgOpts.OlderCookieKeys = keys[0], keys[1:]
	dir, err := os.MkdirTemp(s.dir, "tokengate-")
	mustf(s.t, err, "tokengate directory")
	s.tokengate, _, _ = runTokengate(s.t, dir, e2eClientSecret, s.tgOpts)
}

// startProvider runs the development identity provider on plain http (loopback issuers
// may be http) with tokengate's app registration.
func (s *stack) startProvider() {
	srv := httptest.NewServer(nil)
	s.t.Cleanup(srv.Close)
	p, err := devidp.New(devidp.Config{
		BaseURL:             srv.URL,
		AccessTokenLifetime: s.opts.TokenLifetime,
		Clients: []devidp.Client{{
			ID: e2eClientID, Secret: e2eClientSecret,
			RedirectURIs:           []string{"https://auth.example.test/oauth2/callback"},
			PostLogoutRedirectURIs: []string{"https://" + headlamp + "/", "https://" + grafana + "/"},
		}},
	})
	mustf(s.t, err, "devidp.New")
	srv.Config.Handler = p.Handler()
	s.idp = p
}

// transportFor dials every *.example.test:443 at the proxy's port on 127.0.0.1 and trusts
// only the test CA; TLS ServerName comes from the URL, so SNI picks the right site.
func transportFor(port int) *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, p, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if host == "example.test" || strings.HasSuffix(host, ".example.test") {
				if p != "443" {
					return nil, fmt.Errorf("e2e dialer: %s: only port 443 is served", addr)
				}
				addr = hostPort(port)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:       &tls.Config{RootCAs: testPKI.Pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
}

// ready reports whether the proxy on port routes the auth host to tokengate.
func (s *stack) ready(port int) error {
	tr := transportFor(port)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	resp, err := client.Get("https://auth.example.test/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return statusErr("proxy → tokengate /healthz", resp.StatusCode, http.StatusOK)
}

// newBrowser returns a fresh browser (empty cookie jar) that reaches the stack's proxy.
func (s *stack) newBrowser() *browser.Browser {
	tr := transportFor(s.port)
	s.t.Cleanup(tr.CloseIdleConnections)
	b := browser.New(tr)
	b.Client.Timeout = 15 * time.Second
	return b
}

// session opens the tokengate session the browser holds, as tokengate would.
func (s *stack) session(b *browser.Browser) (*session.Session, error) {
	u := &url.URL{Scheme: "https", Host: headlamp, Path: "/"}
	req := httptest.NewRequest(http.MethodGet, u.String(), nil)
	for _, c := range b.Client.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	return s.sessions.Load(req.Context(), req)
}

// signIn navigates to target without a session, expects the provider's login form, signs
// in as user and expects the browser back on target with the dashboard's page.
func (s *stack) signIn(b *browser.Browser, target, user string) *browser.Page {
	s.t.Helper()
	page, err := b.Navigate(target)
	mustf(s.t, err, "navigate to %s", target)
	if !isLoginForm(page) {
		s.t.Fatalf("navigation to %s ended at %s (%d), not the login form; hops %v\n%s", target, page.URL, page.Status, hops(b), snippet(page.Body))
	}
	page, err = b.SignIn(page, user, "password")
	mustf(s.t, err, "sign in as %s", user)
	if got := page.URL.String(); got != target || page.Status != http.StatusOK {
		s.t.Fatalf("after sign-in ended at %s (%d); want %s (200); hops %v\n%s", got, page.Status, target, hops(b), snippet(page.Body))
	}
	return page
}

// isLoginForm reports whether page is the development identity provider's login form.
func isLoginForm(page *browser.Page) bool {
	return page.Status == http.StatusOK && page.URL.Hostname() == "127.0.0.1" &&
		strings.Contains(string(page.Body), `name="password"`)
}

// snippet shortens a body for a failure message.
func snippet(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// https returns the URL of a path on a host, as the browser sees it.
func https(host, pathQuery string) string { return "https://" + host + pathQuery }

// hops lists a navigation's hops for a failure message, with the one-time values of the
// OAuth flow (code, state, nonce, PKCE challenge) cut out: test logs show no codes.
func hops(b *browser.Browser) []string {
	out := make([]string, 0, len(b.Hops))
	for _, h := range b.Hops {
		u, err := url.Parse(h)
		if err != nil {
			out = append(out, "<unparsable URL>")
			continue
		}
		q := u.Query()
		for _, k := range []string{"code", "state", "nonce", "code_challenge", "session_state"} {
			if q.Has(k) {
				q.Set(k, "…")
			}
		}
		u.RawQuery = q.Encode()
		out = append(out, u.String())
	}
	return out
}
