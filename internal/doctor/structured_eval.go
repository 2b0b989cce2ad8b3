package doctor

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
)

// aksJWTPrefix must begin every username and group an AKS JWT authenticator maps, so that
// they can never collide with Entra users or the cluster's system: identities.
const aksJWTPrefix = "aks:jwt:"

// errNoCompile is an expression the API server would not compile: it then refuses the whole
// configuration, at start or on reload, rather than any one token.
var errNoCompile = errors.New("does not compile")

// newCELEnv declares one variable, as the API server does: claims for claim rules and
// mappings, user for user validation rules. The extension libraries are the ones Kubernetes
// enables for these expressions. The API server types claims as map(string, any), not dyn:
// kube-apiserver v1.37.2 refuses to load claims.groups.map(...) ("expression of type 'any'
// cannot be range of a comprehension") and wants dyn(claims.groups).map(...), so doctor must
// refuse it too.
func newCELEnv(variable string) (*cel.Env, error) {
	valueType := cel.DynType
	if variable == "claims" {
		valueType = cel.AnyType
	}
	env, err := cel.NewEnv(
		cel.Variable(variable, cel.MapType(cel.StringType, valueType)),
		ext.Strings(), ext.Sets(), ext.Lists(), ext.Encoders(), ext.Math(),
	)
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	return env, nil
}

// evalCEL compiles and runs one expression with the single variable bound to value.
func evalCEL(env *cel.Env, expr, variable string, value any) (ref.Val, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%w: %w", errNoCompile, iss.Err())
	}
	prg, err := env.Program(ast)
	if err != nil {
		return nil, fmt.Errorf("program: %w", err)
	}
	out, _, err := prg.Eval(map[string]any{variable: value})
	if err != nil {
		return nil, fmt.Errorf("evaluation failed: %w", err)
	}
	return out, nil
}

// celStrings reads a string or a list of strings; null gives none.
func celStrings(v ref.Val) ([]string, error) {
	switch v.Type() {
	case types.NullType:
		return nil, nil
	case types.StringType:
		return []string{v.Value().(string)}, nil
	}
	native, err := v.ConvertToNative(reflect.TypeOf([]string{}))
	if err != nil {
		return nil, fmt.Errorf("evaluated to %s; want a string or a list of strings", v.Type().TypeName())
	}
	return native.([]string), nil
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
	claimsEnv, err := newCELEnv("claims")
	if err != nil {
		return []Result{res, {Status: Fail, Name: "claim mappings", Detail: err.Error()}}
	}
	out := []Result{res}
	out = append(out, claimRules(claimsEnv, t, a, key)...)
	u, mapErr := mapUser(claimsEnv, t, a.ClaimMappings)
	if mapErr != nil {
		fix := "the API server refuses the token (401) when a mapping fails"
		if errors.Is(mapErr, errNoCompile) {
			fix = "the API server refuses to load this configuration (at start, or keeps the previous one on reload)"
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

func claimRules(env *cel.Env, t *Token, a JWTAuthenticator, key string) []Result {
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
		v, err := evalCEL(env, r.Expression, "claims", t.Claims)
		switch {
		case err != nil:
			out = append(out, Result{Status: Fail, Name: name, Detail: fmt.Sprintf("%s: %q %v", rk, r.Expression, err), Fix: "the API server refuses this token (401)"})
		case v.Type() != types.BoolType:
			out = append(out, Result{Status: Fail, Name: name, Detail: fmt.Sprintf("%s: %q gives %s, not a bool", rk, r.Expression, v.Type().TypeName())})
		case v.Value() != true:
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
func mapUser(env *cel.Env, t *Token, m ClaimMappings) (mappedUser, error) {
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
		v, err := evalCEL(env, e.ValueExpression, "claims", t.Claims)
		if err != nil {
			return u, fmt.Errorf("extra[%d]: %w", i, err)
		}
		vals, err := celStrings(v)
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
func mapPrefixed(env *cel.Env, t *Token, m PrefixedClaimOrExpression, list bool) ([]string, error) {
	var vals []string
	switch {
	case m.Expression != "":
		v, err := evalCEL(env, m.Expression, "claims", t.Claims)
		if err != nil {
			return nil, fmt.Errorf("%q %w", m.Expression, err)
		}
		if vals, err = celStrings(v); err != nil {
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
