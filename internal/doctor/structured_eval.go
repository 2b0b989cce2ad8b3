package doctor

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// aksJWTPrefix must begin every username and group an AKS JWT authenticator maps, so that
// they can never collide with Entra users or the cluster's system: identities.
const aksJWTPrefix = "aks:jwt:"

// errNoCompile is an expression the API server would not compile: it then refuses the whole
// configuration, at start or on reload, rather than any one token.
var errNoCompile = errors.New("does not compile")

// errNotBool is a validation rule whose expression gives something other than a bool.
var errNotBool = errors.New("not a bool")

// errCELOmitted is every expression in a binary built with -tags tokengate_omit_cel.
var errCELOmitted = errors.New("not evaluated: this tokengate was built with -tags tokengate_omit_cel, without CEL")

// fixCELOmitted is the fix for errCELOmitted.
const fixCELOmitted = "run tokengate doctor from a default build (make build, or go build ./cmd/tokengate), which evaluates CEL; the container image omits it"

// exprEvaluator evaluates the CEL expressions of one JWT authenticator with a single variable
// (claims or user) bound to value, as the API server would. Errors wrap errNoCompile for an
// expression the API server would refuse to load and errCELOmitted when this build cannot
// evaluate at all; any other error is one the API server would meet at evaluation.
type exprEvaluator interface {
	// Bool evaluates a validation rule; a result that is not a bool wraps errNotBool.
	Bool(expr string, value any) (bool, error)
	// Strings evaluates a mapping: a string, a list of strings, or null for none.
	Strings(expr string, value any) ([]string, error)
}

// mappedUser is what the API server would build from a token.
type mappedUser struct {
	Username string
	UID      string
	Groups   []string
	Extra    map[string][]string
}

// ExplainStructured says which JWT authenticator of ac would take the token, whether its
// claim validation rules pass, the username and groups it maps (with AKS's aks:jwt: prefix
// rule) and whether the user validation rules pass.
func ExplainStructured(t *Token, ac *AuthenticationConfiguration) []Result {
	i, res := selectAuthenticator(t, ac)
	if i < 0 {
		return []Result{res}
	}
	a := ac.JWT[i]
	key := fmt.Sprintf("jwt[%d]", i)
	claimsEnv, err := newExprEvaluator("claims")
	if err != nil {
		return []Result{res, {Status: Fail, Name: "claim mappings", Detail: err.Error()}}
	}
	out := []Result{res}
	out = append(out, claimRules(claimsEnv, t, a, key)...)
	u, mapErr := mapUser(claimsEnv, t, a.ClaimMappings)
	if mapErr != nil {
		fix := "the API server refuses the token (401) when a mapping fails"
		switch {
		case errors.Is(mapErr, errNoCompile):
			fix = "the API server refuses to load this configuration (at start, or keeps the previous one on reload)"
		case errors.Is(mapErr, errCELOmitted):
			fix = fixCELOmitted
		}
		return append(out, Result{Status: Fail, Name: "claim mappings", Detail: fmt.Sprintf("%s.claimMappings.%v", key, mapErr), Fix: fix})
	}
	out = append(out, usernameMapping(u, a, key), groupsMapping(u, a, key))
	if u.UID != "" {
		out = append(out, Result{Status: OK, Name: "uid", Detail: u.UID})
	}
	for _, k := range sortedKeys(u.Extra) {
		out = append(out, Result{Status: OK, Name: "extra", Detail: fmt.Sprintf("%s = %s", k, strings.Join(u.Extra[k], ", "))})
	}
	return append(out, userRules(a, key, u)...)
}

// selectAuthenticator finds the authenticator for the token's issuer and audience, as the
// API server does: the issuer URL exactly, then any audience in common.
func selectAuthenticator(t *Token, ac *AuthenticationConfiguration) (int, Result) {
	const name = "authenticator"
	iss, aud := t.str("iss"), t.strs("aud")
	var issuers []string
	for i, a := range ac.JWT {
		issuers = append(issuers, a.Issuer.URL)
		if a.Issuer.URL != iss {
			continue
		}
		for _, want := range a.Issuer.Audiences {
			if slices.Contains(aud, want) {
				return i, Result{Status: OK, Name: name, Detail: fmt.Sprintf("jwt[%d] takes it (issuer %s, audience %s)", i, iss, want)}
			}
		}
		return -1, Result{Status: Fail, Name: name,
			Detail: fmt.Sprintf("jwt[%d] has issuer %s but accepts audiences %s, and the token's aud is %s", i, iss, strings.Join(a.Issuer.Audiences, ", "), orNone(strings.Join(aud, ", "))),
			Fix:    fmt.Sprintf("add the client id to jwt[%d].issuer.audiences, or send the token issued to one of them (usually the id_token, whose aud is the client id)", i)}
	}
	res := Result{Status: Fail, Name: name,
		Detail: fmt.Sprintf("no authenticator has issuer %s (configured: %s), so the API server does not even try this token", orNone(iss), strings.Join(issuers, ", ")),
		Fix:    "issuer.url must equal the token's iss exactly"}
	for _, u := range issuers {
		if strings.TrimSuffix(u, "/") == strings.TrimSuffix(iss, "/") {
			res.Detail += "; " + u + " differs only by the trailing slash, which counts"
		}
	}
	return -1, res
}

func claimRules(env exprEvaluator, t *Token, a JWTAuthenticator, key string) []Result {
	const name = "claim validation"
	var out []Result
	for i, r := range a.ClaimValidationRules {
		rk := fmt.Sprintf("%s.claimValidationRules[%d]", key, i)
		if r.Claim != "" {
			if got, ok := t.Claims[r.Claim].(string); !ok || got != r.RequiredValue {
				out = append(out, Result{Status: Fail, Name: name,
					Detail: fmt.Sprintf("%s: claim %s must be %q, the token has %s", rk, r.Claim, r.RequiredValue, describeClaim(t.Claims[r.Claim])),
					Fix:    "the API server refuses this token (401)"})
			}
			continue
		}
		ok, err := env.Bool(r.Expression, t.Claims)
		switch {
		case errors.Is(err, errNotBool):
			out = append(out, Result{Status: Fail, Name: name, Detail: fmt.Sprintf("%s: %q %v", rk, r.Expression, err)})
		case errors.Is(err, errCELOmitted):
			out = append(out, Result{Status: Fail, Name: name, Detail: fmt.Sprintf("%s: %q %v", rk, r.Expression, err), Fix: fixCELOmitted})
		case err != nil:
			out = append(out, Result{Status: Fail, Name: name, Detail: fmt.Sprintf("%s: %q %v", rk, r.Expression, err), Fix: "the API server refuses this token (401)"})
		case !ok:
			out = append(out, Result{Status: Fail, Name: name, Detail: fmt.Sprintf("%s fails: %s", rk, ruleText(r.Message, r.Expression)), Fix: "the API server refuses this token (401)"})
		}
	}
	switch {
	case len(a.ClaimValidationRules) == 0:
		out = append(out, Result{Status: OK, Name: name, Detail: "no rules"})
	case len(out) == 0:
		out = append(out, Result{Status: OK, Name: name, Detail: fmt.Sprintf("all %d rule(s) pass", len(a.ClaimValidationRules))})
	}
	return out
}

// mapUser applies the claim mappings as the API server does.
func mapUser(env exprEvaluator, t *Token, m ClaimMappings) (mappedUser, error) {
	var u mappedUser
	names, err := mapPrefixed(env, t, m.Username, false)
	if err != nil {
		return u, fmt.Errorf("username: %w", err)
	}
	if len(names) != 1 || names[0] == "" {
		return u, errors.New("username: maps to an empty username")
	}
	u.Username = names[0]
	if u.Groups, err = mapPrefixed(env, t, m.Groups, true); err != nil {
		return u, fmt.Errorf("groups: %w", err)
	}
	if uid, err := mapPrefixed(env, t, PrefixedClaimOrExpression{Claim: m.UID.Claim, Expression: m.UID.Expression}, false); err != nil {
		return u, fmt.Errorf("uid: %w", err)
	} else if len(uid) > 0 {
		u.UID = uid[0]
	}
	for i, e := range m.Extra {
		vals, err := env.Strings(e.ValueExpression, t.Claims)
		if err != nil {
			return u, fmt.Errorf("extra[%d]: %w", i, err)
		}
		if u.Extra == nil {
			u.Extra = map[string][]string{}
		}
		u.Extra[e.Key] = vals
	}
	return u, nil
}

// mapPrefixed maps a claim (plus prefix) or an expression. list allows many values
// (groups); a missing claim maps to none.
func mapPrefixed(env exprEvaluator, t *Token, m PrefixedClaimOrExpression, list bool) ([]string, error) {
	var vals []string
	switch {
	case m.Expression != "":
		var err error
		if vals, err = env.Strings(m.Expression, t.Claims); err != nil {
			return nil, fmt.Errorf("%q %w", m.Expression, err)
		}
	case m.Claim != "":
		if m.Claim == "email" {
			if v, ok := t.Claims["email_verified"]; ok && v != true {
				return nil, errors.New("claim email is used but email_verified is not true")
			}
		}
		if !t.has(m.Claim) && !list {
			return nil, fmt.Errorf("the token has no %s claim", m.Claim)
		}
		vals = t.strs(m.Claim)
		if t.has(m.Claim) && vals == nil {
			return nil, fmt.Errorf("claim %s is %s; want a string", m.Claim, describeClaim(t.Claims[m.Claim]))
		}
		if m.Prefix != nil {
			for i := range vals {
				vals[i] = *m.Prefix + vals[i]
			}
		}
	default:
		return nil, nil
	}
	if !list && len(vals) > 1 {
		return nil, fmt.Errorf("maps to %d values; want one string", len(vals))
	}
	return vals, nil
}
