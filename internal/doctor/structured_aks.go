package doctor

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// maxListed bounds how many groups a line names.
const maxListed = 10

func usernameMapping(u mappedUser, a JWTAuthenticator, key string) Result {
	const name = "username"
	if strings.HasPrefix(u.Username, aksJWTPrefix) {
		return Result{Status: OK, Name: name, Detail: "the cluster names the user " + u.Username}
	}
	m := a.ClaimMappings.Username
	fix := fmt.Sprintf("%s.claimMappings.username.prefix: %q", key, aksJWTPrefix)
	if m.Expression != "" {
		fix = fmt.Sprintf("%s.claimMappings.username.expression: \"'%s' + (%s)\"", key, aksJWTPrefix, m.Expression)
	}
	return Result{Status: Fail, Name: name,
		Detail: fmt.Sprintf("maps to %q, which does not start with %q; AKS requires every mapped username and group to, and refuses the configuration otherwise", u.Username, aksJWTPrefix),
		Fix:    fix}
}

func groupsMapping(u mappedUser, a JWTAuthenticator, key string) Result {
	const name = "groups"
	if len(u.Groups) == 0 {
		return Result{Status: OK, Name: name, Detail: "none mapped"}
	}
	var bad []string
	for _, g := range u.Groups {
		if !strings.HasPrefix(g, aksJWTPrefix) {
			bad = append(bad, g)
		}
	}
	if len(bad) == 0 {
		return Result{Status: OK, Name: name, Detail: fmt.Sprintf("%d mapped: %s", len(u.Groups), listSome(u.Groups))}
	}
	m := a.ClaimMappings.Groups
	fix := fmt.Sprintf("%s.claimMappings.groups.prefix: %q", key, aksJWTPrefix)
	if m.Expression != "" {
		fix = fmt.Sprintf("%s.claimMappings.groups.expression mapping each group g to '%s' + g, e.g. dyn(claims.groups).map(g, '%s' + g)", key, aksJWTPrefix, aksJWTPrefix)
	}
	return Result{Status: Fail, Name: name,
		Detail: fmt.Sprintf("%d of %d mapped groups do not start with %q (%s); AKS requires every mapped username and group to", len(bad), len(u.Groups), aksJWTPrefix, listSome(bad)),
		Fix:    fix}
}

func userRules(a JWTAuthenticator, key string, u mappedUser) []Result {
	if len(a.UserValidationRules) == 0 {
		return nil
	}
	const name = "user validation"
	env, err := newExprEvaluator("user")
	if err != nil {
		return []Result{{Status: Fail, Name: name, Detail: err.Error()}}
	}
	groups := make([]any, len(u.Groups))
	for i, g := range u.Groups {
		groups[i] = g
	}
	extra := map[string]any{}
	for k, vs := range u.Extra {
		l := make([]any, len(vs))
		for i, v := range vs {
			l[i] = v
		}
		extra[k] = l
	}
	user := map[string]any{"username": u.Username, "uid": u.UID, "groups": groups, "extra": extra}
	var out []Result
	for i, r := range a.UserValidationRules {
		rk := fmt.Sprintf("%s.userValidationRules[%d]", key, i)
		ok, err := env.Bool(r.Expression, user)
		switch {
		case errors.Is(err, errCELOmitted):
			out = append(out, Result{Status: Fail, Name: name, Detail: fmt.Sprintf("%s: %q %v", rk, r.Expression, err), Fix: fixCELOmitted})
		case err != nil && !errors.Is(err, errNotBool):
			out = append(out, Result{Status: Fail, Name: name, Detail: fmt.Sprintf("%s: %q %v", rk, r.Expression, err)})
		case !ok:
			out = append(out, Result{Status: Fail, Name: name, Detail: fmt.Sprintf("%s fails: %s", rk, ruleText(r.Message, r.Expression)),
				Fix: "the API server refuses this user (401)"})
		}
	}
	if len(out) == 0 {
		out = append(out, Result{Status: OK, Name: name, Detail: fmt.Sprintf("all %d rule(s) pass", len(a.UserValidationRules))})
	}
	return out
}

// describeClaim shows a claim's value for a message: claims are the user's identity, not
// credentials, and the one that failed a rule is what the operator needs to see.
func describeClaim(v any) string {
	if v == nil {
		return "none"
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) > 200 {
		return fmt.Sprintf("a %T", v)
	}
	return string(b)
}

func ruleText(message, expression string) string {
	if message != "" {
		return fmt.Sprintf("%s (%s)", message, expression)
	}
	return expression + " is false"
}

func listSome(vals []string) string {
	if len(vals) <= maxListed {
		return strings.Join(vals, ", ")
	}
	return fmt.Sprintf("%s … and %d more", strings.Join(vals[:maxListed], ", "), len(vals)-maxListed)
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
