package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// wantHost ends the messages about allowedRedirectDomains entries.
const wantHost = "want a host such as example.com or .example.com, optionally with a port (example.com:8443)"

// parseWebURL checks an absolute https URL without query or fragment (an OIDC issuer must not
// have them either, OpenID Connect Discovery §2). Plain http is accepted only for loopback,
// where local development runs without certificates.
func parseWebURL(raw, example string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("required; want e.g. %s", example)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL
		}
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	if u.User != nil {
		// Not quoted: user info may hold a password.
		return nil, errors.New("must not contain user info (user:password@)")
	}
	if !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute URL; want e.g. %s", raw, example)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, fmt.Errorf("%q: want https (http only for localhost, 127.0.0.1 or [::1])", raw)
	default:
		return nil, fmt.Errorf("scheme %q: want https", u.Scheme)
	}
	if u.RawQuery != "" || u.ForceQuery {
		return nil, fmt.Errorf("%q must not have a query", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("%q must not have a fragment", raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// checkDomain checks an allowedRedirectDomains entry: an exact host or a leading-dot suffix,
// optionally with a port. Without a port an entry allows only the default port of the
// redirect's scheme. The error completes a sentence that starts with the quoted entry.
func checkDomain(d string) error {
	switch {
	case d == "":
		return errors.New("is empty; " + wantHost)
	case strings.Contains(d, "://"):
		return errors.New("has a scheme; " + wantHost)
	case strings.Contains(d, "*"):
		return errors.New("has a wildcard; use a leading dot (.example.com) to allow subdomains")
	case strings.Contains(d, "/"):
		return errors.New("has a path; " + wantHost)
	}
	d, port, hasPort := strings.Cut(d, ":")
	if hasPort && !isPort(port) {
		return errors.New("has a port that is not a number from 1 to 65535 without leading zeros; " + wantHost)
	}
	host, suffix := strings.CutPrefix(d, ".")
	if err := checkHost(host); err != nil {
		return err
	}
	if suffix && !strings.Contains(host, ".") {
		// ".com" would allow redirects to every .com host.
		return errors.New("is too broad: a leading-dot domain needs at least two labels (.example.com)")
	}
	return nil
}

// isPort accepts 1-65535 in its canonical decimal form, as the redirect check reads ports.
func isPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == p
}

// checkHost checks a DNS host name (RFC 1123 labels). The error completes a sentence that
// starts with the quoted value.
func checkHost(h string) error {
	if h == "" || len(h) > 253 {
		return errors.New("is not a valid host name; " + wantHost)
	}
	for label := range strings.SplitSeq(h, ".") {
		if !isLabel(label) {
			return errors.New("is not a valid host name; " + wantHost)
		}
	}
	return nil
}

func isLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
