package forward

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// envoyCheck builds a check request as Envoy's ext_authz HTTP service sends it with
// path_prefix /auth: the client's method, /auth + the client's path and query, the client's
// authority as Host, and the headers the filter allows through.
func envoyCheck(method, target, host string, kv ...string) *http.Request {
	// Built by hand: httptest.NewRequest refuses the malformed targets the table needs, and
	// the server hands the handler RequestURI exactly as received.
	r := &http.Request{Method: method, RequestURI: target, Host: host, Header: http.Header{}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	return r
}

func TestParseEnvoy(t *testing.T) {
	tests := []struct {
		name    string
		req     *http.Request
		want    Request
		wantErr string // "" means success; else the header or part named
	}{
		{
			name: "page load",
			req:  envoyCheck(http.MethodGet, "/auth/c/main?x=1", "headlamp.example.com", "Accept", "text/html", "Sec-Fetch-Mode", "navigate"),
			want: Request{Method: "GET", Scheme: "https", Host: "headlamp.example.com", URI: "/c/main?x=1", Proxy: ProxyEnvoy, Navigation: true},
		},
		{
			name: "root path arrives as the bare prefix",
			req:  envoyCheck(http.MethodGet, "/auth", "headlamp.example.com"),
			want: Request{Method: "GET", Scheme: "https", Host: "headlamp.example.com", URI: "/", Proxy: ProxyEnvoy},
		},
		{
			name: "query on the root",
			req:  envoyCheck(http.MethodGet, "/auth?x=1", "headlamp.example.com"),
			want: Request{Method: "GET", Scheme: "https", Host: "headlamp.example.com", URI: "/?x=1", Proxy: ProxyEnvoy},
		},
		{
			name: "API call keeps its method, port and escapes",
			req:  envoyCheck(http.MethodDelete, "/auth/api/v1/namespaces/a%2Fb?dryRun=All", "Headlamp.Example.com:8443", "X-Requested-With", "XMLHttpRequest"),
			want: Request{Method: "DELETE", Scheme: "https", Host: "headlamp.example.com", Port: "8443", URI: "/api/v1/namespaces/a%2Fb?dryRun=All", Proxy: ProxyEnvoy},
		},
		{
			name: "X-Forwarded-Proto allowed through",
			req:  envoyCheck(http.MethodGet, "/auth/", "dash.internal", "X-Forwarded-Proto", "http"),
			want: Request{Method: "GET", Scheme: "http", Host: "dash.internal", URI: "/", Proxy: ProxyEnvoy},
		},
		{
			name: "client-made forward headers are not believed",
			req: envoyCheck(http.MethodGet, "/auth/", "headlamp.example.com",
				"X-Original-URL", "https://grafana.example.com/", "X-Forwarded-Host", "grafana.example.com", "X-Forwarded-Uri", "/admin"),
			want: Request{Method: "GET", Scheme: "https", Host: "headlamp.example.com", URI: "/", Proxy: ProxyEnvoy},
		},
		{name: "prefix is not a path segment", req: envoyCheck(http.MethodGet, "/authz/x", "headlamp.example.com"), wantErr: "path"},
		{name: "bad escape", req: envoyCheck(http.MethodGet, "/auth/%zz", "headlamp.example.com"), wantErr: "path"},
		{name: "host with user info", req: envoyCheck(http.MethodGet, "/auth/", "user@headlamp.example.com"), wantErr: "Host"},
		{name: "empty host", req: envoyCheck(http.MethodGet, "/auth/", ""), wantErr: "Host"},
		{name: "bad scheme", req: envoyCheck(http.MethodGet, "/auth/", "headlamp.example.com", "X-Forwarded-Proto", "ftp"), wantErr: "X-Forwarded-Proto"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvoy(tt.req)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrHeaders) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %+v, %v; want an ErrHeaders naming %s", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v; want %+v", err, tt.want)
			}
			if got != tt.want {
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}

// FuzzParseEnvoy: whatever request line, Host and X-Forwarded-Proto arrive, ParseEnvoy either
// refuses them with ErrHeaders or returns a request whose URL is well formed.
func FuzzParseEnvoy(f *testing.F) {
	f.Add("GET", "/auth/c/main?x=1", "headlamp.example.com", "")
	f.Add("DELETE", "/auth", "[::1]:8443", "http")
	f.Add("G T", "/authz", "evil.com@dash", "https,http")
	f.Add("POST", "/auth//%2F..%2F?a=%zz", "a.b", "HTTPS")
	f.Fuzz(func(t *testing.T, method, target, host, proto string) {
		r := envoyCheck(method, target, host)
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		got, err := ParseEnvoy(r)
		if err != nil {
			if !errors.Is(err, ErrHeaders) {
				t.Fatalf("error %v does not wrap ErrHeaders", err)
			}
			return
		}
		if got.Proxy != ProxyEnvoy || got.Method != method {
			t.Fatalf("got %+v for method %q", got, method)
		}
		got.Proxy = ProxyForwardAuth // the shared invariant knows the header-based families
		forwardCheckInvariant(t, got)
	})
}
