package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/config"

	"github.com/tokengate/tokengate/internal/forward"
)

// envoyExtAuthz stands in for Envoy's ext_authz filter with an HTTP authorization service,
// configured as Envoy Gateway renders a SecurityPolicy extAuth with
//
//	http: {backendRef: tokengate:80, path: /auth, headersToBackend: [authorization, x-auth-request-user, …]}
//	headersToExtAuth: [cookie, accept, sec-fetch-mode, x-requested-with]
//
// and behaving as Envoy documents it (envoy.extensions.filters.http.ext_authz.v3.HttpService,
// AuthorizationRequest, AuthorizationResponse): the check request keeps the client's method,
// its path is path_prefix + the client's path and query, its Host the client's authority, and
// it carries Host, Method, Path, Content-Length, Authorization plus the allowed headers, no
// body. A 2xx adds allowed_upstream_headers to the upstream request; any other answer goes to
// the client with its status, headers and body.
type envoyExtAuthz struct {
	authBase       string // scheme://host:port of the authorization service
	pathPrefix     string
	allowedHeaders []string
	upstream       []string
	next           http.Handler
	client         *http.Client
}

func (e *envoyExtAuthz) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	check, err := http.NewRequestWithContext(r.Context(), r.Method, e.authBase+e.pathPrefix+r.URL.RequestURI(), http.NoBody)
	if err != nil {
		http.Error(w, "ext_authz: "+err.Error(), http.StatusForbidden) // Envoy's failure_mode_allow=false
		return
	}
	check.Host = r.Host
	for _, name := range append([]string{"Authorization"}, e.allowedHeaders...) {
		if v := r.Header.Values(name); len(v) > 0 {
			check.Header[http.CanonicalHeaderKey(name)] = v
		}
	}
	resp, err := e.client.Do(check)
	if err != nil {
		http.Error(w, "ext_authz: "+err.Error(), http.StatusForbidden)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		for _, name := range e.upstream {
			if v := resp.Header.Values(name); len(v) > 0 {
				r.Header[http.CanonicalHeaderKey(name)] = v
			}
		}
		e.next.ServeHTTP(w, r)
		return
	}
	for name, values := range resp.Header {
		w.Header()[name] = values
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// TestEnvoyExtAuthz: with forwardAuth.mode envoy, a browser signs in through an Envoy-shaped
// ext_authz proxy and the dashboard gets the user's token; an API call keeps its method and
// path; a request without a session gets tokengate's 401 relayed; a forged X-Forwarded-Host
// is not believed.
func TestEnvoyExtAuthz(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.ForwardAuth.Mode = forward.ModeEnvoy })
	client := h.auth.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	h.dashboard.Config.Handler = &envoyExtAuthz{
		authBase:       h.auth.URL,
		pathPrefix:     "/auth",
		allowedHeaders: []string{"Cookie", "Accept", "Sec-Fetch-Mode", "X-Requested-With"},
		upstream:       []string{"Authorization", "X-Auth-Request-User", "X-Auth-Request-Email"},
		next:           h.upstream,
		client:         client,
	}

	anon, err := h.browser.Fetch(http.MethodGet, h.dashboard.URL+"/api/v1/pods", http.Header{"X-Requested-With": {"XMLHttpRequest"}})
	if err != nil {
		t.Fatal(err)
	}
	if anon.Status != http.StatusUnauthorized || anon.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("XHR without a session: got %d (WWW-Authenticate %q); want tokengate's 401 relayed", anon.Status, anon.Header.Get("WWW-Authenticate"))
	}

	h.signIn("alice") // page navigation: tokengate's 302 to sign in, relayed by Envoy
	if _, claims := h.bearer(); claims["aud"] == nil {
		t.Errorf("dashboard token has no audience: %v", claims)
	}

	hits := func() int {
		h.upstream.mu.Lock()
		defer h.upstream.mu.Unlock()
		return h.upstream.hits
	}
	before := hits()
	page, err := h.browser.Fetch(http.MethodPost, h.dashboard.URL+"/api/v1/namespaces/default/pods?dryRun=All",
		http.Header{"X-Requested-With": {"XMLHttpRequest"}, "X-Forwarded-Host": {"elsewhere.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if after := hits(); page.Status != http.StatusOK || after != before+1 {
		t.Errorf("signed-in POST through ext_authz: got %d, upstream hits %d → %d; want 200 and one hit", page.Status, before, after)
	}
	if got := h.upstream.Last().Get("Authorization"); !strings.HasPrefix(got, "Bearer ") {
		t.Errorf("upstream Authorization = %q; want the user's bearer token", got)
	}
}
