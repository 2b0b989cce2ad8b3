package forward

import (
	"net/netip"
	"net/url"
	"strings"

	"github.com/tokengate/tokengate/internal/identity"
)

// redirectMaxLen bounds rd= values; a longer target is refused rather than truncated.
const redirectMaxLen = 2048

// redirectDecodeRounds is how many times a path is percent-decoded while looking for a
// hidden "//" or backslash. Something still changing after that is deliberately layered.
const redirectDecodeRounds = 3

// RedirectPolicy decides where a browser may be sent after sign-in or sign-out. It is built
// once from the configured allow-list and is safe for concurrent use.
type RedirectPolicy struct {
	entries []redirectEntry
}

// redirectEntry is one allowed host, or a suffix of subdomains, on one port.
type redirectEntry struct {
	host   string // lowercase host or IP address; for a suffix, ".example.com"
	suffix bool   // any subdomain of host, not the apex
	port   string // "" for the scheme's default port only
}

// NewRedirectPolicy builds a policy from allowedRedirectDomains: an exact host
// ("a.example.com", "127.0.0.1", "[::1]") or a leading-dot suffix (".example.com") that
// allows subdomains only, each optionally with a port ("a.example.com:8443",
// ".example.com:8443"). An entry without a port allows only the scheme's default port: a
// service on another port of the same host is another service, often one the operator
// never meant to expose. Entries that are not a plain ASCII host and port (wildcards, IDN,
// empty) can never match and are dropped; configuration validation reports them.
func NewRedirectPolicy(allowedDomains []string) RedirectPolicy {
	var p RedirectPolicy
	for _, d := range allowedDomains {
		d = identity.ASCIILower(strings.TrimSpace(d))
		suffix := strings.HasPrefix(d, ".")
		host, port, ok := splitHostPort(strings.TrimPrefix(d, "."))
		if !ok {
			continue
		}
		if suffix {
			// A suffix must end in a name: ".0.0.1" would match addresses, never names.
			if _, err := netip.ParseAddr(host); err == nil {
				continue
			}
			host = "." + host
		}
		p.entries = append(p.entries, redirectEntry{host: host, suffix: suffix, port: port})
	}
	return p
}

// Safe returns target when it is safe, else "/". Safe means a relative path starting with
// exactly one "/" whose percent-decoded, dot-resolved forms also do not start with "//"
// nor contain a backslash or control character; or an absolute https URL (http only for
// localhost, 127.0.0.1 and [::1]) without user info whose host and port are allowed: the
// default port unless the entry names another.
// The target must be at most 2048 bytes of visible ASCII without backslashes: browsers
// treat "\" as "/" and strip tabs and newlines, so such input is never what it looks like.
func (p RedirectPolicy) Safe(target string) string {
	if len(target) == 0 || len(target) > redirectMaxLen ||
		!printableASCII(target) || strings.Contains(target, `\`) {
		return "/"
	}
	if strings.HasPrefix(target, "/") {
		if redirectPathOK(target) {
			return target
		}
		return "/"
	}
	if p.redirectAbsoluteOK(target) {
		return target
	}
	return "/"
}

// redirectPathOK checks a relative target. "//host" is scheme-relative, so the browser would
// leave our domains; servers and frameworks that decode or resolve dot segments before
// redirecting again can turn "/%2F%2Fevil", "/%252F/evil" or "/.//evil" into the same thing.
func redirectPathOK(target string) bool {
	if strings.HasPrefix(target, "//") {
		return false
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	path := target
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	for round := 0; ; round++ {
		if !redirectFormOK(path) {
			return false
		}
		// url.Parse already refused malformed escapes in the raw target, so an error here
		// means a decoded form holds a literal "%": nothing more to decode.
		decoded, err := url.PathUnescape(path)
		switch {
		case err != nil || decoded == path:
			return true
		case round == redirectDecodeRounds:
			return false
		}
		path = decoded
	}
}

// redirectFormOK checks one decoded form of a path.
func redirectFormOK(path string) bool {
	for i := 0; i < len(path); i++ {
		if c := path[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	return !strings.HasPrefix(redirectRemoveDots(path), "//")
}

// redirectRemoveDots resolves "." and ".." segments as RFC 3986 §5.2.4 does, but keeps
// empty segments, which path.Clean would collapse and so hide a leading "//".
func redirectRemoveDots(path string) string {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	out := make([]string, 0, len(segs))
	for _, s := range segs {
		switch s {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

// redirectAbsoluteOK checks an absolute target. The authority is cut from the raw string and
// compared with url.Parse's view, so "https:evil", "https:/evil", "a@b" or "%2e" tricks that
// parsers read differently are all refused.
func (p RedirectPolicy) redirectAbsoluteOK(target string) bool {
	scheme, rest, ok := strings.Cut(target, "://")
	scheme = identity.ASCIILower(scheme)
	if !ok || (scheme != "https" && scheme != "http") {
		return false
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if strings.ContainsAny(authority, "@%") {
		return false
	}
	host, port, ok := splitHostPort(authority)
	if !ok {
		return false
	}
	u, err := url.Parse(target)
	if err != nil || u.User != nil || u.Opaque != "" || u.Host != authority {
		return false
	}
	if scheme == "http" && !redirectLoopback(host) {
		return false
	}
	isDefault := port == "" || port == redirectDefaultPort[scheme]
	if port == "" {
		port = redirectDefaultPort[scheme]
	}
	return p.redirectAllows(host, port, isDefault)
}

// redirectDefaultPort is the port a URL without one means (RFC 9110 §4.2).
var redirectDefaultPort = map[string]string{"https": "443", "http": "80"}

// redirectLoopback reports hosts where plain http cannot be intercepted on the network.
func redirectLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// redirectAllows matches a lowercase host and its port (never empty: the default is filled
// in; isDefault says whether it is the scheme's) against the allow-list. An entry without
// a port stands for the default port of the target's scheme. NewRedirectPolicy keeps only
// suffixes ending in a non-numeric label, so a suffix never matches an IP address.
func (p RedirectPolicy) redirectAllows(host, port string, isDefault bool) bool {
	for _, e := range p.entries {
		if e.port == "" && !isDefault || e.port != "" && e.port != port {
			continue
		}
		if e.suffix && len(host) > len(e.host) && strings.HasSuffix(host, e.host) || !e.suffix && host == e.host {
			return true
		}
	}
	return false
}

// CoversHost reports whether some entry allows redirects to host, on whatever port that
// entry names: doctor asks it of configured dashboard hosts, which carry no port. A host
// "*.x" stands for every subdomain of x, so only a suffix entry covering x's subdomains
// covers it.
func (p RedirectPolicy) CoversHost(host string) bool {
	host = identity.ASCIILower(host)
	wildcard, isWildcard := strings.CutPrefix(host, "*")
	for _, e := range p.entries {
		switch {
		case isWildcard:
			if e.suffix && strings.HasSuffix(wildcard, e.host) {
				return true
			}
		case e.suffix && len(host) > len(e.host) && strings.HasSuffix(host, e.host), !e.suffix && host == e.host:
			return true
		}
	}
	return false
}
