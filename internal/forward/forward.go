package forward

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Forward-auth modes accepted by ParseHeaders (config key forwardAuth.mode).
const (
	// ModeAuto believes X-Original-URL when present, else the X-Forwarded-* family.
	ModeAuto = "auto"
	// ModeIngressNginx believes only X-Original-URL / X-Original-Method.
	ModeIngressNginx = "ingress-nginx"
	// ModeTraefik believes only X-Forwarded-Method/Proto/Host/Uri.
	ModeTraefik = "traefik"
	// ModeCaddy believes the same headers as Traefik: Caddy's forward_auth mimics it.
	ModeCaddy = "caddy"
)

// Modes lists every value forwardAuth.mode may take, for configuration validation.
var Modes = []string{ModeAuto, ModeIngressNginx, ModeTraefik, ModeCaddy, ModeEnvoy}

// DropsAnswerHeaders reports whether mode's proxy hands the browser none of the headers of a
// 2xx /auth answer, Set-Cookie included: Caddy's forward_auth and Envoy's ext_authz. A non-2xx
// answer they pass on whole. In auto mode Caddy cannot be told from Traefik, which relays the
// cookies it is told to.
func DropsAnswerHeaders(mode string) bool { return mode == ModeCaddy || mode == ModeEnvoy }

// Proxy families reported in Request.Proxy; they decide how /auth answers a
// browser without a session (401 for ingress-nginx, whose auth-signin redirects; 302 otherwise).
const (
	// ProxyIngressNginx is ingress-nginx's auth-url subrequest.
	ProxyIngressNginx = "ingress-nginx"
	// ProxyForwardAuth is Traefik ForwardAuth or Caddy forward_auth.
	ProxyForwardAuth = "forward-auth"
)

// ErrHeaders reports missing, malformed, repeated or conflicting forward-auth
// headers; it is wrapped with the header's name and maps to 400. Header values are never
// echoed: an original URI may carry a code or token in its query.
var ErrHeaders = errors.New("bad forward-auth headers")

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
	forwardMaxURL = 8 << 10 // X-Original-URL and X-Forwarded-Uri
	maxHost       = 253     // RFC 1035 §2.3.4, without the port
	maxMethod     = 32
)

// Request is the original request a proxy asks /auth about.
type Request struct {
	Method     string // original method, "GET" when the proxy sent none
	Scheme     string // "https" or "http"
	Host       string // lowercased, without port; IPv6 without brackets
	Port       string // numeric, "" when the original host had none
	URI        string // path + query as the client sent it, starts with "/"
	Proxy      string // ProxyIngressNginx or ProxyForwardAuth
	Navigation bool   // a browser page navigation rather than an XHR/API call
}

// URL returns scheme://host[:port]URI, the original URL used as rd= for sign-in.
func (r Request) URL() string {
	host := r.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if r.Port != "" {
		host += ":" + r.Port
	}
	return r.Scheme + "://" + host + r.URI
}

// ParseHeaders reads the original request from the headers a proxy sent to /auth. mode is
// one of the ForwardMode constants ("" means auto). Bad headers wrap ErrHeaders; an
// unknown mode is a configuration bug and returns a plain error.
//
// In auto mode X-Original-URL selects the ingress-nginx family. ingress-nginx does not set
// X-Forwarded-Host on its auth subrequest and passes client headers through, so an
// X-Forwarded-Host naming another host is client-made and refused: it must not borrow
// another dashboard's host. In an explicit mode the other family is simply not believed.
func ParseHeaders(mode string, h http.Header) (Request, error) {
	switch mode {
	case ModeIngressNginx:
		return parseNginx(h)
	case ModeTraefik, ModeCaddy:
		return parseForwarded(h)
	case ModeAuto, "":
		if len(h.Values(forwardHdrOriginalURL)) == 0 {
			return parseForwarded(h)
		}
		r, err := parseNginx(h)
		if err != nil {
			return Request{}, err
		}
		if err := sameHost(r.Host, h); err != nil {
			return Request{}, err
		}
		return r, nil
	default:
		return Request{}, fmt.Errorf("forward-auth mode %q: unknown (want auto, ingress-nginx, traefik or caddy)", mode)
	}
}

// parseNginx reads X-Original-URL ($scheme://$http_host$request_uri) and
// X-Original-Method, as ingress-nginx's auth location sets them.
func parseNginx(h http.Header) (Request, error) {
	raw, present, err := single(h, forwardHdrOriginalURL)
	if err != nil {
		return Request{}, err
	}
	if !present {
		return Request{}, headerErr(forwardHdrOriginalURL, "missing")
	}
	r, err := splitURL(raw)
	if err != nil {
		return Request{}, err
	}
	if r.Method, err = readMethod(h, forwardHdrOriginalMethod); err != nil {
		return Request{}, err
	}
	r.Proxy = ProxyIngressNginx
	r.Navigation = isNavigation(r.Method, h)
	return r, nil
}

// parseForwarded reads the X-Forwarded-* family of Traefik ForwardAuth and Caddy
// forward_auth. Both always send X-Forwarded-Proto; when a hand-written proxy config omits
// it we assume https, so the sign-in redirect back can never downgrade to http.
func parseForwarded(h http.Header) (Request, error) {
	var r Request
	rawHost, present, err := single(h, forwardHdrHost)
	if err != nil {
		return r, err
	}
	if !present {
		return r, headerErr(forwardHdrHost, "missing")
	}
	if r.Host, r.Port, err = hostHeader(rawHost); err != nil {
		return r, err
	}
	uri, present, err := single(h, forwardHdrURI)
	if err != nil {
		return r, err
	}
	if !present {
		return r, headerErr(forwardHdrURI, "missing")
	}
	if reason := checkURI(uri); reason != "" {
		return r, headerErr(forwardHdrURI, reason)
	}
	r.URI = uri
	if r.Scheme, err = readProto(h); err != nil {
		return r, err
	}
	if r.Method, err = readMethod(h, forwardHdrMethod); err != nil {
		return r, err
	}
	r.Proxy = ProxyForwardAuth
	r.Navigation = isNavigation(r.Method, h)
	return r, nil
}

// splitURL checks an absolute original URL and splits it. The URI is cut from the
// raw string rather than rebuilt by net/url, so it stays byte-for-byte what the client sent;
// url.Parse is still run as a cross-check so the two parsers cannot disagree on the host.
func splitURL(raw string) (Request, error) {
	var r Request
	if len(raw) > forwardMaxURL {
		return r, headerErr(forwardHdrOriginalURL, "too long")
	}
	if !printableASCII(raw) {
		return r, headerErr(forwardHdrOriginalURL, "contains whitespace, control or non-ASCII characters")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	r.Scheme = strings.ToLower(scheme)
	if !ok || (r.Scheme != "https" && r.Scheme != "http") {
		return r, headerErr(forwardHdrOriginalURL, "not an absolute http or https URL")
	}
	authority, uri := rest, "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, uri = rest[:i], rest[i:]
	}
	if strings.HasPrefix(uri, "?") {
		uri = "/" + uri
	}
	if strings.Contains(authority, "@") {
		return r, headerErr(forwardHdrOriginalURL, "has user info")
	}
	var okHost bool
	if r.Host, r.Port, okHost = splitHostPort(authority); !okHost {
		return r, headerErr(forwardHdrOriginalURL, "host is not a valid host[:port]")
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || u.Host != authority {
		return r, headerErr(forwardHdrOriginalURL, "malformed URL")
	}
	if reason := checkURI(uri); reason != "" {
		return r, headerErr(forwardHdrOriginalURL, reason)
	}
	r.URI = uri
	return r, nil
}

// hostHeader checks X-Forwarded-Host. ingress-nginx and Traefik set a single value
// and Caddy sets the request's Host (or passes a trusted proxy's value through), so a
// comma-separated chain only appears when something in front is misconfigured or a client
// forged it; we refuse lists instead of guessing which entry to believe.
func hostHeader(raw string) (host, port string, err error) {
	if len(raw) > maxHost+8 {
		return "", "", headerErr(forwardHdrHost, "too long")
	}
	if strings.Contains(raw, ",") {
		return "", "", headerErr(forwardHdrHost, "lists several hosts")
	}
	host, port, ok := splitHostPort(raw)
	if !ok {
		return "", "", headerErr(forwardHdrHost, "not a valid host[:port]")
	}
	return host, port, nil
}

// sameHost refuses an X-Forwarded-Host that names another host than X-Original-URL.
func sameHost(host string, h http.Header) error {
	raw, present, err := single(h, forwardHdrHost)
	if err != nil || !present {
		return err
	}
	other, _, err := hostHeader(raw)
	if err != nil {
		return err
	}
	if other != host {
		return headerErr(forwardHdrHost, "names a different host than X-Original-URL")
	}
	return nil
}

// readProto reads X-Forwarded-Proto; see parseForwarded for the https default.
func readProto(h http.Header) (string, error) {
	raw, present, err := single(h, forwardHdrProto)
	if err != nil {
		return "", err
	}
	if !present {
		return "https", nil
	}
	if strings.Contains(raw, ",") {
		return "", headerErr(forwardHdrProto, "lists several values")
	}
	switch p := strings.ToLower(raw); p {
	case "https", "http":
		return p, nil
	default:
		return "", headerErr(forwardHdrProto, "not http or https")
	}
}

// readMethod reads a method header; absent means GET. Methods are case-sensitive
// (RFC 9110 §9.1), so the value is kept as sent.
func readMethod(h http.Header, name string) (string, error) {
	m, present, err := single(h, name)
	if err != nil {
		return "", err
	}
	if !present {
		return http.MethodGet, nil
	}
	if len(m) > maxMethod || !isToken(m) {
		return "", headerErr(name, "not a valid method")
	}
	return m, nil
}

// single returns the one value of a header. An empty value counts as absent (nginx
// clears a header by setting it to ""); several lines are refused because proxies set these
// headers once and a second line can only come from the client.
func single(h http.Header, name string) (value string, present bool, err error) {
	vals := h.Values(name)
	switch {
	case len(vals) == 0:
		return "", false, nil
	case len(vals) > 1:
		return "", false, headerErr(name, "repeated")
	case vals[0] == "":
		return "", false, nil
	}
	return vals[0], true, nil
}

func headerErr(header, reason string) error {
	return fmt.Errorf("%w: %s: %s", ErrHeaders, header, reason)
}

// checkURI returns why uri is not an origin-form request target, or "".
func checkURI(uri string) string {
	switch {
	case len(uri) > forwardMaxURL:
		return "too long"
	case !strings.HasPrefix(uri, "/"):
		return "does not start with /"
	case !printableASCII(uri):
		return "contains whitespace, control or non-ASCII characters"
	case strings.Contains(uri, "#"):
		return "has a fragment"
	}
	// Go servers (Traefik, Caddy) answer 400 to a bad escape such as "/%"; we agree with
	// them, so URL() always parses and rd never silently collapses to "/". This is the check
	// url.ParseRequestURI makes of an origin-form target, without building a URL.
	path, _, _ := strings.Cut(uri, "?")
	if !validEscapes(path) {
		return "malformed request URI"
	}
	return ""
}

// validEscapes reports whether every % in s starts a two-hex-digit escape.
func validEscapes(s string) bool {
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
