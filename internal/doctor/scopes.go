package doctor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/internal/config"
)

// graphResource is Microsoft Graph's resource name, as config.ResourceOf reports it.
const graphResource = config.GraphResource

// resourceOf and resources are config's: doctor must judge scopes exactly as tokengate does.
var (
	resourceOf = config.ResourceOf
	resources  = config.Resources
)

// scopeProblem says what Entra's token endpoint would refuse in one request's scope list:
// two resources (AADSTS28000), no resource at all, or .default mixed with named scopes of
// the same resource (AADSTS70011). "" means none.
func scopeProblem(scopes []string) string {
	res := resources(scopes)
	switch len(res) {
	case 0:
		return "names no resource, only OIDC scopes, so the access token would be for nobody"
	case 1:
	default:
		return fmt.Sprintf("names %d resources (%s), but one token request may name only one: Entra answers AADSTS28000",
			len(res), strings.Join(res, ", "))
	}
	var dflt string
	var named []string
	for _, s := range scopes {
		if config.IsOIDCScope(s) {
			continue
		}
		if _, name := resourceOf(s); strings.EqualFold(name, ".default") {
			dflt = s
		} else {
			named = append(named, s)
		}
	}
	if dflt != "" && len(named) > 0 {
		return fmt.Sprintf("mixes %s with named scopes of the same resource (%s): Entra answers AADSTS70011",
			dflt, strings.Join(named, ", "))
	}
	return ""
}

// describeResource names a resource for people.
func describeResource(res string) string {
	switch res {
	case config.AKSServerAppID:
		return "the AKS server app"
	case graphResource:
		return "Microsoft Graph"
	}
	return res
}

// checkScopes is check 5: every token request tokengate makes names one resource, and the
// sign-in asks for offline_access.
func checkScopes(cfg *config.Config) []Result {
	var out []Result
	p := cfg.Provider
	if !slices.Contains(p.Scopes, "offline_access") {
		detail := "provider.scopes lacks offline_access, so Entra returns no refresh token and every access-token expiry (60–90 min) becomes a new sign-in"
		if len(resources(p.Scopes)) > 0 {
			detail += "; this scope list looks copied from Headlamp's Entra guide, which leaves offline_access out"
		} else {
			detail += " (Headlamp's Entra guide leaves it out too)"
		}
		out = append(out, Result{Status: Fail, Name: "offline_access", Detail: detail,
			Fix: "add offline_access to provider.scopes (the default is openid profile email offline_access)"})
	} else {
		out = append(out, Result{Status: OK, Name: "offline_access", Detail: "requested, so sessions refresh their tokens without a new sign-in"})
	}
	signIn := cfg.SignInScopes()
	// Only a resource in provider.scopes makes the sign-in differ from provider.resourceScope,
	// which is judged on its own below.
	if prob := scopeProblem(signIn); prob != "" && len(resources(p.Scopes)) > 0 {
		out = append(out, Result{Status: Fail, Name: "sign-in scopes",
			Detail: fmt.Sprintf("the code redemption would send %q, which %s", strings.Join(signIn, " "), prob),
			Fix:    "keep only OIDC scopes (openid profile email offline_access) in provider.scopes and name the one resource in provider.resourceScope"})
	}
	out = append(out, resourceScopeResult("provider.resourceScope", p.ResourceScope))
	for i, d := range cfg.Dashboards {
		if d.Token.Scopes != "" && d.Token.Scopes != p.ResourceScope {
			out = append(out, resourceScopeResult(fmt.Sprintf("dashboards[%d].token.scopes", i), d.Token.Scopes))
		}
	}
	return out
}

// resourceScopeResult judges one refresh request's resource scope.
func resourceScopeResult(key, scope string) Result {
	scopes := strings.Fields(scope)
	if prob := scopeProblem(scopes); prob != "" {
		return Result{Status: Fail, Name: "resource scope", Detail: fmt.Sprintf("%s %q %s", key, scope, prob),
			Fix: fmt.Sprintf("name one resource per request, e.g. %s; give a second API its own dashboard profile with token.scopes", config.DefaultResourceScope)}
	}
	res := resources(scopes)[0]
	detail := fmt.Sprintf("%s %q names one resource, %s", key, scope, describeResource(res))
	switch res {
	case config.AKSServerAppID:
		return Result{Status: OK, Name: "resource scope", Detail: detail}
	case graphResource:
		return Result{Status: Warn, Name: "resource scope",
			Detail: detail + ": Graph tokens are opaque to everyone but Graph, and an AKS API server answers 401 to them",
			Fix:    "for AKS ask for " + config.DefaultResourceScope}
	}
	return Result{Status: OK, Name: "resource scope",
		Detail: detail + " (not the AKS server app: right for an API of your own, not for the Kubernetes API; needs consent, else AADSTS65001)"}
}
