package forward

// Host, port and token syntax shared by the forward-header parser and the redirect
// validator: both judge strings a client may have forged, so both use the same strict rules.

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/tokengate/tokengate/internal/identity"
)

// splitHostPort splits host[:port] or [ipv6][:port], lowercases the host and checks
// both. A bare IPv6 address (several colons, no brackets) is refused as ambiguous.
func splitHostPort(s string) (host, port string, ok bool) {
	if rest, found := strings.CutPrefix(s, "["); found {
		var tail string
		host, tail, found = strings.Cut(rest, "]")
		if !found {
			return "", "", false
		}
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Is6() {
			return "", "", false
		}
		if tail != "" {
			if port, found = strings.CutPrefix(tail, ":"); !found {
				return "", "", false
			}
		}
	} else {
		var hasPort bool
		host, port, hasPort = strings.Cut(s, ":")
		if hasPort && port == "" {
			return "", "", false
		}
	}
	// ASCII folding only: strings.ToLower turns U+212A KELVIN SIGN into "k" and U+0130
	// into "i̇", so a forged non-ASCII host would pass as, or collide with, an ASCII one.
	host = identity.ASCIILower(host)
	if port != "" && !validPort(port) {
		return "", "", false
	}
	return host, port, validHost(host)
}

// validHost accepts an IPv4 or IPv6 address (no zone) or a DNS name.
func validHost(host string) bool {
	// Only strings that can be addresses go to netip: its error for a host name allocates,
	// and this runs on every /auth.
	if mayBeIP(host) {
		if ip, err := netip.ParseAddr(host); err == nil {
			return ip.Zone() == ""
		}
	}
	return validHostname(host)
}

// mayBeIP is true for strings made of what IPv4 and IPv6 addresses are made of.
func mayBeIP(host string) bool {
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '.' || c == ':' || c == '%') {
			return false
		}
	}
	return host != ""
}

// validHostname accepts lowercase ASCII labels of letters, digits, '-' and '_'
// (1-63 bytes, no leading or trailing '-'), at most 253 bytes, no trailing dot. A name whose
// last label looks like a number is refused: browsers parse it as an IPv4 address
// (WHATWG URL "ends in a number"), so "1.2.3" or "x.0x7f" would not mean what it says.
func validHostname(host string) bool {
	if host == "" || len(host) > maxHost {
		return false
	}
	var last string
	for l := range strings.SplitSeq(host, ".") {
		last = l
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return !numericLabel(last)
}

// numericLabel mirrors the WHATWG check: all decimal digits, or "0x" and hex digits.
func numericLabel(l string) bool {
	if rest, ok := strings.CutPrefix(l, "0x"); ok {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return strings.Trim(l, "0123456789") == ""
}

// validPort accepts 1-65535 without sign or leading zeros.
func validPort(port string) bool {
	if port == "" || len(port) > 5 {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == port
}

// printableASCII reports whether s has only visible ASCII (0x21-0x7E): no space,
// tab, CR, LF, NUL, DEL or bytes of non-ASCII text.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 9110 §5.6.2 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
