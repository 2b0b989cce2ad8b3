// Package dashboards holds the per-dashboard profiles: which hosts a profile answers for,
// which token and headers its dashboard receives, and who may enter. It is pure: no I/O,
// so the decision of every /auth request can be tested as a table.
package dashboards

import (
	"errors"
	"fmt"
	"net/textproto"
	"sort"
	"strings"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/identity"
)

// TokenKind values: what a dashboard receives.
const (
	AccessToken = config.TokenAccess
	IDToken     = config.TokenID
	NoToken     = config.TokenNone
)

// User is who a decision is about, taken from the session.
type User struct {
	OID               string
	Name              string
	PreferredUsername string
	Email             string
	Groups            []string
	// GroupsOverage: Groups is incomplete, Entra sent a pointer to Graph instead.
	GroupsOverage bool
}

// Login is the name dashboards show: preferred_username, else the e-mail address, else the
// object id.
func (u *User) Login() string {
	if u.PreferredUsername != "" {
		return u.PreferredUsername
	}
	if e := u.email(); e != "" {
		return e
	}
	return u.OID
}

// groupList is ${groups}: the group ids joined by commas. A group id that holds a comma
// (or is not a usable id) is left out: the dashboard splits the list on commas, and
// "dev,platform-admins" must not arrive as two groups.
func (u *User) groupList() string {
	for _, g := range u.Groups {
		if !listableGroup(g) {
			return joinListable(u.Groups)
		}
	}
	return strings.Join(u.Groups, ",")
}

func listableGroup(g string) bool {
	_, err := identity.GroupKey(g)
	return err == nil && strings.IndexByte(g, ',') < 0
}

func joinListable(groups []string) string {
	keep := make([]string, 0, len(groups))
	for _, g := range groups {
		if listableGroup(g) {
			keep = append(keep, g)
		}
	}
	return strings.Join(keep, ",")
}

// email is the user's address as dashboards receive it: the one form the allow-lists
// judged (domain normalised by identity.ParseEmail), or nothing when the claim is not a
// single plain address. A dashboard that reads "a@evil.com@example.com" might otherwise
// see another domain than tokengate did.
func (u *User) email() string {
	e, err := identity.ParseEmail(u.Email)
	if err != nil {
		return ""
	}
	if s := u.Email; len(s) == len(e.Local)+1+len(e.Domain) && s[len(e.Local)+1:] == e.Domain {
		return s // already normalised: no allocation on the hot path
	}
	return e.String()
}

func (u *User) value(f field, token string) string {
	switch f {
	case fieldToken:
		return token
	case fieldUser:
		return u.Login()
	case fieldEmail:
		return u.email()
	case fieldName:
		return u.Name
	case fieldPreferredUsername:
		return u.PreferredUsername
	case fieldGroups:
		return u.groupList()
	case fieldOID:
		return u.OID
	}
	return ""
}

// Profile is one protected dashboard.
type Profile struct {
	Name string
	// Token is AccessToken, IDToken or NoToken; Scope is the access token's resource scope.
	Token string
	Scope string
	// Headers are sent on every admitted /auth answer, in this order.
	Headers []Header
	// GraphGroupLookup allows resolving groups overage through Graph.
	GraphGroupLookup bool
	// BearerPassThrough lists the issuers whose own bearer tokens are accepted.
	BearerPassThrough []config.BearerIssuer
	policy            policy
}

// Set is every profile, indexed by host.
type Set struct {
	exact     map[string]*Profile
	wildcards []wildcard // longest suffix first
	fallback  *Profile
	all       []*Profile
}

type wildcard struct {
	suffix  string // ".example.com" for "*.example.com"
	profile *Profile
}

// New builds the profiles of cfg. With no dashboards configured it returns one default
// profile: the provider's resource token in Authorization and the X-Auth-Request-* headers
// chosen under cfg.Headers. Errors name the key, as configuration errors do.
func New(cfg *config.Config) (*Set, error) {
	s := &Set{exact: map[string]*Profile{}}
	if len(cfg.Dashboards) == 0 {
		p, err := build(implicitDefault(cfg), cfg.Provider.ResourceScope, "dashboards")
		if err != nil {
			return nil, err
		}
		s.fallback = p
		s.all = []*Profile{p}
		return s, nil
	}
	var errs []error
	for i, d := range cfg.Dashboards {
		p, err := build(d, cfg.Provider.ResourceScope, fmt.Sprintf("dashboards[%d]", i))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.all = append(s.all, p)
		if d.Default {
			s.fallback = p
		}
		for _, h := range d.Hosts {
			h = identity.ASCIILower(h) // as forward headers are: never Unicode case folding
			if suffix, ok := strings.CutPrefix(h, "*"); ok {
				s.wildcards = append(s.wildcards, wildcard{suffix: suffix, profile: p})
			} else {
				s.exact[h] = p
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.SliceStable(s.wildcards, func(i, j int) bool { return len(s.wildcards[i].suffix) > len(s.wildcards[j].suffix) })
	return s, nil
}

// Match returns the profile for an original request's host (lower-case, without port): an
// exact host first, then the longest wildcard, then the default profile.
func (s *Set) Match(host string) (*Profile, bool) {
	if p, ok := s.exact[host]; ok {
		return p, true
	}
	for _, w := range s.wildcards {
		if strings.HasSuffix(host, w.suffix) && len(host) > len(w.suffix) {
			return w.profile, true
		}
	}
	return s.fallback, s.fallback != nil
}

// Profiles lists every profile.
func (s *Set) Profiles() []*Profile { return s.all }

// AccessScopes lists the distinct access-token scopes of all profiles: the tokens a session
// may hold, to be forgotten at sign-out.
func (s *Set) AccessScopes() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range s.all {
		if p.Token == AccessToken && !seen[p.Scope] {
			seen[p.Scope] = true
			out = append(out, p.Scope)
		}
	}
	return out
}

// WriteHeaders calls set for every header of the profile with a non-empty value.
func (p *Profile) WriteHeaders(set func(name, value string), u *User, token string) {
	for _, h := range p.Headers {
		if v := h.render(u, token); v != "" {
			set(h.Name, v)
		}
	}
}

// implicitDefault is the profile of a configuration without dashboards.
func implicitDefault(cfg *config.Config) config.Dashboard {
	headers := map[string]string{
		"Authorization":                     "Bearer ${token}",
		"X-Auth-Request-User":               "${user}",
		"X-Auth-Request-Email":              "${email}",
		"X-Auth-Request-Preferred-Username": "${preferred_username}",
	}
	if cfg.Headers.PassGroups {
		headers["X-Auth-Request-Groups"] = "${groups}"
	}
	if cfg.Headers.PassAccessToken {
		headers["X-Auth-Request-Access-Token"] = "${token}"
	}
	return config.Dashboard{Name: "default", Default: true, Token: config.DashboardToken{Kind: AccessToken}, Headers: headers}
}

// build merges the preset under d and compiles it.
func build(d config.Dashboard, defaultScope, key string) (*Profile, error) {
	var errs []error
	kind, headers := d.Token.Kind, map[string]string{}
	if d.Preset != "" {
		pre, ok := presets[d.Preset]
		if !ok {
			return nil, fmt.Errorf("%s.preset: unknown preset %q; known: %s", key, d.Preset, strings.Join(PresetNames(), ", "))
		}
		if kind == "" {
			kind = pre.kind
		}
		for k, v := range pre.headers {
			headers[textproto.CanonicalMIMEHeaderKey(k)] = v
		}
	}
	for k, v := range d.Headers {
		k = textproto.CanonicalMIMEHeaderKey(k)
		if v == "" {
			delete(headers, k) // an empty value removes a preset header
			continue
		}
		headers[k] = v
	}
	if kind == "" {
		kind = AccessToken
	}
	p := &Profile{Name: d.Name, Token: kind, GraphGroupLookup: d.GraphGroupLookup, BearerPassThrough: d.BearerPassThrough}
	if kind == AccessToken {
		p.Scope = d.Token.Scopes
		if p.Scope == "" {
			p.Scope = defaultScope
		}
	}
	names := make([]string, 0, len(headers))
	for name := range headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		h, err := compileHeader(name, headers[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.headers.%s: %w", key, name, err))
			continue
		}
		if h.usesToken() && kind == NoToken {
			errs = append(errs, fmt.Errorf("%s.headers.%s: uses ${token} but token.kind is none", key, name))
		}
		p.Headers = append(p.Headers, h)
	}
	p.policy = newPolicy(d)
	return p, errors.Join(errs...)
}
