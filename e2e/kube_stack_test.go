package e2e

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/localkube"
	"github.com/tokengate/tokengate/session"
)

// idtokenHost is the dashboard whose profile forwards the id_token, as generic proxies do.
const idtokenHost = "idtoken.example.test"

// kubeProfiles are the dashboards of a stack in front of the cluster: Headlamp with the AKS
// access token, and the same dashboard with a profile that forwards the id_token instead.
const kubeProfiles = `  - name: headlamp
    preset: headlamp
    hosts: [` + headlamp + `]
  - name: idtoken
    hosts: [` + idtokenHost + `]
    token: {kind: id_token}
    headers: {Authorization: "Bearer ${token}"}
`

// structuredProfiles is the AKS structured-authentication profile: the non-Entra issuer's
// id_token, which the cluster maps to aks:jwt:.
const structuredProfiles = `  - name: headlamp
    preset: structured-auth
    hosts: [` + headlamp + `]
`

// kubeStack is a stack whose dashboards call the shared cluster.
type kubeStack struct {
	*stack
	env       *kubeEnv
	dashboard *kubeDashboard
	// cookieKeyFile holds tokengate's cookie key, for a second replica.
	cookieKeyFile string
}

// kubeStackOptions are what a Kubernetes scenario varies.
type kubeStackOptions struct {
	// Proxy is "nginx" (default, as ingress-nginx), "traefik" (its ForwardAuth, file
	// provider), "traefik-crd" (the example's Middleware and IngressRoutes, read by the
	// kubernetescrd provider from the shared cluster) or "traefik-gateway" (the example's
	// Gateway and HTTPRoutes, read by the Gateway API provider, with its Middleware).
	Proxy                      string
	Tenant                     string // the provider tenant tokengate signs in with
	Profiles                   string // YAML of the dashboards key
	SafetyMargin, RefreshAhead time.Duration
	Env                        []string // added to tokengate's environment
}

// newKubeStack is newStack in front of the shared cluster: tokengate signs in with one of the
// shared provider's tenants (trusting its CA through SSL_CERT_FILE), and behind NGINX every
// dashboard host (or Traefik, with Proxy "traefik") is a Headlamp-like proxy that calls the API server with the Authorization
// header it received.
func newKubeStack(t *testing.T, env *kubeEnv, o kubeStackOptions) *kubeStack {
	t.Helper()
	opts := stackOptions{Proxy: "nginx", Mode: "ingress-nginx", BufferSize: "16k", Dashboards: o.Profiles,
		SafetyMargin: durationOr(o.SafetyMargin, time.Minute), RefreshAhead: durationOr(o.RefreshAhead, 5*time.Minute)}
	if strings.HasPrefix(o.Proxy, "traefik") {
		opts.Proxy, opts.Mode = "traefik", "traefik"
	}
	s := &stack{t: t, opts: opts, dir: t.TempDir(), dashboards: map[string]*dashboard{}, idp: env.tenants[o.Tenant]}
	tgURL, cookieKey := startTokengate(t, s.dir, e2eClientSecret, tokengateOptions{
		IssuerURL: s.idp.Issuer(), ClientID: e2eClientID, Mode: opts.Mode,
		SafetyMargin: opts.SafetyMargin, RefreshAhead: opts.RefreshAhead, Dashboards: opts.Dashboards,
		Env: append([]string{"SSL_CERT_FILE=" + env.caFile}, o.Env...),
	})
	codec, err := session.NewCodec([][]byte{cookieKey}, time.Now)
	mustf(t, err, "session codec")
	s.sessions = session.NewCookieStore(codec, session.CookieOptions{Name: "_tokengate", Domain: ".example.test"})
	s.tap = newTap(t, tgURL)
	ks := &kubeStack{stack: s, env: env, dashboard: newKubeDashboard(t, env), cookieKeyFile: filepath.Join(s.dir, "cookie-secret")}
	switch o.Proxy { // the examples route one dashboard: headlamp
	case "traefik-crd":
		s.port = startTraefikCRD(t, env, s.dir, s.tap.Addr(), ks.dashboard.Addr(), s.ready)
		return ks
	case "traefik-gateway":
		s.port = startTraefikGateway(t, env, s.dir, s.tap.Addr(), ks.dashboard.Addr(), s.ready)
		return ks
	}
	hosts := []string{headlamp, idtokenHost}
	if opts.Proxy == "traefik" {
		var sites []traefikSite
		for _, host := range hosts {
			sites = append(sites, traefikSite{Host: host, Upstream: ks.dashboard.Addr()})
		}
		s.port = startTraefik(t, s.dir, s.tap.Addr(), sites, traefikOptions{}, s.ready)
		return ks
	}
	var sites []nginxSite
	for _, host := range hosts {
		sites = append(sites, nginxSite{Host: host, Upstream: ks.dashboard.Addr(), BufferSize: opts.BufferSize})
	}
	s.port = startNginx(t, s.dir, s.tap.Addr(), sites, s.ready)
	return ks
}

// kubeDashboard stands in for Headlamp: it serves its own page at / and forwards every other
// request to the API server with the Authorization header NGINX gave it, and nothing of the
// browser's (no cookie, no identity headers), and answers what the API server answered.
type kubeDashboard struct {
	srv *httptest.Server

	mu     sync.Mutex
	bearer []string // the distinct tokens forwarded, in order
}

func newKubeDashboard(t *testing.T, env *kubeEnv) *kubeDashboard {
	target, err := url.Parse(env.cluster.URL)
	mustf(t, err, "cluster URL")
	d := &kubeDashboard{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Header = http.Header{"Accept": {"application/json"}}
			if ct := r.In.Header.Get("Content-Type"); ct != "" {
				r.Out.Header.Set("Content-Type", ct)
			}
			if auth := r.In.Header.Get("Authorization"); auth != "" {
				r.Out.Header.Set("Authorization", auth)
				d.record(strings.TrimPrefix(auth, "Bearer "))
			}
		},
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: env.ca.Pool(), MinVersion: tls.VersionTLS12}},
	}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" { // the dashboard's own page, where sign-in lands
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "kube dashboard ok")
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *kubeDashboard) record(token string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.bearer); n == 0 || d.bearer[n-1] != token {
		d.bearer = append(d.bearer, token)
	}
}

// Addr is the dashboard's host:port, where NGINX sends it traffic.
func (d *kubeDashboard) Addr() string { return d.srv.Listener.Addr().String() }

// Tokens returns the distinct bearer tokens forwarded so far, oldest first.
func (d *kubeDashboard) Tokens() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.bearer...)
}

// newKubeBrowser is newBrowser for a kube stack: it also trusts the provider's certificate.
func (s *kubeStack) newBrowser() *browser.Browser {
	tr := transportFor(s.port)
	tr.TLSClientConfig.RootCAs = s.env.pool
	s.t.Cleanup(tr.CloseIdleConnections)
	b := browser.New(tr)
	b.Client.Timeout = 15 * time.Second
	return b
}

// kubeCall is one API call from the dashboard's JavaScript through NGINX; it returns the
// status and body the API server answered (or NGINX, when /auth refused).
func kubeCall(t *testing.T, b *browser.Browser, host, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, https(host, path), strings.NewReader(body))
	mustf(t, err, "request %s %s", method, path)
	for k, v := range xhrHeaders {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.Client.Do(req)
	mustf(t, err, "%s %s on %s", method, path, host)
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	mustf(t, err, "read %s %s on %s", method, path, host)
	return resp.StatusCode, string(out)
}

// whoAmIBody is the SelfSubjectReview `kubectl auth whoami` posts.
const whoAmIBody = `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`

// whoAmI is `kubectl auth whoami` from the dashboard through NGINX.
func whoAmI(t *testing.T, b *browser.Browser, host string) (localkube.UserInfo, int) {
	t.Helper()
	status, body := kubeCall(t, b, host, http.MethodPost, "/apis/authentication.k8s.io/v1/selfsubjectreviews", whoAmIBody)
	if status != http.StatusCreated {
		return localkube.UserInfo{}, status
	}
	var review struct {
		Status struct {
			UserInfo localkube.UserInfo `json:"userInfo"`
		} `json:"status"`
	}
	mustf(t, json.Unmarshal([]byte(body), &review), "decode SelfSubjectReview")
	return review.Status.UserInfo, status
}
