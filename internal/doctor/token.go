package doctor

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/idp"
)

// tokenKind is what a JWT is, judged from its claims the way Entra shapes them.
type tokenKind int

const (
	kindUser  tokenKind = iota // a delegated access token: a user, a client, scp
	kindApp                    // an app-only access token (client credentials): roles, no user
	kindID                     // an id_token: aud is the client, no scp
	kindGraph                  // a Microsoft Graph access token: a nonce in the header
)

func kindOf(t *Token) tokenKind {
	if _, ok := t.Header["nonce"]; ok {
		return kindGraph
	}
	switch {
	case t.has("nonce") || t.has("at_hash") || t.has("c_hash") || strings.EqualFold(t.str("typ"), "ID"):
		return kindID
	case t.has("scp") || t.has("scope"):
		return kindUser
	case t.has("roles") || t.str("idtyp") == "app" || t.has("appid") || t.has("azp"):
		return kindApp
	}
	return kindID // neither scopes nor roles nor a client: Entra's id_tokens look like this
}

// ExplainToken decodes raw without verifying it and explains what an AKS API server with
// Entra integration would say about it: kind, audience, issuer and version, expiry, groups,
// scopes, client and the username AKS would use. With ac set it explains instead what that
// structured-authentication configuration would do with the token. The report never
// contains the raw token or its signature.
func ExplainToken(raw string, ac *AuthenticationConfiguration, now time.Time) *Report {
	rep := &Report{}
	defer rep.redact(append([]string{strings.TrimSpace(raw)}, strings.Split(strings.TrimSpace(raw), ".")...)...)
	t, err := ParseToken(raw)
	if err != nil {
		rep.Add(Result{Status: Fail, Name: "token", Detail: err.Error(),
			Fix: "pass the bearer token the dashboard sends (the Authorization header value without \"Bearer \")"})
		return rep
	}
	rep.Add(kindResult(t, ac != nil), expiryResult(t, now))
	if ac != nil {
		rep.Add(ExplainStructured(t, ac)...)
		return rep
	}
	if kindOf(t) == kindGraph {
		return rep // nothing else in it is meant for anyone but Graph
	}
	rep.Add(audienceResult(t), issuerResult(t), groupsResult(t), scopeResult(t), usernameResult(t))
	return rep
}

func kindResult(t *Token, structured bool) Result {
	const name = "token kind"
	aud := strings.Join(t.strs("aud"), ", ")
	switch kindOf(t) {
	case kindGraph:
		return Result{Status: Fail, Name: name,
			Detail: "a Microsoft Graph access token (its header carries a nonce): only Graph can verify it, so an AKS API server answers 401",
			Fix:    "send the token for " + config.DefaultResourceScope + " (provider.resourceScope)"}
	case kindID:
		if structured {
			return Result{Status: OK, Name: name, Detail: fmt.Sprintf("an id_token (aud %s), what AKS structured authentication normally receives", aud)}
		}
		return Result{Status: Fail, Name: name,
			Detail: fmt.Sprintf("an id_token: its aud is the client id %s and it has no scp (and usually no groups), so an AKS API server with Entra integration answers 401", aud),
			Fix:    "send the access token instead: token.kind: access_token for this dashboard (the presets headlamp and kubernetes-dashboard do)"}
	case kindApp:
		return Result{Status: Warn, Name: name,
			Detail: "an app-only access token (client credentials): no signed-in user, AKS sees the service principal " + t.str("oid")}
	}
	scp := t.str("scp")
	if scp == "" {
		scp = t.str("scope")
	}
	return Result{Status: OK, Name: name, Detail: fmt.Sprintf("a user's access token (scp %q)", scp)}
}

func expiryResult(t *Token, now time.Time) Result {
	const name = "expiry"
	// Read as tokengate does: a quoted or null exp, iat or nbf is refused, not ignored.
	payload, err := json.Marshal(t.Claims)
	if err != nil {
		return Result{Status: Fail, Name: name, Detail: "the claims cannot be read back as JSON"}
	}
	tc, err := idp.ReadTimeClaims(payload)
	if err != nil {
		return Result{Status: Fail, Name: name, Detail: err.Error() + "; tokengate refuses the token",
			Fix: "the issuer must send exp, iat and nbf as JSON numbers of seconds (RFC 7519 NumericDate)"}
	}
	exp := tc.Expiry
	if exp.IsZero() {
		return Result{Status: Fail, Name: name, Detail: "the token has no exp claim; the API server refuses it"}
	}
	if nbf := tc.NotBefore; !nbf.IsZero() && now.Before(nbf) {
		return Result{Status: Fail, Name: name, Detail: fmt.Sprintf("not valid before %s, %s from now", nbf.Format(time.RFC3339), nbf.Sub(now).Round(time.Second)),
			Fix: "check the clocks of the machines involved (NTP)"}
	}
	if iat := tc.IssuedAt; iat.After(now.Add(idp.DefaultClockSkew)) {
		return Result{Status: Fail, Name: name, Detail: fmt.Sprintf("issued at %s, %s in the future; tokengate refuses an iat beyond provider.clockSkew", iat.Format(time.RFC3339), iat.Sub(now).Round(time.Second)),
			Fix: "check the clocks of the machines involved (NTP)"}
	}
	if !now.Before(exp) {
		return Result{Status: Fail, Name: name, Detail: fmt.Sprintf("expired at %s, %s ago", exp.Format(time.RFC3339), now.Sub(exp).Round(time.Second)),
			Fix: "tokengate refreshes tokens before they expire; a dashboard that keeps an old token in its own session must take the one on each request instead"}
	}
	return Result{Status: OK, Name: name, Detail: fmt.Sprintf("valid until %s (%s left)", exp.Format(time.RFC3339), exp.Sub(now).Round(time.Second))}
}

func audienceResult(t *Token) Result {
	const name = "audience"
	aud := t.strs("aud")
	switch {
	case slices.Contains(aud, config.AKSServerAppID):
		return Result{Status: OK, Name: name, Detail: "aud is the AKS server app " + config.AKSServerAppID}
	case slices.Contains(aud, "spn:"+config.AKSServerAppID):
		return Result{Status: Fail, Name: name,
			Detail: "aud is spn:" + config.AKSServerAppID + ": AKS expects the bare GUID and refuses the spn: form",
			Fix:    "ask for the scope " + config.DefaultResourceScope + ", without spn:"}
	}
	return Result{Status: Fail, Name: name,
		Detail: fmt.Sprintf("aud is %s, not the AKS server app %s, so the API server answers 401", orNone(strings.Join(aud, ", ")), config.AKSServerAppID),
		Fix:    "ask Entra for " + config.DefaultResourceScope + " (provider.resourceScope, or token.scopes of the dashboard)"}
}

func issuerResult(t *Token) Result {
	const name = "issuer"
	iss, ver := t.str("iss"), t.str("ver")
	tenant := t.str("tid")
	switch {
	case ver == "2.0" || strings.HasSuffix(iss, "/v2.0"):
		return Result{Status: Fail, Name: name,
			Detail: fmt.Sprintf("a v2 token (iss %s, ver %q): AKS's Entra integration accepts only v1 tokens (iss https://sts.windows.net/%s/). The AKS server app always gets v1 tokens, so this one was issued for another resource or is an id_token", iss, ver, orPlaceholder(tenant)),
			Fix:    "ask Entra for " + config.DefaultResourceScope}
	case ver == "1.0":
		detail := fmt.Sprintf("a v1 token (iss %s, ver \"1.0\", tenant %s), as AKS expects", iss, orNone(tenant))
		if !isEntraV1Issuer(iss) {
			detail += "; not sts.windows.net, so a development or sovereign-cloud issuer"
		}
		return Result{Status: OK, Name: name, Detail: detail}
	}
	return Result{Status: Fail, Name: name,
		Detail: fmt.Sprintf("iss %s is not Microsoft Entra: the AKS-managed Entra integration refuses it", orNone(iss)),
		Fix:    "for a non-Entra issuer, configure AKS structured authentication and check it with --structured-auth FILE"}
}

func groupsResult(t *Token) Result {
	const name = "groups"
	if names, ok := t.Claims["_claim_names"].(map[string]any); ok {
		if _, over := names["groups"]; over {
			return Result{Status: Warn, Name: name,
				Detail: "groups overage: more than 200 groups, so Entra sent _claim_names instead of the list. AKS resolves them itself, so Azure RBAC still works; tokengate's allowedGroups need graphGroupLookup: true on the dashboard"}
		}
	}
	if g := t.strs("groups"); len(g) > 0 || t.has("groups") {
		return Result{Status: OK, Name: name, Detail: fmt.Sprintf("%d group id(s) in the token", len(g))}
	}
	return Result{Status: Warn, Name: name,
		Detail: "no groups claim: RBAC bindings to groups will not match this user",
		Fix:    "check that the token is the AKS access token (the AKS server app always emits groups); for other apps set groupMembershipClaims in the app registration"}
}

func scopeResult(t *Token) Result {
	const name = "scope and client"
	client, how := t.str("appid"), ""
	if client == "" {
		client = t.str("azp")
	}
	switch acr := fmt.Sprint(t.Claims["appidacr"]); acr {
	case "0":
		how = ", a public client"
	case "1":
		how = ", authenticated with a client secret"
	case "2":
		how = ", authenticated with a certificate or federated credential"
	}
	detail := fmt.Sprintf("issued to client %s%s", orNone(client), how)
	if scp := t.str("scp"); scp != "" {
		detail = fmt.Sprintf("scp %q; ", scp) + detail
	} else if roles := t.strs("roles"); len(roles) > 0 {
		detail = fmt.Sprintf("roles %s; ", strings.Join(roles, ", ")) + detail
	}
	return Result{Status: OK, Name: name, Detail: detail}
}

func usernameResult(t *Token) Result {
	const name = "username"
	oid := t.str("oid")
	if upn := t.str("upn"); upn != "" {
		return Result{Status: OK, Name: name, Detail: fmt.Sprintf("AKS names the user %s (upn); Azure RBAC decides by the object id %s and the groups", upn, orNone(oid))}
	}
	if oid != "" {
		return Result{Status: OK, Name: name, Detail: fmt.Sprintf("no upn (a guest or a service principal), so AKS names the user by the object id %s; RBAC bindings must use that id", oid)}
	}
	return Result{Status: Fail, Name: name, Detail: "neither upn nor oid: AKS cannot name the user"}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func orPlaceholder(s string) string {
	if s == "" {
		return "<tenant>"
	}
	return s
}
