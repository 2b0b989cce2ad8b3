// Package demo holds the pieces of `tokengate demo` that stand in for a cluster: a small
// forward-auth proxy (the ingress) and a sample dashboard that shows what it received.
package demo

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// ForwardAuthProxy protects next the way Traefik's ForwardAuth middleware does: it asks
// authURL about every request with X-Forwarded-Method/Proto/Host/Uri and the client's own
// headers, copies the listed response headers onto the request when the answer is 2xx, and
// otherwise relays the auth answer (a redirect to sign in, 401, 403, 503) to the browser.
type ForwardAuthProxy struct {
	AuthURL string
	// ResponseHeaders are copied from a 2xx auth answer onto the upstream request, replacing
	// whatever the client sent under those names.
	ResponseHeaders []string
	Next            http.Handler
	Client          *http.Client
}

// NewForwardAuthProxy returns a proxy with the header list ingress users configure for
// tokengate.
func NewForwardAuthProxy(authURL string, next http.Handler) *ForwardAuthProxy {
	return &ForwardAuthProxy{
		AuthURL: authURL,
		ResponseHeaders: []string{"Authorization", "X-Auth-Request-User", "X-Auth-Request-Email",
			"X-Auth-Request-Preferred-Username", "X-Auth-Request-Groups"},
		Next: next,
		Client: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func (p *ForwardAuthProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	authReq, err := http.NewRequestWithContext(r.Context(), http.MethodGet, p.AuthURL, nil)
	if err != nil {
		http.Error(w, "bad auth URL", http.StatusInternalServerError)
		return
	}
	for name, values := range r.Header {
		authReq.Header[name] = values
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	authReq.Header.Set("X-Forwarded-Method", r.Method)
	authReq.Header.Set("X-Forwarded-Proto", scheme)
	authReq.Header.Set("X-Forwarded-Host", r.Host)
	authReq.Header.Set("X-Forwarded-Uri", r.URL.RequestURI())
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		authReq.Header.Set("X-Forwarded-For", host)
	}
	resp, err := p.Client.Do(authReq)
	if err != nil {
		http.Error(w, fmt.Sprintf("forward auth unreachable: %v", err), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		for name, values := range resp.Header {
			w.Header()[name] = values
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, io.LimitReader(resp.Body, 1<<20))
		return
	}
	upstream := r.Clone(r.Context())
	for _, name := range p.ResponseHeaders {
		upstream.Header.Del(name)
		if v := resp.Header.Values(name); len(v) > 0 {
			upstream.Header[http.CanonicalHeaderKey(name)] = v
		}
	}
	for _, c := range resp.Header.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", c)
	}
	upstream.Header.Del("Cookie") // the dashboard has no business with the session cookie
	p.Next.ServeHTTP(w, upstream)
}
