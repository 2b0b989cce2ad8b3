package config

import (
	"fmt"
	"slices"
	"strings"
)

// GraphResource is how Entra names Microsoft Graph; a scope without a resource prefix
// ("User.Read") means Graph.
const GraphResource = "https://graph.microsoft.com"

const graphResource = GraphResource

// graphAppID is Microsoft Graph's application id, another name for graphResource.
const graphAppID = "00000003-0000-0000-c000-000000000000"

// oidcScopes name no resource: Entra accepts them next to any one resource.
var oidcScopes = []string{"openid", "profile", "email", "offline_access"}

// RedirectURL is the OIDC redirect URI: PublicURL + "/oauth2/callback". It must be registered
// on the app registration (Entra answers AADSTS50011 otherwise).
func (c *Config) RedirectURL() string {
	return trimTrailingSlash(c.PublicURL) + "/oauth2/callback"
}

// ResourceScopes returns provider.resourceScope split into its space-separated scopes.
func (c *Config) ResourceScopes() []string {
	return strings.Fields(c.Provider.ResourceScope)
}

// SignInScopes are the scopes of the /authorize request: Provider.Scopes followed by the
// resource scopes, deduplicated with order kept. Asking for the resource at sign-in gets the
// user's consent and the first access token from the code exchange.
func (c *Config) SignInScopes() []string {
	var out []string
	for _, s := range slices.Concat(c.Provider.Scopes, c.ResourceScopes()) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// ResourceOf splits a scope into its resource (normalised for comparison) and scope name:
// "6dae…/user.read" → ("6dae…", "user.read"); "User.Read" → (graph, "User.Read").
func ResourceOf(scope string) (resource, name string) {
	i := strings.LastIndex(scope, "/")
	if i < 0 {
		return graphResource, scope
	}
	res := strings.ToLower(strings.TrimRight(scope[:i], "/"))
	if res == graphAppID {
		res = graphResource
	}
	return res, scope[i+1:]
}

// checkResourceScope enforces Entra's token-endpoint rules on provider.resourceScope: a /token
// request names one resource (two → AADSTS28000), and .default cannot be combined with named
// scopes of the same resource (AADSTS70011).
func checkResourceScope(scope string) error {
	scopes := strings.Fields(scope)
	if len(scopes) == 0 {
		return fmt.Errorf("required; want e.g. %s", DefaultResourceScope)
	}
	var resources []string
	byResource := make(map[string][]string)
	for _, s := range scopes {
		if slices.Contains(oidcScopes, s) {
			continue
		}
		res, _ := ResourceOf(s)
		if _, ok := byResource[res]; !ok {
			resources = append(resources, res)
		}
		byResource[res] = append(byResource[res], s)
	}
	switch len(resources) {
	case 0:
		return fmt.Errorf("names no resource, only OIDC scopes; want e.g. %s", DefaultResourceScope)
	case 1:
	default:
		return fmt.Errorf("names %d resources (%s); a token request may name only one (AADSTS28000)",
			len(resources), strings.Join(resources, ", "))
	}
	var dflt string
	var named []string
	for _, s := range byResource[resources[0]] {
		if _, name := ResourceOf(s); strings.EqualFold(name, ".default") {
			dflt = s
		} else {
			named = append(named, s)
		}
	}
	if dflt != "" && len(named) > 0 {
		return fmt.Errorf("mixes %s with named scopes of the same resource (%s); use one or the other",
			dflt, strings.Join(named, ", "))
	}
	return nil
}

// Resources lists the distinct resources a scope list names, in order; OIDC scopes name none.
func Resources(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		if slices.Contains(oidcScopes, s) {
			continue
		}
		if res, _ := ResourceOf(s); !slices.Contains(out, res) {
			out = append(out, res)
		}
	}
	return out
}

// IsOIDCScope reports whether s is an OIDC scope, which names no resource.
func IsOIDCScope(s string) bool { return slices.Contains(oidcScopes, s) }
