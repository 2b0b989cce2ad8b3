package devidp

import (
	"net/http"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/internal/config"
)

// Resource ids devidp knows by name.
const (
	// AKSResource is the AKS server app: tokens for it are v1 with groups.
	AKSResource = config.AKSServerAppID
	// GraphResource is Microsoft Graph's application id; scopes without a resource prefix
	// ("User.Read") and https://graph.microsoft.com/… mean Graph.
	GraphResource = "00000003-0000-0000-c000-000000000000"
)

// oidcScopes are the scopes that name no resource.
var oidcScopes = []string{"openid", "profile", "email", "offline_access"}

// scopeSet is a parsed scope parameter: the OIDC scopes plus the resources in order of
// first appearance, each with the permissions named for it.
type scopeSet struct {
	oidc      map[string]bool
	resources []resourceScopes
}

type resourceScopes struct {
	id    string   // canonical resource id (GUID or api://… URI)
	names []string // permission names as requested, without ".default"
	dflt  bool     // "<resource>/.default" was requested
}

// parseScopes splits a space-separated scope parameter. It refuses ".default" mixed with
// named permissions of the same resource (AADSTS70011), as Entra does, but allows several
// resources: the token endpoint applies the one-resource rule separately.
func parseScopes(raw string) (scopeSet, *entraError) {
	s := scopeSet{oidc: map[string]bool{}}
	for _, tok := range strings.Fields(raw) {
		if slices.Contains(oidcScopes, strings.ToLower(tok)) {
			s.oidc[strings.ToLower(tok)] = true
			continue
		}
		res, name, ok := splitScope(tok)
		if !ok {
			return s, invalidScope("The provided value for the input parameter 'scope' is not valid. The scope '" + tok + "' is not well formed.")
		}
		r := s.resource(res)
		if name == ".default" {
			r.dflt = true
		} else if !slices.ContainsFunc(r.names, func(n string) bool { return strings.EqualFold(n, name) }) {
			r.names = append(r.names, name)
		}
		if r.dflt && len(r.names) > 0 {
			return s, invalidScope("The provided value for the input parameter 'scope' is not valid. The scope '" + raw + "' requests '.default' and named permissions of the same resource.")
		}
	}
	return s, nil
}

func invalidScope(text string) *entraError {
	return &entraError{status: http.StatusBadRequest, code: "invalid_scope", aadsts: 70011, text: text}
}

// resource returns the entry for id, adding it if new.
func (s *scopeSet) resource(id string) *resourceScopes {
	for i := range s.resources {
		if s.resources[i].id == id {
			return &s.resources[i]
		}
	}
	s.resources = append(s.resources, resourceScopes{id: id})
	return &s.resources[len(s.resources)-1]
}

// splitScope parses "<guid>/<perm>", "<uri>/<perm>" (api://…, https://…) or a bare "<perm>",
// which Entra reads as a Microsoft Graph permission.
func splitScope(tok string) (resource, name string, ok bool) {
	if scheme, rest, isURI := strings.Cut(tok, "://"); isURI {
		i := strings.LastIndex(rest, "/")
		if scheme == "" || i <= 0 || i == len(rest)-1 {
			return "", "", false
		}
		return canonicalResource(scheme + "://" + rest[:i]), rest[i+1:], true
	}
	if res, perm, found := strings.Cut(tok, "/"); found {
		if res == "" || perm == "" || strings.Contains(perm, "/") {
			return "", "", false
		}
		return canonicalResource(res), perm, true
	}
	return GraphResource, tok, true
}

// canonicalResource maps the several names of one resource to one id, so the scope rule and
// consent compare like with like.
func canonicalResource(r string) string {
	l := strings.ToLower(strings.TrimRight(r, "/"))
	switch l {
	case GraphResource, "https://graph.microsoft.com":
		return GraphResource
	}
	if isGUID(l) {
		return l
	}
	return strings.TrimRight(r, "/")
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// forToken applies the token endpoint's rule: at most one resource (AADSTS28000). With no
// scope parameter it falls back to the sign-in's OIDC scopes and first resource; with no
// resource at all the token is for Microsoft Graph, as with Entra.
func forToken(raw string, signIn scopeSet) (scopeSet, *entraError) {
	s := scopeSet{oidc: signIn.oidc, resources: signIn.resources}
	if strings.TrimSpace(raw) != "" {
		var err *entraError
		if s, err = parseScopes(raw); err != nil {
			return s, err
		}
		if len(s.resources) > 1 {
			return s, &entraError{status: http.StatusBadRequest, code: "invalid_scope", aadsts: 28000,
				text: "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope " + raw + " is not valid."}
		}
	}
	if len(s.resources) == 0 {
		s.resources = []resourceScopes{{id: GraphResource}}
	}
	s.resources = s.resources[:1]
	return s, nil
}

// consented reports whether the client may get tokens for the resource.
func (c *Client) consented(resource string) bool {
	if len(c.ConsentedResources) == 0 {
		return resource == AKSResource || resource == GraphResource
	}
	return slices.ContainsFunc(c.ConsentedResources, func(r string) bool { return canonicalResource(r) == resource })
}
