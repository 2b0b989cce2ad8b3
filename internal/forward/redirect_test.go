package forward

import (
	"net/url"
	"strings"
	"testing"
)

var redirectTestDomains = []string{
	"allowed.com", ".example.com", "localhost", "127.0.0.1", "[::1]", "10.0.0.1",
	" Upper.Example.ORG ", ".168.0.1", "bad host", "*.wild.com", "host:8080", "", ".", "bücher.de",
	".ports.example.net:8443", "localhost:8080", "127.0.0.1:4180", "[::1]:4180", ".10.0.0:8443",
	"[::2]", "other.com:443", "bad.com:0", "bad.com:", "bad.com:08443",
}

func TestRedirectSafeHostile(t *testing.T) {
	p := NewRedirectPolicy(redirectTestDomains)
	tests := []struct {
		name   string
		target string
	}{
		{name: "empty", target: ""},
		{name: "scheme relative", target: "//evil.com"},
		{name: "scheme relative with path", target: "//evil.com/x"},
		{name: "triple slash", target: "///evil"},
		{name: "slash backslash", target: `/\evil.com`},
		{name: "double backslash", target: `\\evil.com`},
		{name: "backslash in path", target: `/a\b`},
		{name: "backslash in absolute path", target: `https://allowed.com/a\b`},
		{name: "backslash in query", target: `/dash?next=\\evil.com`},
		{name: "https no slashes", target: "https:evil.com"},
		{name: "https one slash", target: "https:/evil.com"},
		{name: "http allowed host not loopback", target: "http://allowed.com/"},
		{name: "http subdomain", target: "http://a.example.com/"},
		{name: "javascript", target: "javascript:alert(1)"},
		{name: "javascript mixed case", target: "JaVaScRiPt:alert(1)"},
		{name: "javascript with slashes", target: "javascript://allowed.com/%0aalert(1)"},
		{name: "data", target: "data:text/html;base64,PHNjcmlwdD4="},
		{name: "vbscript", target: "vbscript:msgbox(1)"},
		{name: "ftp allowed host", target: "ftp://allowed.com/"},
		{name: "leading space", target: " /dash"},
		{name: "trailing space", target: "/dash "},
		{name: "embedded space", target: "/da sh"},
		{name: "tab", target: "/\t/evil.com"},
		{name: "newline", target: "/dash\nLocation: https://evil.com"},
		{name: "carriage return", target: "/dash\r"},
		{name: "nul", target: "/dash\x00"},
		{name: "del", target: "/dash\x7f"},
		{name: "tab inside scheme", target: "ht\ttps://allowed.com/"},
		{name: "userinfo evil at allowed", target: "https://evil.com@allowed.com/"},
		{name: "userinfo allowed at evil", target: "https://allowed.com@evil.com/"},
		{name: "empty userinfo", target: "https://@allowed.com/"},
		{name: "ipv6 userinfo", target: "https://[::1]@evil"},
		{name: "allowed as subdomain of evil", target: "https://allowed.com.evil.com/"},
		{name: "look-alike suffix", target: "https://evilallowed.com/"},
		{name: "look-alike suffix domain", target: "https://evilexample.com/"},
		{name: "suffix does not admit apex", target: "https://example.com/"},
		{name: "backslash before at", target: `https://allowed.com\@evil.com`},
		{name: "encoded slashes", target: "/%2F%2Fevil.com"},
		{name: "encoded slash lowercase", target: "/%2f/evil.com"},
		{name: "encoded backslash", target: "/%5Cevil.com"},
		{name: "encoded slashes no leading slash", target: "%2F%2Fevil"},
		{name: "double encoded slashes", target: "/%252F%252Fevil.com"},
		{name: "double encoded backslash", target: "/%255Cevil.com"},
		{name: "quadruple encoded slash", target: "/%25252525%2F/evil"},
		{name: "encoded tab", target: "/%09/evil"},
		{name: "encoded newline", target: "/dash%0d%0aSet-Cookie:x=y"},
		{name: "encoded nul", target: "/dash%00"},
		{name: "dot then empty segment", target: "/.//evil"},
		{name: "dotdot then empty segment", target: "/a/..//evil"},
		{name: "encoded dot", target: "/%2e//evil"},
		{name: "encoded dotdot", target: "/%2e%2e//evil"},
		{name: "malformed escape", target: "/%zz"},
		{name: "relative without slash", target: "dash/x"},
		{name: "bare host", target: "allowed.com"},
		{name: "idn host", target: "https://bücher.de/"},
		{name: "idn look-alike", target: "https://аllowed.com/"},
		{name: "non-ascii path", target: "/dash/é"},
		{name: "port with letters", target: "https://allowed.com:evil/"},
		{name: "empty port", target: "https://allowed.com:/"},
		{name: "port zero", target: "https://allowed.com:0/"},
		{name: "port too big", target: "https://allowed.com:65536/"},
		{name: "encoded host", target: "https://allowed%2ecom/"},
		{name: "trailing dot host", target: "https://allowed.com./"},
		{name: "numeric ending host", target: "https://a.example.com.1/"},
		{name: "hex ending host", target: "https://a.example.0x7f/"},
		{name: "unlisted ip", target: "https://10.0.0.2/"},
		{name: "numeric suffix entry dropped", target: "https://192.168.0.1/"},
		{name: "bare ipv6", target: "http://::1/"},
		{name: "ipv6 zone", target: "http://[fe80::1%25eth0]/"},
		{name: "unknown host", target: "https://evil.com/"},
		{name: "dropped wildcard entry", target: "https://a.wild.com/"},
		{name: "entry with port: default port refused", target: "https://host/"},
		{name: "entry with port: explicit default port refused", target: "https://host:443/"},
		{name: "entry with port: other port", target: "https://host:8081/"},
		{name: "exact host other port", target: "https://allowed.com:8443/x"},
		{name: "exact host http port over https", target: "https://allowed.com:80/"},
		{name: "suffix other port", target: "https://headlamp.example.com:8443/"},
		{name: "suffix, port far away", target: "https://a.example.com:65535/"},
		{name: "suffix with port: default port refused", target: "https://a.ports.example.net/"},
		{name: "suffix with port: other port", target: "https://a.ports.example.net:9443/"},
		{name: "suffix with port: apex", target: "https://ports.example.net:8443/"},
		{name: "loopback entry without port: other port", target: "http://localhost:8081/"},
		{name: "loopback ip other port", target: "http://127.0.0.1:4181/"},
		{name: "loopback ipv6 other port", target: "http://[::1]:8080/"},
		{name: "https default port on http", target: "http://localhost:443/"},
		{name: "port with leading zero", target: "https://host:08080/"},
		{name: "port with sign", target: "https://host:+8080/"},
		{name: "two ports", target: "https://host:8080:8080/"},
		{name: "port of another entry", target: "https://allowed.com:4180/"},
		{name: "dropped ip suffix entry with port", target: "https://a.10.0.0:8443/"},
		{name: "dropped entry with port zero", target: "https://bad.com:0/"},
		{name: "dropped idn entry", target: "https://xn--bcher-kva.de/"},
		{name: "no host", target: "https:///evil.com"},
		{name: "too long", target: "/" + strings.Repeat("a", 2048)},
		{name: "too long absolute", target: "https://allowed.com/" + strings.Repeat("a", 2030)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Safe(tt.target); got != "/" {
				t.Errorf("Safe(%q) = %q; want %q", tt.target, got, "/")
			}
		})
	}
}

func TestRedirectSafeGood(t *testing.T) {
	p := NewRedirectPolicy(redirectTestDomains)
	tests := []struct {
		name   string
		target string
	}{
		{name: "root", target: "/"},
		{name: "path", target: "/dash/ns/default"},
		{name: "path and query", target: "/dash?x=1&y=%2F%2Fz"},
		{name: "path with fragment", target: "/dash#pods"},
		{name: "encoded slash inside path", target: "/api/%2Fx"},
		{name: "encoded percent", target: "/search/100%25"},
		{name: "dot segments staying local", target: "/a/./b/../c"},
		{name: "colon in path", target: "/a:b"},
		{name: "exact host", target: "https://allowed.com"},
		{name: "exact host with path", target: "https://allowed.com/x?y=1#z"},
		{name: "exact host with query only", target: "https://allowed.com?y=1"},
		{name: "exact host default port", target: "https://allowed.com:443/"},
		{name: "entry with port", target: "https://host:8080/x"},
		{name: "suffix entry with port", target: "https://a.ports.example.net:8443/"},
		{name: "entry naming the default port", target: "https://other.com/"},
		{name: "entry naming the default port, explicit", target: "https://other.com:443/"},
		{name: "bracketed ipv6 entry", target: "https://[::2]/"},
		{name: "uppercase scheme and host", target: "HTTPS://ALLOWED.COM/"},
		{name: "subdomain", target: "https://headlamp.example.com/c/main"},
		{name: "deep subdomain", target: "https://a.b.example.com/"},
		{name: "trimmed and lowercased entry", target: "https://upper.example.org/"},
		{name: "http localhost listed port", target: "http://localhost:8080/cb"},
		{name: "http localhost default port", target: "http://localhost/cb"},
		{name: "http loopback ipv4", target: "http://127.0.0.1:4180/"},
		{name: "http loopback ipv6", target: "http://[::1]:4180/"},
		{name: "https ip", target: "https://10.0.0.1/"},
		{name: "https localhost", target: "https://localhost/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Safe(tt.target); got != tt.target {
				t.Errorf("Safe(%q) = %q; want it unchanged", tt.target, got)
			}
		})
	}
}

func TestRedirectEmptyPolicyAllowsOnlyPaths(t *testing.T) {
	p := NewRedirectPolicy(nil)
	tests := []struct {
		name   string
		target string
		want   string
	}{
		{name: "path", target: "/dash", want: "/dash"},
		{name: "absolute", target: "https://allowed.com/", want: "/"},
		{name: "loopback", target: "http://localhost/", want: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Safe(tt.target); got != tt.want {
				t.Errorf("Safe(%q) = %q; want %q", tt.target, got, tt.want)
			}
		})
	}
}

func FuzzRedirectSafe(f *testing.F) {
	seeds := []string{
		"/", "/dash?x=1", "//evil.com", `/\evil`, "https://allowed.com/x", "https://a.example.com:8443/",
		"http://localhost:1/", "http://[::1]/", "https://evil.com@allowed.com", "/%2F%2Fevil", "/.//evil",
		"javascript:alert(1)", "https:evil.com", "HTTPS://ALLOWED.COM", "/%252F/x", "https://[::1]@evil",
		"https://ported.com:8443/", "https://ported.com/", "https://a.sfx.example.org:9443/x",
		"https://allowed.com:8443/", "http://localhost:443/", "https://allowed.com:443/",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	p := NewRedirectPolicy([]string{"allowed.com", ".example.com", "localhost", "[::1]", "127.0.0.1",
		"ported.com:8443", ".sfx.example.org:9443"})
	f.Fuzz(func(t *testing.T, target string) {
		got := p.Safe(target)
		if got == "/" {
			return
		}
		if got != target {
			t.Fatalf("Safe(%q) = %q; want the input or /", target, got)
		}
		redirectCheckInvariant(t, got)
	})
}

// redirectFuzzAllowed mirrors FuzzRedirectSafe's entries as host and port pairs (the
// default port written out), again so the invariant does not trust the code under test.
var redirectFuzzAllowed = map[string]bool{
	"allowed.com:443": true, "localhost:443": true, "localhost:80": true, "::1:443": true, "::1:80": true,
	"127.0.0.1:443": true, "127.0.0.1:80": true, "ported.com:8443": true,
}

// redirectFuzzAllowedHost reports whether host and the effective port of a URL of scheme
// are on FuzzRedirectSafe's allow-list.
func redirectFuzzAllowedHost(scheme, host, port string) bool {
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	switch {
	case strings.HasSuffix(host, ".sfx.example.org"):
		return port == "9443"
	case strings.HasSuffix(host, ".example.com"):
		return port == map[string]string{"https": "443", "http": "80"}[scheme]
	}
	return redirectFuzzAllowed[host+":"+port]
}

// redirectCheckInvariant re-parses an accepted target independently of Safe's own steps.
func redirectCheckInvariant(t *testing.T, got string) {
	t.Helper()
	if strings.HasPrefix(got, "/") {
		if strings.HasPrefix(got, "//") || strings.HasPrefix(got, `/\`) {
			t.Fatalf("Safe accepted scheme-relative %q", got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("Safe accepted %q, which parses with a host or scheme (err %v)", got, err)
		}
		return
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatalf("Safe accepted unparsable %q: %v", got, err)
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case u.User != nil:
		t.Fatalf("Safe accepted %q with user info", got)
	case u.Scheme == "http" && host != "localhost" && host != "127.0.0.1" && host != "::1":
		t.Fatalf("Safe accepted plain http to %q in %q", host, got)
	case u.Scheme != "https" && u.Scheme != "http":
		t.Fatalf("Safe accepted scheme %q in %q", u.Scheme, got)
	case !redirectFuzzAllowedHost(u.Scheme, host, u.Port()):
		t.Fatalf("Safe accepted host %q port %q not on the allow-list in %q", host, u.Port(), got)
	}
}

func TestRedirectPolicyCoversHost(t *testing.T) {
	p := NewRedirectPolicy([]string{"headlamp.example.com", ".dash.example.com:8443", "grafana.example.com:8443"})
	tests := []struct {
		name string
		host string
		want bool
	}{
		{name: "exact entry", host: "headlamp.example.com", want: true},
		{name: "exact entry, upper case", host: "Headlamp.Example.com", want: true},
		{name: "entry with a port still covers the host", host: "grafana.example.com", want: true},
		{name: "subdomain of a suffix", host: "a.dash.example.com", want: true},
		{name: "apex of a suffix", host: "dash.example.com", want: false},
		{name: "wildcard under a suffix", host: "*.dash.example.com", want: true},
		{name: "wildcard under an exact entry", host: "*.headlamp.example.com", want: false},
		{name: "unlisted", host: "evil.example.com", want: false},
		{name: "suffix trick", host: "evilheadlamp.example.com", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.CoversHost(tt.host); got != tt.want {
				t.Errorf("CoversHost(%q) = %v; want %v", tt.host, got, tt.want)
			}
		})
	}
}
