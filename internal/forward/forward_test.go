package forward

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// forwardHeaders builds an http.Header from name/value pairs; a repeated name adds a line.
func forwardHeaders(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// Headers as the proxies really send them for a browser page load of
// https://headlamp.example.com/c/main?x=1 (client headers passed through).
var (
	forwardNginxGET = []string{
		"Host", "tokengate.auth.svc", // ingress-nginx sets Host to the auth service
		"X-Original-Url", "https://headlamp.example.com/c/main?x=1",
		"X-Original-Method", "GET",
		"X-Sent-From", "nginx-ingress-controller",
		"X-Auth-Request-Redirect", "/c/main?x=1",
		"X-Real-Ip", "203.0.113.7",
		"X-Forwarded-For", "203.0.113.7",
		"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"Sec-Fetch-Mode", "navigate",
	}
	forwardTraefikGET = []string{
		"X-Forwarded-Method", "GET",
		"X-Forwarded-Proto", "https",
		"X-Forwarded-Host", "headlamp.example.com",
		"X-Forwarded-Uri", "/c/main?x=1",
		"X-Forwarded-For", "203.0.113.7",
		"X-Forwarded-Port", "443",
		"X-Forwarded-Server", "traefik-7d9c",
		"X-Real-Ip", "203.0.113.7",
		"Accept", "text/html,application/xhtml+xml",
		"Sec-Fetch-Mode", "navigate",
	}
	forwardCaddyXHR = []string{
		"X-Forwarded-Method", "POST",
		"X-Forwarded-Uri", "/api/v1/namespaces",
		"X-Forwarded-Proto", "https",
		"X-Forwarded-Host", "dash.example.com:8443",
		"X-Forwarded-For", "203.0.113.7",
		"Accept", "application/json",
		"Sec-Fetch-Mode", "cors",
	}
)

func TestParseForwardProxies(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		headers []string
		want    Request
		wantURL string
	}{
		{
			name: "ingress-nginx in auto mode", mode: "auto", headers: forwardNginxGET,
			want: Request{Method: "GET", Scheme: "https", Host: "headlamp.example.com", URI: "/c/main?x=1",
				Proxy: ProxyIngressNginx, Navigation: true},
			wantURL: "https://headlamp.example.com/c/main?x=1",
		},
		{
			name: "ingress-nginx in its own mode", mode: "ingress-nginx", headers: forwardNginxGET,
			want: Request{Method: "GET", Scheme: "https", Host: "headlamp.example.com", URI: "/c/main?x=1",
				Proxy: ProxyIngressNginx, Navigation: true},
			wantURL: "https://headlamp.example.com/c/main?x=1",
		},
		{
			name: "traefik in auto mode", mode: "auto", headers: forwardTraefikGET,
			want: Request{Method: "GET", Scheme: "https", Host: "headlamp.example.com", URI: "/c/main?x=1",
				Proxy: ProxyForwardAuth, Navigation: true},
			wantURL: "https://headlamp.example.com/c/main?x=1",
		},
		{
			name: "traefik in its own mode", mode: "traefik", headers: forwardTraefikGET,
			want: Request{Method: "GET", Scheme: "https", Host: "headlamp.example.com", URI: "/c/main?x=1",
				Proxy: ProxyForwardAuth, Navigation: true},
			wantURL: "https://headlamp.example.com/c/main?x=1",
		},
		{
			name: "caddy xhr with port", mode: "caddy", headers: forwardCaddyXHR,
			want: Request{Method: "POST", Scheme: "https", Host: "dash.example.com", Port: "8443",
				URI: "/api/v1/namespaces", Proxy: ProxyForwardAuth},
			wantURL: "https://dash.example.com:8443/api/v1/namespaces",
		},
		{
			name: "empty mode means auto", mode: "", headers: forwardCaddyXHR,
			want: Request{Method: "POST", Scheme: "https", Host: "dash.example.com", Port: "8443",
				URI: "/api/v1/namespaces", Proxy: ProxyForwardAuth},
			wantURL: "https://dash.example.com:8443/api/v1/namespaces",
		},
		{
			name: "nginx defaults: no method, no path, uppercase host, http, port",
			mode: "auto", headers: []string{"X-Original-Url", "http://Dash.Example.COM:8080"},
			want:    Request{Method: "GET", Scheme: "http", Host: "dash.example.com", Port: "8080", URI: "/", Proxy: ProxyIngressNginx},
			wantURL: "http://dash.example.com:8080/",
		},
		{
			name: "nginx query without path", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.com?a=b"},
			want:    Request{Method: "GET", Scheme: "https", Host: "dash.example.com", URI: "/?a=b", Proxy: ProxyIngressNginx},
			wantURL: "https://dash.example.com/?a=b",
		},
		{
			name: "nginx keeps raw escapes", mode: "auto",
			headers: []string{"X-Original-Url", "https://dash.example.com/a%2Fb/%7Ec?q=%20"},
			want:    Request{Method: "GET", Scheme: "https", Host: "dash.example.com", URI: "/a%2Fb/%7Ec?q=%20", Proxy: ProxyIngressNginx},
			wantURL: "https://dash.example.com/a%2Fb/%7Ec?q=%20",
		},
		{
			name: "nginx ipv6 host", mode: "auto", headers: []string{"X-Original-Url", "https://[2001:DB8::1]:8443/x"},
			want:    Request{Method: "GET", Scheme: "https", Host: "2001:db8::1", Port: "8443", URI: "/x", Proxy: ProxyIngressNginx},
			wantURL: "https://[2001:db8::1]:8443/x",
		},
		{
			name: "nginx with matching X-Forwarded-Host on another port", mode: "auto",
			headers: []string{"X-Original-Url", "https://dash.example.com/", "X-Forwarded-Host", "DASH.example.com:443"},
			want:    Request{Method: "GET", Scheme: "https", Host: "dash.example.com", URI: "/", Proxy: ProxyIngressNginx},
			wantURL: "https://dash.example.com/",
		},
		{
			name: "explicit nginx mode does not believe X-Forwarded-Host", mode: "ingress-nginx",
			headers: []string{"X-Original-Url", "https://dash.example.com/", "X-Forwarded-Host", "other.example.com"},
			want:    Request{Method: "GET", Scheme: "https", Host: "dash.example.com", URI: "/", Proxy: ProxyIngressNginx},
			wantURL: "https://dash.example.com/",
		},
		{
			name: "traefik mode does not believe X-Original-URL", mode: "traefik",
			headers: []string{"X-Original-Url", "https://other.example.com/", "X-Forwarded-Host", "dash.example.com", "X-Forwarded-Uri", "/"},
			want:    Request{Method: "GET", Scheme: "https", Host: "dash.example.com", URI: "/", Proxy: ProxyForwardAuth},
			wantURL: "https://dash.example.com/",
		},
		{
			name: "forward-auth defaults: no proto means https, no method means GET", mode: "caddy",
			headers: []string{"X-Forwarded-Host", "dash.example.com", "X-Forwarded-Uri", "/x"},
			want:    Request{Method: "GET", Scheme: "https", Host: "dash.example.com", URI: "/x", Proxy: ProxyForwardAuth},
			wantURL: "https://dash.example.com/x",
		},
		{
			name: "forward-auth http and empty proto", mode: "traefik",
			headers: []string{"X-Forwarded-Host", "127.0.0.1:8080", "X-Forwarded-Uri", "/x", "X-Forwarded-Proto", "HTTP", "X-Forwarded-Method", "PROPFIND"},
			want:    Request{Method: "PROPFIND", Scheme: "http", Host: "127.0.0.1", Port: "8080", URI: "/x", Proxy: ProxyForwardAuth},
			wantURL: "http://127.0.0.1:8080/x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeaders(tt.mode, forwardHeaders(tt.headers...))
			if err != nil {
				t.Fatalf("ParseHeaders: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
			if got.URL() != tt.wantURL {
				t.Errorf("URL() = %q; want %q", got.URL(), tt.wantURL)
			}
		})
	}
}

func TestParseForwardBadHeaders(t *testing.T) {
	long := "/" + strings.Repeat("a", 8<<10)
	proxy := func(kv ...string) []string {
		base := map[string]string{"X-Forwarded-Host": "dash.example.com", "X-Forwarded-Uri": "/", "X-Forwarded-Proto": "https"}
		var out []string
		for i := 0; i+1 < len(kv); i += 2 {
			delete(base, kv[i])
			if kv[i+1] != "<absent>" {
				out = append(out, kv[i], kv[i+1])
			}
		}
		for k, v := range base {
			out = append(out, k, v)
		}
		return out
	}
	tests := []struct {
		name    string
		mode    string
		headers []string
		header  string // the header the error must name
		reason  string // optional words the error must contain
	}{
		{name: "nginx mode without X-Original-URL", mode: "ingress-nginx", headers: proxy(), header: "X-Original-URL"},
		{name: "empty X-Original-URL", mode: "auto", headers: []string{"X-Original-Url", ""}, header: "X-Original-URL"},
		{name: "relative X-Original-URL", mode: "auto", headers: []string{"X-Original-Url", "/c/main"}, header: "X-Original-URL"},
		{name: "ftp X-Original-URL", mode: "auto", headers: []string{"X-Original-Url", "ftp://dash.example.com/"}, header: "X-Original-URL"},
		{name: "opaque X-Original-URL", mode: "auto", headers: []string{"X-Original-Url", "https:dash.example.com/"}, header: "X-Original-URL"},
		{name: "X-Original-URL without host", mode: "auto", headers: []string{"X-Original-Url", "https:///x"}, header: "X-Original-URL"},
		{name: "X-Original-URL userinfo", mode: "auto", headers: []string{"X-Original-Url", "https://a.example.com@evil.com/"}, header: "X-Original-URL"},
		{name: "X-Original-URL fragment", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.com/#x"}, header: "X-Original-URL"},
		{name: "X-Original-URL space", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.com/a b"}, header: "X-Original-URL"},
		{name: "X-Original-URL control char", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.com/\x01"}, header: "X-Original-URL"},
		{name: "X-Original-URL non-ascii host", mode: "auto", headers: []string{"X-Original-Url", "https://dásh.example.com/"}, header: "X-Original-URL"},
		{name: "X-Original-URL backslash host", mode: "auto", headers: []string{"X-Original-Url", `https://dash.example.com\evil.com/`}, header: "X-Original-URL"},
		{name: "X-Original-URL encoded host", mode: "auto", headers: []string{"X-Original-Url", "https://dash%2eexample.com/"}, header: "X-Original-URL"},
		{name: "X-Original-URL bad port", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.com:x/"}, header: "X-Original-URL"},
		{name: "X-Original-URL absolute-form uri", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.comhttp://evil/"}, header: "X-Original-URL"},
		{name: "X-Original-URL bad escape", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.com/%"}, header: "X-Original-URL"},
		{name: "X-Original-URL too long", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.com" + long}, header: "X-Original-URL"},
		{name: "X-Original-URL repeated", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.com/", "X-Original-Url", "https://evil.example.com/"}, header: "X-Original-URL"},
		{name: "X-Original-Method not a token", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.com/", "X-Original-Method", "GET /"}, header: "X-Original-Method"},
		{name: "X-Original-Method too long", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.com/", "X-Original-Method", strings.Repeat("A", 33)}, header: "X-Original-Method"},
		{name: "auto: hosts disagree", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.com/", "X-Forwarded-Host", "admin.example.com"}, header: "X-Forwarded-Host", reason: "different host"},
		{name: "auto: malformed X-Forwarded-Host beside X-Original-URL", mode: "auto", headers: []string{"X-Original-Url", "https://dash.example.com/", "X-Forwarded-Host", "dash.example.com, admin.example.com"}, header: "X-Forwarded-Host"},
		{name: "missing X-Forwarded-Host", mode: "traefik", headers: proxy("X-Forwarded-Host", "<absent>"), header: "X-Forwarded-Host"},
		{name: "auto without any host", mode: "auto", headers: proxy("X-Forwarded-Host", "<absent>"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host list", mode: "traefik", headers: proxy("X-Forwarded-Host", "dash.example.com,evil.com"), header: "X-Forwarded-Host", reason: "several hosts"},
		{name: "X-Forwarded-Host repeated", mode: "caddy", headers: append(proxy(), "X-Forwarded-Host", "evil.com"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host space", mode: "caddy", headers: proxy("X-Forwarded-Host", "dash example.com"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host slash", mode: "caddy", headers: proxy("X-Forwarded-Host", "dash.example.com/x"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host at", mode: "caddy", headers: proxy("X-Forwarded-Host", "evil.com@dash.example.com"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host backslash", mode: "caddy", headers: proxy("X-Forwarded-Host", `dash.example.com\`), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host control char", mode: "caddy", headers: proxy("X-Forwarded-Host", "dash\x00.example.com"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host too long", mode: "caddy", headers: proxy("X-Forwarded-Host", strings.Repeat("a.", 127)+"com"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host label too long", mode: "caddy", headers: proxy("X-Forwarded-Host", strings.Repeat("a", 64)+".com"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host empty label", mode: "caddy", headers: proxy("X-Forwarded-Host", "dash..example.com"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host kelvin sign folding to k", mode: "caddy", headers: proxy("X-Forwarded-Host", "\u212Aelvin.example.com"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host dotted capital I", mode: "caddy", headers: proxy("X-Forwarded-Host", "\u0130d.example.com"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host trailing dot", mode: "caddy", headers: proxy("X-Forwarded-Host", "dash.example.com."), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host hyphen edge", mode: "caddy", headers: proxy("X-Forwarded-Host", "-dash.example.com"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host numeric tail", mode: "caddy", headers: proxy("X-Forwarded-Host", "dash.example.1"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host bare ipv6", mode: "caddy", headers: proxy("X-Forwarded-Host", "2001:db8::1"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host ipv6 zone", mode: "caddy", headers: proxy("X-Forwarded-Host", "[fe80::1%eth0]"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host bracketed ipv4", mode: "caddy", headers: proxy("X-Forwarded-Host", "[127.0.0.1]"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host junk after bracket", mode: "caddy", headers: proxy("X-Forwarded-Host", "[::1]x"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host empty port", mode: "caddy", headers: proxy("X-Forwarded-Host", "dash.example.com:"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host port zero", mode: "caddy", headers: proxy("X-Forwarded-Host", "dash.example.com:0"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host port too big", mode: "caddy", headers: proxy("X-Forwarded-Host", "dash.example.com:65536"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host port leading zero", mode: "caddy", headers: proxy("X-Forwarded-Host", "dash.example.com:0443"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host port sign", mode: "caddy", headers: proxy("X-Forwarded-Host", "dash.example.com:+443"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host two ports", mode: "caddy", headers: proxy("X-Forwarded-Host", "dash.example.com:1:2"), header: "X-Forwarded-Host"},
		{name: "X-Forwarded-Host unicode", mode: "caddy", headers: proxy("X-Forwarded-Host", "dásh.example.com"), header: "X-Forwarded-Host"},
		{name: "missing X-Forwarded-Uri", mode: "traefik", headers: proxy("X-Forwarded-Uri", "<absent>"), header: "X-Forwarded-Uri"},
		{name: "relative X-Forwarded-Uri", mode: "traefik", headers: proxy("X-Forwarded-Uri", "c/main"), header: "X-Forwarded-Uri"},
		{name: "absolute X-Forwarded-Uri", mode: "traefik", headers: proxy("X-Forwarded-Uri", "https://evil.com/"), header: "X-Forwarded-Uri"},
		{name: "asterisk X-Forwarded-Uri", mode: "traefik", headers: proxy("X-Forwarded-Uri", "*"), header: "X-Forwarded-Uri"},
		{name: "X-Forwarded-Uri space", mode: "traefik", headers: proxy("X-Forwarded-Uri", "/a b"), header: "X-Forwarded-Uri"},
		{name: "X-Forwarded-Uri tab", mode: "traefik", headers: proxy("X-Forwarded-Uri", "/a\tb"), header: "X-Forwarded-Uri"},
		{name: "X-Forwarded-Uri DEL", mode: "traefik", headers: proxy("X-Forwarded-Uri", "/a\x7f"), header: "X-Forwarded-Uri"},
		{name: "X-Forwarded-Uri non-ascii", mode: "traefik", headers: proxy("X-Forwarded-Uri", "/é"), header: "X-Forwarded-Uri"},
		{name: "X-Forwarded-Uri fragment", mode: "traefik", headers: proxy("X-Forwarded-Uri", "/a#b"), header: "X-Forwarded-Uri"},
		{name: "X-Forwarded-Uri too long", mode: "traefik", headers: proxy("X-Forwarded-Uri", long), header: "X-Forwarded-Uri"},
		{name: "X-Forwarded-Uri bad escape", mode: "traefik", headers: proxy("X-Forwarded-Uri", "/a%zz"), header: "X-Forwarded-Uri"},
		{name: "X-Forwarded-Uri trailing percent", mode: "traefik", headers: proxy("X-Forwarded-Uri", "/%"), header: "X-Forwarded-Uri"},
		{name: "X-Forwarded-Uri repeated", mode: "traefik", headers: append(proxy(), "X-Forwarded-Uri", "/admin"), header: "X-Forwarded-Uri"},
		{name: "X-Forwarded-Proto list", mode: "traefik", headers: proxy("X-Forwarded-Proto", "https,http"), header: "X-Forwarded-Proto"},
		{name: "X-Forwarded-Proto ws", mode: "traefik", headers: proxy("X-Forwarded-Proto", "wss"), header: "X-Forwarded-Proto"},
		{name: "X-Forwarded-Proto repeated", mode: "traefik", headers: append(proxy(), "X-Forwarded-Proto", "http"), header: "X-Forwarded-Proto"},
		{name: "X-Forwarded-Method not a token", mode: "caddy", headers: proxy("X-Forwarded-Method", "GE(T"), header: "X-Forwarded-Method"},
		{name: "X-Forwarded-Method with space", mode: "caddy", headers: proxy("X-Forwarded-Method", "GET HTTP/1.1"), header: "X-Forwarded-Method"},
		{name: "X-Forwarded-Method repeated", mode: "caddy", headers: append(proxy(), "X-Forwarded-Method", "GET", "X-Forwarded-Method", "POST"), header: "X-Forwarded-Method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeaders(tt.mode, forwardHeaders(tt.headers...))
			if !errors.Is(err, ErrHeaders) {
				t.Fatalf("ParseHeaders = %+v, %v; want ErrHeaders", got, err)
			}
			if !strings.Contains(err.Error(), tt.header+":") {
				t.Errorf("error %q does not name %s", err, tt.header)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q; want it to say %q", err, tt.reason)
			}
		})
	}
}

func TestParseForwardErrorsDoNotEchoValues(t *testing.T) {
	secretish := "https://dash.example.com/cb?code=SECRETCODE#frag"
	_, err := ParseHeaders("auto", forwardHeaders("X-Original-Url", secretish))
	if err == nil || strings.Contains(err.Error(), "SECRETCODE") {
		t.Errorf("error = %v; want an error that does not contain the URL's query", err)
	}
}

func TestParseForwardUnknownMode(t *testing.T) {
	_, err := ParseHeaders("envoy", forwardHeaders(forwardTraefikGET...))
	if err == nil || errors.Is(err, ErrHeaders) {
		t.Errorf("error = %v; want a configuration error that is not ErrHeaders", err)
	}
}

func TestParseForwardNavigation(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		headers []string
		want    bool
	}{
		{name: "fetch metadata navigate", headers: []string{"Sec-Fetch-Mode", "navigate", "Accept", "*/*"}, want: true},
		{name: "fetch metadata navigate on POST form", method: "POST", headers: []string{"Sec-Fetch-Mode", "navigate"}, want: true},
		{name: "fetch metadata cors", headers: []string{"Sec-Fetch-Mode", "cors", "Accept", "text/html"}, want: false},
		{name: "fetch metadata same-origin", headers: []string{"Sec-Fetch-Mode", "same-origin", "Accept", "text/html"}, want: false},
		{name: "fetch metadata no-cors", headers: []string{"Sec-Fetch-Mode", "no-cors", "Accept", "text/html"}, want: false},
		{name: "old browser page load", headers: []string{"Accept", "text/html,application/xhtml+xml;q=0.9"}, want: true},
		{name: "old browser HEAD", method: "HEAD", headers: []string{"Accept", "TEXT/HTML"}, want: true},
		{name: "html with parameters", headers: []string{"Accept", "application/xml;q=0.9, text/html; charset=utf-8"}, want: true},
		{name: "html refused with q=0", headers: []string{"Accept", "text/html;q=0, application/json"}, want: false},
		{name: "jquery xhr", headers: []string{"Accept", "text/html, */*; q=0.01", "X-Requested-With", "XMLHttpRequest"}, want: false},
		{name: "json api call", headers: []string{"Accept", "application/json"}, want: false},
		{name: "curl", headers: []string{"Accept", "*/*"}, want: false},
		{name: "no accept", want: false},
		{name: "html POST without fetch metadata", method: "POST", headers: []string{"Accept", "text/html"}, want: false},
		{name: "xhtml only is not html", headers: []string{"Accept", "application/xhtml+xml"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, family := range []struct{ name, mode, method string }{
				{name: "nginx", mode: "ingress-nginx", method: "X-Original-Method"},
				{name: "traefik", mode: "traefik", method: "X-Forwarded-Method"},
			} {
				kv := append([]string{
					"X-Original-Url", "https://dash.example.com/",
					"X-Forwarded-Host", "dash.example.com",
					"X-Forwarded-Uri", "/",
				}, tt.headers...)
				if tt.method != "" {
					kv = append(kv, family.method, tt.method)
				}
				got, err := ParseHeaders(family.mode, forwardHeaders(kv...))
				if err != nil {
					t.Fatalf("%s: ParseHeaders: %v", family.name, err)
				}
				if got.Navigation != tt.want {
					t.Errorf("%s: Navigation = %v; want %v", family.name, got.Navigation, tt.want)
				}
			}
		})
	}
}

func FuzzParseForward(f *testing.F) {
	f.Add("auto", "https://dash.example.com/c?x=1", "", "", "", "", "GET")
	f.Add("auto", "", "dash.example.com:8443", "/x", "http", "POST", "")
	f.Add("ingress-nginx", "http://[::1]:80", "[::1]", "", "", "", "")
	f.Add("traefik", "", "a.b.example.com", "/%2F%2Fevil", "HTTPS", "GET", "")
	f.Add("caddy", "", "evil.com@dash", "//x", "https,http", "G T", "")
	f.Add("auto", "https://a@b/", "b", "/", "", "", "\x00")
	f.Fuzz(func(t *testing.T, mode, originalURL, host, uri, proto, method, originalMethod string) {
		h := http.Header{}
		for name, v := range map[string]string{
			"X-Original-Url": originalURL, "X-Forwarded-Host": host, "X-Forwarded-Uri": uri,
			"X-Forwarded-Proto": proto, "X-Forwarded-Method": method, "X-Original-Method": originalMethod,
		} {
			if v != "" {
				h.Set(name, v)
			}
		}
		r, err := ParseHeaders(mode, h)
		if err != nil {
			return
		}
		forwardCheckInvariant(t, r)
	})
}

// forwardCheckInvariant checks a successful parse with tools independent of the parser.
func forwardCheckInvariant(t *testing.T, r Request) {
	t.Helper()
	if r.Scheme != "https" && r.Scheme != "http" {
		t.Fatalf("Scheme = %q", r.Scheme)
	}
	if r.Host == "" || r.Host != strings.ToLower(r.Host) || strings.ContainsAny(r.Host, "/@\\ ,%[]") {
		t.Fatalf("Host = %q", r.Host)
	}
	if !strings.HasPrefix(r.URI, "/") || strings.ContainsAny(r.URI, " \t\r\n\x00#") {
		t.Fatalf("URI = %q", r.URI)
	}
	if r.Method == "" || strings.ContainsAny(r.Method, " /\t\r\n") {
		t.Fatalf("Method = %q", r.Method)
	}
	if r.Proxy != ProxyIngressNginx && r.Proxy != ProxyForwardAuth {
		t.Fatalf("Proxy = %q", r.Proxy)
	}
	u, err := url.Parse(r.URL())
	if err != nil {
		t.Fatalf("URL() = %q does not parse: %v", r.URL(), err)
	}
	if u.User != nil || u.Hostname() != r.Host || u.Port() != r.Port || u.Scheme != r.Scheme {
		t.Fatalf("URL() = %q parses to host %q port %q; want %q %q", r.URL(), u.Hostname(), u.Port(), r.Host, r.Port)
	}
}

// TestDropsAnswerHeaders: only the modes whose proxy discards a 200's headers say so; auto
// cannot tell Caddy from Traefik and keeps to Traefik, which relays its listed cookies.
func TestDropsAnswerHeaders(t *testing.T) {
	want := map[string]bool{ModeAuto: false, ModeIngressNginx: false, ModeTraefik: false, ModeCaddy: true, ModeEnvoy: true}
	for _, mode := range Modes {
		if got := DropsAnswerHeaders(mode); got != want[mode] {
			t.Errorf("DropsAnswerHeaders(%q) = %v; want %v", mode, got, want[mode])
		}
	}
}
