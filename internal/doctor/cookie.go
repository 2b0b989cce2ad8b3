package doctor

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/forward"
)

// keyVerdict judges a 32-byte cookie key by what a random one would never look like.
// Random 32 bytes have about 30 distinct values and almost never stay inside printable
// ASCII (probability (95/256)^32 ≈ 1e-14), so a key that does was typed, not generated.
func keyVerdict(k []byte) (Status, string) {
	distinct := map[byte]bool{}
	printable, arithmetic := true, len(k) > 2
	for i, b := range k {
		distinct[b] = true
		if b < 0x20 || b > 0x7e {
			printable = false
		}
		if i >= 2 && k[i]-k[i-1] != k[1]-k[0] {
			arithmetic = false
		}
	}
	switch {
	case len(distinct) == 1:
		return Fail, fmt.Sprintf("is %d identical bytes (0x%02x): anyone can forge sessions with it", len(k), k[0])
	case arithmetic:
		return Fail, "is a counting sequence, not random bytes: anyone can guess it"
	case len(distinct) < 12:
		return Fail, fmt.Sprintf("has only %d distinct byte values in %d: a pattern, not random bytes", len(distinct), len(k))
	case printable:
		return Warn, "decodes to printable text, so it is a passphrase rather than random bytes"
	case len(distinct) < 20:
		return Warn, fmt.Sprintf("has only %d distinct byte values in %d (random keys have about 30)", len(distinct), len(k))
	}
	return OK, ""
}

// decodeKey decodes a cookie key as config does: any base64 flavour, 32 bytes.
func decodeKey(s string) []byte {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == config.CookieKeyBytes {
			return k
		}
	}
	return nil
}

// checkCookie is check 6: key strength, the cookie domain against publicURL and every
// dashboard host, and allowedRedirectDomains against every dashboard host.
func checkCookie(cfg *config.Config) []Result {
	out := checkCookieKeys(cfg)
	out = append(out, checkCookieDomain(cfg)...)
	return append(out, checkRedirectDomains(cfg)...)
}

func checkCookieKeys(cfg *config.Config) []Result {
	const name = "cookie keys"
	var out []Result
	checked := 0
	for i, s := range cfg.Cookie.Secrets {
		k := decodeKey(s.Reveal())
		if k == nil {
			continue // config valid already names it
		}
		checked++
		if st, why := keyVerdict(k); st != OK {
			out = append(out, Result{Status: st, Name: name, Detail: fmt.Sprintf("cookie.secrets[%d] %s", i, why),
				Fix: "generate a key with: openssl rand -base64 32 (put it first; keep the old one second until its sessions end)"})
		}
	}
	if len(out) == 0 && checked > 0 {
		out = append(out, Result{Status: OK, Name: name, Detail: fmt.Sprintf("%d key(s) of 32 random-looking bytes", checked)})
	}
	return out
}

// dashboardHost is one hosts entry of a dashboard, with where it was written.
type dashboardHost struct {
	key, host string
}

func dashboardHosts(cfg *config.Config) []dashboardHost {
	var out []dashboardHost
	for i, d := range cfg.Dashboards {
		for j, h := range d.Hosts {
			out = append(out, dashboardHost{key: fmt.Sprintf("dashboards[%d].hosts[%d]", i, j), host: strings.ToLower(h)})
		}
	}
	return out
}

// withinDomain reports whether host (or, for "*.suffix", every host it matches) is the
// cookie domain d or below it, i.e. whether the browser sends a cookie for d there.
func withinDomain(host, d string) bool {
	host = strings.TrimPrefix(host, "*.")
	return host == d || strings.HasSuffix(host, "."+d)
}

func checkCookieDomain(cfg *config.Config) []Result {
	const name = "cookie domain"
	public := publicHost(cfg)
	d := strings.ToLower(strings.TrimPrefix(cfg.Cookie.Domain, "."))
	hosts := dashboardHosts(cfg)
	if d == "" {
		var out []Result
		for _, h := range hosts {
			if h.host != public {
				out = append(out, Result{Status: Fail, Name: name,
					Detail: fmt.Sprintf("cookie.domain is empty, so the session cookie belongs to %s alone and is never sent to %s (%s): every visit there signs in again", public, h.host, h.key),
					Fix:    "set cookie.domain to the parent domain of publicURL and every dashboard, e.g. ." + parentDomain(public)})
			}
		}
		if len(out) == 0 && len(hosts) == 0 && !isLoopbackHost(public) {
			out = append(out, Result{Status: Warn, Name: name,
				Detail: fmt.Sprintf("cookie.domain is empty: the session cookie is sent to %s only, so dashboards on other hosts never see it", public),
				Fix:    "set cookie.domain: ." + parentDomain(public) + " unless every dashboard is served from " + public})
		}
		return out
	}
	var out []Result
	if public != "" && !withinDomain(public, d) {
		out = append(out, Result{Status: Fail, Name: name,
			Detail: fmt.Sprintf("cookie.domain %s does not contain the publicURL host %s: browsers refuse the cookie tokengate sets", cfg.Cookie.Domain, public),
			Fix:    "set cookie.domain to a parent domain of " + public})
	}
	for _, h := range hosts {
		if !withinDomain(h.host, d) {
			out = append(out, Result{Status: Fail, Name: name,
				Detail: fmt.Sprintf("cookie.domain %s does not cover %s (%s): the browser never sends the session cookie there, so every visit signs in again", cfg.Cookie.Domain, h.host, h.key),
				Fix:    "serve that dashboard under " + cfg.Cookie.Domain + ", or protect it with a second tokengate on its own domain"})
		}
	}
	if len(out) == 0 {
		out = append(out, Result{Status: OK, Name: name,
			Detail: fmt.Sprintf("%s covers publicURL and all %d dashboard host(s)", cfg.Cookie.Domain, len(hosts))})
	}
	return out
}

func checkRedirectDomains(cfg *config.Config) []Result {
	const name = "allowed redirects"
	hosts := dashboardHosts(cfg)
	if len(hosts) == 0 {
		if len(cfg.AllowedRedirectDomains) == 0 {
			return []Result{{Status: Warn, Name: name,
				Detail: "allowedRedirectDomains is empty: after sign-in the browser cannot return to a dashboard on another host and lands on / instead",
				Fix:    "list the dashboard hosts, or their parent domain as .example.com"}}
		}
		return []Result{{Status: OK, Name: name, Detail: "allowedRedirectDomains: " + strings.Join(cfg.AllowedRedirectDomains, ", ")}}
	}
	redirects := forward.NewRedirectPolicy(cfg.AllowedRedirectDomains)
	var out []Result
	for _, h := range hosts {
		if !redirects.CoversHost(h.host) {
			want := h.host
			if strings.HasPrefix(want, "*.") {
				want = strings.TrimPrefix(want, "*")
			}
			out = append(out, Result{Status: Fail, Name: name,
				Detail: fmt.Sprintf("%s (%s) is not covered by allowedRedirectDomains: sign-in cannot return there and lands on / instead", h.host, h.key),
				Fix:    fmt.Sprintf("add %s (or the parent domain as .%s) to allowedRedirectDomains", want, parentDomain(strings.TrimPrefix(h.host, "*.")))})
		}
	}
	if len(out) == 0 {
		out = append(out, Result{Status: OK, Name: name, Detail: fmt.Sprintf("allowedRedirectDomains covers all %d dashboard host(s)", len(hosts))})
	}
	return out
}

func publicHost(cfg *config.Config) string {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// parentDomain drops the first label: auth.example.com → example.com.
func parentDomain(host string) string {
	if _, rest, ok := strings.Cut(host, "."); ok && strings.Contains(rest, ".") {
		return rest
	}
	return host
}
