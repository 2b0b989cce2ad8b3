package devidp

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// maxGroupsInToken is the most group ids Entra puts in a JWT; beyond it the groups claim
// is replaced by a pointer to the directory (groups overage).
const maxGroupsInToken = 200

// accessTokenLifetime is the configured lifetime or, like Entra's default policy, a random
// one between 60 and 90 minutes, so clients cannot assume a fixed expiry.
func (p *Provider) accessTokenLifetime() time.Duration {
	if p.cfg.AccessTokenLifetime > 0 {
		return p.cfg.AccessTokenLifetime
	}
	return time.Hour + time.Duration(rand.IntN(30*60+1))*time.Second //nolint:gosec // not a secret
}

// permissions are the scp values granted for a resource. The AKS server app exposes only
// user.read; ".default" means every permission consented, which devidp models as the
// resource's usual one. Graph tokens also list the OIDC scopes, as Entra's do.
func permissions(res resourceScopes, oidc map[string]bool) ([]string, *entraError) {
	switch res.id {
	case AKSResource:
		for _, n := range res.names {
			if !strings.EqualFold(n, "user.read") {
				return nil, &entraError{status: http.StatusBadRequest, code: "invalid_scope", aadsts: 650053,
					text: fmt.Sprintf("The application asked for scope '%s' that doesn't exist on the resource '%s'.", n, AKSResource)}
			}
		}
		return []string{"user.read"}, nil
	case GraphResource:
		perms := res.names
		if len(perms) == 0 {
			perms = []string{"User.Read"}
		}
		for _, s := range []string{"openid", "profile", "email"} {
			if oidc[s] {
				perms = append(perms[:len(perms):len(perms)], s)
			}
		}
		return perms, nil
	default:
		if len(res.names) == 0 {
			return []string{"user_impersonation"}, nil
		}
		return res.names, nil
	}
}

// grantedScope is the response's scope field: Graph permissions bare, others prefixed with
// their resource, as Entra answers.
func grantedScope(resource string, perms []string) string {
	if resource == GraphResource {
		return strings.Join(perms, " ")
	}
	out := make([]string, len(perms))
	for i, perm := range perms {
		out[i] = resource + "/" + perm
	}
	return strings.Join(out, " ")
}

// accessToken signs the access token for one resource: v1 for AKS and Graph (their
// registrations ask for v1 tokens), v2 for any other API.
func (p *Provider) accessToken(g *grant, resource string, perms []string, now time.Time, lifetime time.Duration) (string, error) {
	u := g.user
	c := map[string]any{
		"aud": resource, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(lifetime).Unix(),
		"oid": u.OID, "tid": p.cfg.TenantID, "sub": pairwiseSub(u.OID, g.client.ID),
		"name": u.Name, "scp": strings.Join(perms, " "), "uti": uti(),
	}
	if resource != AKSResource && resource != GraphResource {
		c["iss"], c["ver"] = p.Issuer(), "2.0"
		c["azp"], c["azpacr"] = g.client.ID, g.clientACR
		c["preferred_username"] = preferredUsername(u)
		return p.key.sign(c)
	}
	c["iss"], c["ver"] = p.AccessTokenIssuer(), "1.0"
	c["appid"], c["appidacr"] = g.client.ID, g.clientACR
	c["acr"], c["amr"] = "1", []string{"pwd"}
	if u.UPN != "" {
		c["upn"], c["unique_name"] = u.UPN, u.UPN
	} else {
		// Guests have no upn; unique_name names their home identity provider.
		c["unique_name"], c["idp"] = "live.com#"+u.Email, "live.com"
	}
	if resource == GraphResource {
		return p.issueGraphToken(c)
	}
	p.addGroups(c, u)
	return p.key.sign(c)
}

// addGroups puts the user's groups in the token or, past maxGroupsInToken, the overage
// pointer Entra uses instead (ENTRA.md, "Groups overage").
func (p *Provider) addGroups(c map[string]any, u *User) {
	switch {
	case len(u.Groups) == 0:
	case len(u.Groups) <= maxGroupsInToken:
		c["groups"] = u.Groups
	default:
		c["_claim_names"] = map[string]string{"groups": "src1"}
		c["_claim_sources"] = map[string]any{"src1": map[string]string{
			"endpoint": fmt.Sprintf("https://graph.windows.net/%s/users/%s/getMemberObjects", p.cfg.TenantID, u.OID),
		}}
	}
}

// idToken signs a v2 ID token for the client. Like Entra's default app configuration it
// carries no groups; name needs the profile scope and email the email scope.
func (p *Provider) idToken(g *grant, now time.Time) (string, error) {
	u := g.user
	c := map[string]any{
		"iss": p.Issuer(), "aud": g.client.ID, "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(p.cfg.IDTokenLifetime).Unix(), "ver": "2.0", "uti": uti(),
		"oid": u.OID, "tid": p.cfg.TenantID, "sub": pairwiseSub(u.OID, g.client.ID), "sid": g.sid,
		"preferred_username": preferredUsername(u),
	}
	if g.nonce != "" {
		c["nonce"] = g.nonce
	}
	if g.scopes.oidc["profile"] {
		c["name"] = u.Name
	}
	if g.scopes.oidc["email"] && u.Email != "" {
		c["email"] = u.Email
	}
	return p.key.sign(c)
}

// preferredUsername is the UPN, or for a guest the e-mail address they signed in with.
func preferredUsername(u *User) string {
	if u.UPN != "" {
		return u.UPN
	}
	return u.Email
}
