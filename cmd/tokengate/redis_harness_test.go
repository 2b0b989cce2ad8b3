package main

import (
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/demo"
	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/internal/secret"
	"github.com/tokengate/tokengate/internal/telemetry"
	"github.com/tokengate/tokengate/internal/testfix"
	"github.com/tokengate/tokengate/session"
)

// testCacheTTL is redis.sessionCacheTTL in these tests: the revocation bound.
const testCacheTTL = 5 * time.Second

// testACLPassword is the password of the ACL user on Sentinel and Cluster topologies.
const testACLPassword = "acl-password-3b9e"

// redisCluster is several tokengate replicas on one real redis-server, sharing one
// development identity provider and one clock, as behind a Kubernetes Service. The
// dashboard's forward-auth proxy asks replica 0; tests ask any replica directly. All
// replicas share the public URL of replica 0, and the browser's host-only cookie for
// 127.0.0.1 reaches every replica (cookies ignore ports).
type redisCluster struct {
	t         *testing.T
	clock     *testfix.Clock
	idp       *devidp.Provider
	redis     *redistest.Server   // the single server; nil on Sentinel or Cluster
	sentinel  *redistest.Sentinel // nil unless topology is onSentinel
	cluster   *redistest.Cluster  // nil unless topology is onCluster
	cfg       *config.Config
	replicas  []*tokengateReplica
	dashboard *httptest.Server
	upstream  *upstreamRecorder
	browser   *browser.Browser
	logs      *syncBuffer
	tracing   *telemetry.Tracing // nil: tracing off
}

// tokengateReplica is one running tokengate.
type tokengateReplica struct {
	app *app
	srv *httptest.Server
}

// newRedisCluster starts redis-server, the identity provider (rotating refresh tokens with
// reuse detection when rotate is set) and n replicas with session.store redis.
func newRedisCluster(t *testing.T, n int, rotate bool) *redisCluster {
	t.Helper()
	return newRedisClusterWith(t, n, rotate, nil)
}

// newRedisClusterWith is newRedisCluster with every replica traced by tracing (nil: off).
func newRedisClusterWith(t *testing.T, n int, rotate bool, tracing *telemetry.Tracing) *redisCluster {
	t.Helper()
	return newRedisClusterOn(t, n, rotate, tracing, onServer)
}

// topology is the shape of Redis the replicas share.
type topology int

const (
	onServer   topology = iota // one redis-server, redis.url
	onSentinel                 // one master, one replica, three Sentinels, TLS: redis.addrs + masterName
	onCluster                  // three masters, three replicas, TLS: redis.addrs
)

// newRedisClusterOn is newRedisClusterWith on the given Redis topology.
func newRedisClusterOn(t *testing.T, n int, rotate bool, tracing *telemetry.Tracing, topo topology) *redisCluster {
	t.Helper()
	c := &redisCluster{t: t, clock: newTestClock(), upstream: &upstreamRecorder{}, logs: &syncBuffer{}, tracing: tracing}
	var tlsFiles *redistest.TLS
	switch topo {
	case onSentinel:
		tlsFiles = redistest.NewTLS(t)
		c.sentinel = redistest.StartSentinelTLS(t, tlsFiles)
	case onCluster:
		tlsFiles = redistest.NewTLS(t)
		c.cluster = redistest.StartClusterTLS(t, tlsFiles)
	default:
		c.redis = redistest.Start(t)
	}
	idpSrv := httptest.NewServer(nil)
	t.Cleanup(idpSrv.Close)
	first := startTLS(t)
	c.dashboard = startTLS(t)

	provider, err := devidp.New(devidp.Config{
		BaseURL: idpSrv.URL, AccessTokenLifetime: testTokenLifetime, Now: c.clock.Now,
		RotateRefreshTokens: rotate,
		Clients: []devidp.Client{{
			ID: testClientID, Secret: testClientSecret,
			RedirectURIs:           []string{first.URL + "/oauth2/callback"},
			PostLogoutRedirectURIs: []string{c.dashboard.URL + "/"},
		}},
	})
	if err != nil {
		t.Fatalf("devidp.New: %v", err)
	}
	c.idp = provider
	idpSrv.Config.Handler = provider.Handler()

	cfg := testConfig(first.URL, c.dashboard.URL, provider)
	cfg.Provider.Timeout = 5 * time.Second
	cfg.Session.Store = config.StoreRedis
	if tlsFiles != nil {
		// Sentinel and Cluster: TLS, and the ACL user the README recommends.
		cfg.Redis.TLS.Enabled, cfg.Redis.TLS.CAFile = true, tlsFiles.CAFile
		cfg.Redis.Username, cfg.Redis.Password = "tokengate", secret.String(testACLPassword)
		cfg.Redis.LockReplicas = 1 // as the README recommends with replicas
		rules := redistest.ACLRules(cfg.Redis.Username, testACLPassword)
		if c.sentinel != nil {
			c.sentinel.SetUser(rules...)
		} else {
			c.cluster.SetUser(rules...)
		}
	}
	switch topo {
	case onSentinel:
		cfg.Redis.Addrs, cfg.Redis.MasterName = c.sentinel.Addrs(), redistest.MasterName
	case onCluster:
		cfg.Redis.Addrs = c.cluster.Addrs()
	default:
		cfg.Redis.URL = c.redis.URL()
	}
	cfg.Redis.Timeout = time.Second // generous: CI machines run many suites at once
	if cfg.Redis.LockReplicas > 0 {
		// A refresh also waits for a replica's acknowledgement, from a process that
		// competes for the same two cores with every other topology of the run.
		cfg.Redis.Timeout = 2 * time.Second
	}
	cfg.Redis.SessionCacheTTL = testCacheTTL
	cfg.Redis.LockTTL = 10 * time.Second
	cfg.Metrics.InsecureServeOnListen = true         // scraped through the test server
	cfg.Provider.RefreshTokenReuseDetection = rotate // as an operator declares such a provider
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	c.cfg = &cfg
	c.replicas = append(c.replicas, c.startReplica(first))
	for range n - 1 {
		c.addReplica()
	}
	proxy := demo.NewForwardAuthProxy(first.URL+"/auth", c.upstream)
	proxy.Client.Transport = first.Client().Transport
	c.dashboard.Config.Handler = proxy
	c.browser = browser.New(first.Client().Transport)
	return c
}

// startTLS starts an HTTPS server on 127.0.0.1 whose handler is set later. httptest serves
// one certificate for every server, so one client transport trusts them all.
func startTLS(t *testing.T) *httptest.Server {
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut short at Close
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// addReplica starts one more replica on the same configuration.
func (c *redisCluster) addReplica() *tokengateReplica {
	c.t.Helper()
	r := c.startReplica(startTLS(c.t))
	c.replicas = append(c.replicas, r)
	return r
}

func (c *redisCluster) startReplica(srv *httptest.Server) *tokengateReplica {
	c.t.Helper()
	logger := slog.New(slog.NewJSONHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := newAppWith(c.cfg, logger, c.clock.Now, &http.Client{Timeout: 5 * time.Second}, c.tracing)
	if err != nil {
		c.t.Fatalf("newApp: %v", err)
	}
	c.t.Cleanup(a.store.close)
	c.t.Cleanup(a.tokens.Close)
	if err := a.idp.Discover(c.t.Context()); err != nil {
		c.t.Fatalf("discover: %v", err)
	}
	srv.Config.Handler = a.handler
	return &tokengateReplica{app: a, srv: srv}
}

// signIn signs user in through the dashboard (and so through replica 0).
func (c *redisCluster) signIn(user string) {
	c.t.Helper()
	page, err := c.browser.Navigate(c.dashboard.URL + "/")
	if err != nil {
		c.t.Fatalf("navigate: %v", err)
	}
	page, err = c.browser.SignIn(page, user, "password")
	if err != nil {
		c.t.Fatalf("sign in: %v", err)
	}
	if page.Status != http.StatusOK || string(page.Body) != "dashboard ok" {
		c.t.Fatalf("after sign-in got %d at %s: %s", page.Status, page.URL, page.Body)
	}
}

// auth sends a Traefik-style forward-auth request to replica i with the browser's cookies.
func (c *redisCluster) auth(i int) *browser.Page {
	c.t.Helper()
	return c.authWith(i, nil)
}

// authWith sends the forward-auth request to replica i carrying cookies instead of the
// browser's, when cookies is not nil (a cookie replayed after sign-out).
func (c *redisCluster) authWith(i int, cookies []*http.Cookie) *browser.Page {
	c.t.Helper()
	return c.authAs(i, cookies, "GET", "/api/v1/namespaces", http.Header{"Accept": {"application/json"}})
}

// authAs is authWith for an original request of method on uri with the browser's header.
func (c *redisCluster) authAs(i int, cookies []*http.Cookie, method, uri string, header http.Header) *browser.Page {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.replicas[i].srv.URL+"/auth", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header = header.Clone()
	req.Header.Set("X-Forwarded-Method", method)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", strings.TrimPrefix(c.dashboard.URL, "https://"))
	req.Header.Set("X-Forwarded-Uri", uri)
	if cookies == nil {
		cookies = c.cookies()
	}
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	client := *c.replicas[i].srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse } // a proxy never follows /auth's
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatalf("/auth on replica %d: %v", i, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &browser.Page{URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// get fetches path on replica i without cookies.
func (c *redisCluster) get(i int, path string) *browser.Page {
	c.t.Helper()
	resp, err := c.replicas[i].srv.Client().Get(c.replicas[i].srv.URL + path)
	if err != nil {
		c.t.Fatalf("GET %s on replica %d: %v", path, i, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &browser.Page{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// cookies are the browser's cookies for the tokengate host.
func (c *redisCluster) cookies() []*http.Cookie {
	u, _ := url.Parse(c.replicas[0].srv.URL)
	return c.browser.Client.Jar.Cookies(u)
}

// session reads the signed-in session as replica 0 sees it (for its sid).
func (c *redisCluster) session() *session.Session {
	c.t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, ck := range c.cookies() {
		req.AddCookie(ck)
	}
	sess, err := c.replicas[0].app.store.sessions.Load(req.Context(), req)
	if err != nil {
		c.t.Fatalf("load session: %v", err)
	}
	return sess
}

// wantStatus fails unless /auth on replica i answers want.
func (c *redisCluster) wantStatus(what string, i, want int) *browser.Page {
	c.t.Helper()
	page := c.auth(i)
	if page.Status != want {
		c.t.Errorf("%s: /auth on replica %d = %d %s; want %d", what, i, page.Status, strings.TrimSpace(string(page.Body)), want)
	}
	return page
}
