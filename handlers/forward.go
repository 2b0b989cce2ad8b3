package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Forward-auth modes accepted by ParseForward (config key forwardAuth.mode).
const (
	// ForwardModeAuto believes X-Original-URL when present, else the X-Forwarded-* family.
	ForwardModeAuto = "auto"
	// ForwardModeIngressNginx believes only X-Original-URL / X-Original-Method.
	ForwardModeIngressNginx = "ingress-nginx"
	// ForwardModeTraefik believes only X-Forwarded-Method/Proto/Host/Uri.
	ForwardModeTraefik = "traefik"
	// ForwardModeCaddy believes the same headers as Traefik: Caddy's forward_auth mimics it.
	ForwardModeCaddy = "caddy"
)

// Proxy families reported in ForwardRequest.Proxy; they decide how /auth answers a
// browser without a session (401 for ingress-nginx, whose auth-signin redirects; 302 otherwise).
const (
	// ProxyIngressNginx is ingress-nginx's auth-url subrequest.
	ProxyIngressNginx = "ingress-nginx"
	// ProxyForwardAuth is Traefik ForwardAuth or Caddy forward_auth.
	ProxyForwardAuth = "forward-auth"
)

// ErrForwardHeaders reports missing, malformed, repeated or conflicting forward-auth
// headers; it is wrapped with the header's name and maps to 400. Header values are never
// echoed: an original URI may carry a code or token in its query.
var ErrForwardHeaders = errors.New("bad forward-auth headers")

// Header names as the proxies send them; http.Header canonicalises on lookup.
const (
	forwardHdrOriginalURL    = "X-Original-URL"
	forwardHdrOriginalMethod = "X-Original-Method"
	forwardHdrHost           = "X-Forwarded-Host"
	forwardHdrProto          = "X-Forwarded-Proto"
	forwardHdrURI            = "X-Forwarded-Uri"
	forwardHdrMethod         = "X-Forwarded-Method"
)

// Size limits: a longer value is an attack or a bug, never a dashboard URL.
const (
	forwardMaxURL    = 8 << 10 // X-Original-URL and X-Forwarded-Uri
	forwardMaxHost   = 253     // RFC 1035 §2.3.4, without the port
	forwardMaxMethod = 32
)

// ForwardRequest is the original request a proxy asks /auth about.
type ForwardRequest struct {
	Method     string // original method, "GET" when the proxy sent none
	Scheme     string // "https" or "http"
	Host       string // lowercased, without port; IPv6 without brackets
	Port       string // numeric, "" when the original host had none
	URI        string // path + query as the client sent it, starts with "/"
	Proxy      string // ProxyIngressNginx or ProxyForwardAuth
	Navigation bool   // a browser page navigation rather than an XHR/API call
}

// URL returns scheme://host[:port]URI, the original URL used as rd= for sign-in.
func (r ForwardRequest) URL() string {
	host := r.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if r.Port != "" {
		host += ":" + r.Port
	}
	return r.Scheme + "://" + host + r.URI
}

// ParseForward reads the original request from the headers a proxy sent to /auth. mode is
// one of the ForwardMode constants ("" means auto). Bad headers wrap ErrForwardHeaders; an
// unknown mode is a configuration bug and returns a plain error.
//
// In auto mode X-Original-URL selects the ingress-nginx family. ingress-nginx does not set
// X-Forwarded-Host on its auth subrequest and passes client headers through, so an
// X-Forwarded-Host naming another host is client-made and refused: it must not borrow
// another dashboard's host. In an explicit mode the other family is simply not believed.
func ParseForward(mode string, h http.Header) (ForwardRequest, error) {
	switch mode {
	case ForwardModeIngressNginx:
		return forwardParseNginx(h)
	case ForwardModeTraefik, ForwardModeCaddy:
		return forwardParseProxy(h)
	case ForwardModeAuto, "":
		if len(h.Values(forwardHdrOriginalURL)) == 0 {
			return forwardParseProxy(h)
		}
		r, err := forwardParseNginx(h)
		if err != nil {
			return ForwardRequest{}, err
		}
		if err := forwardSameHost(r.Host, h); err != nil {
			return ForwardRequest{}, err
		}
		return r, nil
	default:
		return ForwardRequest{}, fmt.Errorf("forward-auth mode %q: unknown (want auto, ingress-nginx, traefik or caddy)", mode)
	}
}

// forwardParseNginx reads X-Original-URL ($scheme://$http_host$request_uri) and
// X-Original-Method, as ingress-nginx's auth location sets them.
func forwardParseNginx(h http.Header) (ForwardRequest, error) {
	raw, present, err := forwardSingle(h, forwardHdrOriginalURL)
	if err != nil {
		return ForwardRequest{}, err
	}
	if !present {
		return ForwardRequest{}, forwardErr(forwardHdrOriginalURL, "missing")
	}
	r, err := forwardSplitURL(raw)
	if err != nil {
		return ForwardRequest{}, err
	}
	if r.Method, err = forwardMethod(h, forwardHdrOriginalMethod); err != nil {
		return ForwardRequest{}, err
	}
	r.Proxy = ProxyIngressNginx
	r.Navigation = forwardNavigation(r.Method, h)
	return r, nil
}

// forwardParseProxy reads the X-Forwarded-* family of Traefik ForwardAuth and Caddy
// forward_auth. Both always send X-Forwarded-Proto; when a hand-written proxy config omits
// it we assume https, so the sign-in redirect back can never downgrade to http.
func forwardParseProxy(h http.Header) (ForwardRequest, error) {
	var r ForwardRequest
	rawHost, present, err := forwardSingle(h, forwardHdrHost)
	if err != nil {
		return r, err
	}
	if !present {
		return r, forwardErr(forwardHdrHost, "missing")
	}
	if r.Host, r.Port, err = forwardHostHeader(rawHost); err != nil {
		return r, err
	}
	uri, present, err := forwardSingle(h, forwardHdrURI)
	if err != nil {
		return r, err
	}
	if !present {
		return r, forwardErr(forwardHdrURI, "missing")
	}
	if reason := forwardCheckURI(uri); reason != "" {
		return r, forwardErr(forwardHdrURI, reason)
	}
	r.URI = uri
	if r.Scheme, err = forwardProto(h); err != nil {
		return r, err
	}
	if r.Method, err = forwardMethod(h, forwardHdrMethod); err != nil {
		return r, err
	}
	r.Proxy = ProxyForwardAuth
	r.Navigation = forwardNavigation(r.Method, h)
	return r, nil
}

// forwardSplitURL checks an absolute original URL and splits it. The URI is cut from the
// raw string rather than rebuilt by net/url, so it stays byte-for-byte what the client sent;
// url.Parse is still run as a cross-check so the two parsers cannot disagree on the host.
func forwardSplitURL(raw string) (ForwardRequest, error) {
	var r ForwardRequest
	if len(raw) > forwardMaxURL {
		return r, forwardErr(forwardHdrOriginalURL, "too long")
	}
	if !forwardPrintableASCII(raw) {
		return r, forwardErr(forwardHdrOriginalURL, "contains whitespace, control or non-ASCII characters")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	r.Scheme = strings.ToLower(scheme)
	if !ok || (r.Scheme != "https" && r.Scheme != "http") {
		return r, forwardErr(forwardHdrOriginalURL, "not an absolute http or https URL")
	}
	authority, uri := rest, "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, uri = rest[:i], rest[i:]
	}
	if strings.HasPrefix(uri, "?") {
		uri = "/" + uri
	}
	if strings.Contains(authority, "@") {
		return r, forwardErr(forwardHdrOriginalURL, "has user info")
	}
	var okHost bool
	if r.Host, r.Port, okHost = forwardSplitHostPort(authority); !okHost {
		return r, forwardErr(forwardHdrOriginalURL, "host is not a valid host[:port]")
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || u.Host != authority {
		return r, forwardErr(forwardHdrOriginalURL, "malformed URL")
	}
	if reason := forwardCheckURI(uri); reason != "" {
		return r, forwardErr(forwardHdrOriginalURL, reason)
	}
	r.URI = uri
	return r, nil
}

// forwardHostHeader checks X-Forwarded-Host. ingress-nginx and Traefik set a single value
// and Caddy sets the request's Host (or passes a trusted proxy's value through), so a
// comma-separated chain only appears when something in front is misconfigured or a client
// forged it; we refuse lists instead of guessing which entry to believe.
func forwardHostHeader(raw string) (host, port string, err error) {
	if len(raw) > forwardMaxHost+8 {
		return "", "", forwardErr(forwardHdrHost, "too long")
	}
	if strings.Contains(raw, ",") {
		return "", "", forwardErr(forwardHdrHost, "lists several hosts")
	}
	host, port, ok := forwardSplitHostPort(raw)
	if !ok {
		return "", "", forwardErr(forwardHdrHost, "not a valid host[:port]")
	}
	return host, port, nil
}

// forwardSameHost refuses an X-Forwarded-Host that names another host than X-Original-URL.
func forwardSameHost(host string, h http.Header) error {
	raw, present, err := forwardSingle(h, forwardHdrHost)
	if err != nil || !present {
		return err
	}
	other, _, err := forwardHostHeader(raw)
	if err != nil {
		return err
	}
	if other != host {
		return forwardErr(forwardHdrHost, "names a different host than X-Original-URL")
	}
	return nil
}

// forwardProto reads X-Forwarded-Proto; see forwardParseProxy for the https default.
func forwardProto(h http.Header) (string, error) {
	raw, present, err := forwardSingle(h, forwardHdrProto)
	if err != nil {
		return "", err
	}
	if !present {
		return "https", nil
	}
	if strings.Contains(raw, ",") {
		return "", forwardErr(forwardHdrProto, "lists several values")
	}
	switch p := strings.ToLower(raw); p {
	case "https", "http":
		return p, nil
	default:
		return "", forwardErr(forwardHdrProto, "not http or https")
	}
}

// forwardMethod reads a method header; absent means GET. Methods are case-sensitive
// (RFC 9110 §9.1), so the value is kept as sent.
func forwardMethod(h http.Header, name string) (string, error) {
	m, present, err := forwardSingle(h, name)
	if err != nil {
		return "", err
	}
	if !present {
		return http.MethodGet, nil
	}
	if len(m) > forwardMaxMethod || !forwardIsToken(m) {
		return "", forwardErr(name, "not a valid method")
	}
	return m, nil
}

// forwardSingle returns the one value of a header. An empty value counts as absent (nginx
// clears a header by setting it to ""); several lines are refused because proxies set these
// headers once and a second line can only come from the client.
func forwardSingle(h http.Header, name string) (value string, present bool, err error) {
	vals := h.Values(name)
	switch {
	case len(vals) == 0:
		return "", false, nil
	case len(vals) > 1:
		return "", false, forwardErr(name, "repeated")
	case vals[0] == "":
		return "", false, nil
	}
	return vals[0], true, nil
}

func forwardErr(header, reason string) error {
	return fmt.Errorf("%w: %s: %s", ErrForwardHeaders, header, reason)
}

// forwardCheckURI returns why uri is not an origin-form request target, or "".
func forwardCheckURI(uri string) string {
	switch {
	case len(uri) > forwardMaxURL:
		return "too long"
	case !strings.HasPrefix(uri, "/"):
		return "does not start with /"
	case !forwardPrintableASCII(uri):
		return "contains whitespace, control or non-ASCII characters"
	case strings.Contains(uri, "#"):
		return "has a fragment"
	}
	// Go servers (Traefik, Caddy) answer 400 to a bad escape such as "/%"; we agree with
	// them, so URL() always parses and rd never silently collapses to "/". This is the check
	// url.ParseRequestURI makes of an origin-form target, without building a URL.
	path, _, _ := strings.Cut(uri, "?")
	if !forwardValidEscapes(path) {
		return "malformed request URI"
	}
	return ""
}

// forwardValidEscapes reports whether every % in s starts a two-hex-digit escape.
func forwardValidEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		i += 2
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
