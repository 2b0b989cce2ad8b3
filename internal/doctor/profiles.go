package doctor

import (
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/internal/config"
)

// tokenMarker stands in for the token when rendering a profile's headers, to find the
// headers that carry it. It is not a token and never leaves this package.
const tokenMarker = "doctor-token-marker"

// checkProfiles is check 7: for each dashboard profile, which token it sends, in which
// headers, and which headers the proxy has to copy onto the upstream request.
func checkProfiles(cfg *config.Config, set *dashboards.Set) []Result {
	if set == nil {
		return nil // dashboards build already failed
	}
	var out []Result
	for i, p := range set.Profiles() {
		var d config.Dashboard
		if i < len(cfg.Dashboards) {
			d = cfg.Dashboards[i]
		}
		out = append(out, profileResult(p, d))
	}
	return out
}

func profileResult(p *dashboards.Profile, d config.Dashboard) Result {
	name := "dashboard " + p.Name
	hosts := "every host no other profile lists"
	if len(d.Hosts) > 0 {
		hosts = strings.Join(d.Hosts, ", ")
		if d.Default {
			hosts += " and every host no other profile lists"
		}
	}
	var all, carriers []string
	// A real address: dashboards send only a valid one, and the report lists every header.
	u := &dashboards.User{OID: "oid", Name: "name", PreferredUsername: "user", Email: "user@example.com", Groups: []string{"group"}}
	p.WriteHeaders(func(h, v string) {
		all = append(all, h)
		if strings.Contains(v, tokenMarker) {
			carriers = append(carriers, h)
		}
	}, u, tokenMarker)
	what, status, why := describeProfileToken(p, d)
	detail := fmt.Sprintf("for %s sends %s", hosts, what)
	switch {
	case p.Token != dashboards.NoToken && len(carriers) == 0:
		status, why = Warn, "no header carries ${token}, so the token is fetched for nothing"
	case len(carriers) > 0:
		detail += " in " + strings.Join(carriers, ", ")
	}
	res := Result{Status: status, Name: name, Detail: detail}
	if len(all) > 0 {
		res.Detail += fmt.Sprintf("; the proxy must copy %s (ingress-nginx auth-response-headers, Traefik authResponseHeaders, Caddy copy_headers)", strings.Join(all, ", "))
	} else {
		res.Detail += "; no headers, so the proxy copies nothing"
	}
	if why != "" {
		res.Detail += "; " + why
	}
	if status == Warn && p.Token == dashboards.IDToken {
		res.Fix = "for Headlamp or Kubernetes Dashboard on AKS use token.kind: access_token (presets headlamp, kubernetes-dashboard)"
	}
	return res
}

// describeProfileToken names the token a profile sends and whether an AKS API server would
// take it.
func describeProfileToken(p *dashboards.Profile, d config.Dashboard) (what string, status Status, why string) {
	switch p.Token {
	case dashboards.NoToken:
		return "no token", OK, ""
	case dashboards.IDToken:
		what = "the id_token (aud = provider.clientID)"
		if d.Preset == "structured-auth" {
			return what, OK, "right for AKS structured authentication, which validates the issuer's id_token"
		}
		return what, Warn, "an AKS API server with Entra integration answers 401 to an id_token"
	}
	scopes := strings.Fields(p.Scope)
	res := resources(scopes)
	if len(res) != 1 {
		return fmt.Sprintf("an access token for %q", p.Scope), Fail, "that scope is not one resource (see resource scope)"
	}
	switch res[0] {
	case config.AKSServerAppID:
		return fmt.Sprintf("the AKS access token (%s)", p.Scope), OK, ""
	case graphResource:
		return fmt.Sprintf("a Microsoft Graph token (%s)", p.Scope), Warn, "Graph tokens are opaque and an AKS API server answers 401 to them"
	}
	return fmt.Sprintf("an access token for %s (%s)", res[0], p.Scope), OK, "not for the Kubernetes API"
}
