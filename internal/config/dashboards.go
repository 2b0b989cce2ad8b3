package config

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tokengate/tokengate/internal/identity"
)

// Values of DashboardToken.Kind.
const (
	TokenAccess = "access_token"
	TokenID     = "id_token"
	TokenNone   = "none"
)

// headersNeverSent are response headers a profile may not set: the proxy or HTTP itself owns
// them, and ingress-nginx would copy them onto the upstream request.
var headersNeverSent = map[string]bool{
	"Connection": true, "Content-Length": true, "Content-Type": true, "Host": true,
	"Set-Cookie": true, "Transfer-Encoding": true, "Location": true, "Cookie": true,
}

// validateDashboards checks the structure of the dashboards list. Presets and header
// templates are checked where they are defined, in package dashboards.
func (c *Config) validateDashboards(ps *problems) {
	names := map[string]int{}
	hosts := map[string]string{}
	defaults := 0
	for i, d := range c.Dashboards {
		key := fmt.Sprintf("dashboards[%d]", i)
		switch {
		case d.Name == "":
			ps.add(key+".name", "required: it names the dashboard in pages, logs and metrics")
		case !isLabel(d.Name) || strings.ToLower(d.Name) != d.Name:
			ps.add(key+".name", "%q: use lower-case letters, digits and dashes", d.Name)
		default:
			if first, dup := names[d.Name]; dup {
				ps.add(key+".name", "%q is also the name of dashboards[%d]", d.Name, first)
			}
			names[d.Name] = i
		}
		if d.Default {
			defaults++
		}
		if len(d.Hosts) == 0 && !d.Default {
			ps.add(key+".hosts", "required unless default: true; no request would reach this profile")
		}
		for j, h := range d.Hosts {
			hkey := fmt.Sprintf("%s.hosts[%d]", key, j)
			if err := checkDashboardHost(h); err != nil {
				ps.add(hkey, "%q %v", h, err)
				continue
			}
			if owner, dup := hosts[strings.ToLower(h)]; dup {
				ps.add(hkey, "%q is also listed by %s; a host belongs to one dashboard", h, owner)
			}
			hosts[strings.ToLower(h)] = key
		}
		validateDashboardToken(ps, key, d.Token)
		for name := range d.Headers {
			if !isCookieToken(name) || headersNeverSent[http.CanonicalHeaderKey(name)] {
				ps.add(key+".headers."+name, "is not a header /auth may send")
			}
		}
		validateAllowLists(ps, key, d)
		for j, b := range d.BearerPassThrough {
			validateBearerIssuer(ps, fmt.Sprintf("%s.bearerPassThrough[%d]", key, j), b)
		}
	}
	if defaults > 1 {
		ps.add("dashboards", "%d profiles say default: true; at most one may", defaults)
	}
}

// validateAllowLists reads every allow-list entry the way the policy will compare it
// (package identity), so an entry that could never match is a start-up error, not a
// dashboard that silently refuses everyone.
func validateAllowLists(ps *problems, key string, d Dashboard) {
	for j, dom := range d.AllowedEmailDomains {
		if _, err := identity.Domain(strings.TrimPrefix(dom, "@")); err != nil {
			ps.add(fmt.Sprintf("%s.allowedEmailDomains[%d]", key, j), "%q is %v", dom, err)
		}
	}
	for j, u := range d.AllowedUsers {
		if _, err := identity.UserKey(u); err != nil {
			ps.add(fmt.Sprintf("%s.allowedUsers[%d]", key, j), "%q is %v; want a login, an e-mail address or an object id", u, err)
		}
	}
	for j, g := range d.AllowedGroups {
		if _, err := identity.GroupKey(g); err != nil {
			ps.add(fmt.Sprintf("%s.allowedGroups[%d]", key, j), "%q is %v; want a group object id", g, err)
		}
	}
}

// checkDashboardHost accepts an exact host name or a "*.suffix" wildcard of two labels or more.
func checkDashboardHost(h string) error {
	host, wildcard := strings.CutPrefix(h, "*.")
	if strings.ContainsAny(host, "*:/") {
		return fmt.Errorf("is not a host name or *.suffix wildcard")
	}
	if err := checkHost(host); err != nil {
		return err
	}
	if wildcard && !strings.Contains(host, ".") {
		return fmt.Errorf("is too broad: a wildcard needs at least two labels (*.example.com)")
	}
	return nil
}

func validateDashboardToken(ps *problems, key string, t DashboardToken) {
	switch t.Kind {
	case "", TokenAccess:
	case TokenID, TokenNone:
		if t.Scopes != "" {
			ps.add(key+".token.scopes", "only an access_token has scopes")
		}
	default:
		ps.add(key+".token.kind", "%q is not one of access_token, id_token, none", t.Kind)
	}
	if t.Scopes != "" {
		if err := checkResourceScope(t.Scopes); err != nil {
			ps.addErr(key+".token.scopes", err)
		}
	}
}

func validateBearerIssuer(ps *problems, key string, b BearerIssuer) {
	if _, err := parseWebURL(b.IssuerURL, "https://sts.windows.net/<tenant>/"); err != nil {
		ps.addErr(key+".issuerURL", err)
	}
	if b.JWKSURL != "" {
		if _, err := parseWebURL(b.JWKSURL, "https://login.microsoftonline.com/<tenant>/discovery/keys"); err != nil {
			ps.addErr(key+".jwksURL", err)
		}
	}
	if len(b.Audiences) == 0 {
		ps.add(key+".audiences", "required: a token for any audience would be accepted")
	}
}
