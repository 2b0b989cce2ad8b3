package config

import (
	"net/url"
	"strings"
)

// zeroGUID is the all-zero GUID that documentation uses where a tenant or client id goes.
const zeroGUID = "00000000-0000-0000-0000-000000000000"

// placeholderDomains are the RFC 2606 example domains: no identity provider lives there.
var placeholderDomains = []string{"example.com", "example.org", "example.net"}

// placeholder says why s looks like a value copied from documentation and never filled in,
// or "" when it does not. serve would otherwise start and retry discovery forever against
// an issuer that cannot exist.
func placeholder(s string) string {
	switch {
	case strings.Contains(s, "<") && strings.Contains(s, ">"):
		return "contains a <…> placeholder; put the real value in its place"
	case strings.Contains(strings.ToLower(s), zeroGUID):
		return "contains the all-zero GUID " + zeroGUID + ", a documentation placeholder; use your tenant's or app registration's id"
	}
	return ""
}

// placeholderIssuer is placeholder plus an issuer on an RFC 2606 example domain.
func placeholderIssuer(issuer string) string {
	if why := placeholder(issuer); why != "" {
		return why
	}
	u, err := url.Parse(issuer)
	if err != nil {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range placeholderDomains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return "is on " + d + ", a documentation domain; for Entra ID use https://login.microsoftonline.com/<your tenant id>/v2.0"
		}
	}
	return ""
}

// validatePlaceholders refuses documentation placeholders in the keys that name the identity
// provider and the application, where they cannot work.
func (c *Config) validatePlaceholders(ps *problems) {
	p := &c.Provider
	if why := placeholderIssuer(p.IssuerURL); why != "" {
		ps.add("provider.issuerURL", "%s", why)
	}
	for _, kv := range []struct{ key, value string }{
		{"provider.clientID", p.ClientID},
		{"provider.resourceScope", p.ResourceScope},
		{"publicURL", c.PublicURL},
	} {
		if why := placeholder(kv.value); why != "" {
			ps.add(kv.key, "%s", why)
		}
	}
}
