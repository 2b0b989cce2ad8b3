package dashboards

import (
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/internal/config"
)

// policy is a profile's allow-lists. A user is admitted when they match any list that is
// set; with no list set, every signed-in user is.
type policy struct {
	groups  map[string]bool
	users   map[string]bool // lower-case login, email or oid
	domains map[string]bool // lower-case e-mail domains
	// requirement says, for the refusal page, what the profile asks for.
	requirement string
}

func newPolicy(d config.Dashboard) policy {
	p := policy{groups: map[string]bool{}, users: map[string]bool{}, domains: map[string]bool{}}
	var parts []string
	for _, g := range d.AllowedGroups {
		p.groups[g] = true
	}
	for _, u := range d.AllowedUsers {
		p.users[strings.ToLower(u)] = true
	}
	for _, dom := range d.AllowedEmailDomains {
		p.domains[strings.ToLower(strings.TrimPrefix(dom, "@"))] = true
	}
	if len(d.AllowedGroups) > 0 {
		parts = append(parts, "membership of one of the groups "+strings.Join(d.AllowedGroups, ", "))
	}
	if len(d.AllowedUsers) > 0 {
		parts = append(parts, "being one of the users "+strings.Join(d.AllowedUsers, ", "))
	}
	if len(d.AllowedEmailDomains) > 0 {
		parts = append(parts, "an e-mail address at "+strings.Join(d.AllowedEmailDomains, ", "))
	}
	p.requirement = strings.Join(parts, ", or ")
	return p
}

func (p policy) open() bool { return len(p.groups) == 0 && len(p.users) == 0 && len(p.domains) == 0 }

// Decision is the outcome of a profile's policy for one user.
type Decision struct {
	Allowed bool
	// NeedGroups: the user matched nothing else, and their group list is incomplete (Entra
	// groups overage); ask Graph and decide again with AdmitGroups.
	NeedGroups bool
	// Reason names the dashboard and what it requires, for the refusal page. It never
	// contains a token.
	Reason string
}

// Admit decides whether u may use the profile's dashboard. It is called before any token is
// fetched, so a refused user costs no call to the identity provider.
func (p *Profile) Admit(u *User) Decision {
	return p.admit(u, u.Groups, u.GroupsOverage)
}

// AdmitGroups decides again with the complete group list from Graph.
func (p *Profile) AdmitGroups(u *User, groups []string) Decision {
	return p.admit(u, groups, false)
}

func (p *Profile) admit(u *User, groups []string, overage bool) Decision {
	pol := p.policy
	if pol.open() || p.matchesUser(u) {
		return Decision{Allowed: true}
	}
	for _, g := range groups {
		if pol.groups[g] {
			return Decision{Allowed: true}
		}
	}
	if overage && len(pol.groups) > 0 {
		if p.GraphGroupLookup {
			return Decision{NeedGroups: true}
		}
		return Decision{Reason: fmt.Sprintf(
			"%s requires %s. Your account is in more than 200 groups, so Entra ID sent no group list; "+
				"ask the operator to enable graphGroupLookup for this dashboard.", p.Name, pol.requirement)}
	}
	return Decision{Reason: fmt.Sprintf("%s requires %s.", p.Name, pol.requirement)}
}

func (p *Profile) matchesUser(u *User) bool {
	pol := p.policy
	if len(pol.users) > 0 {
		for _, id := range []string{u.PreferredUsername, u.Email, u.OID} {
			if id != "" && pol.users[strings.ToLower(id)] {
				return true
			}
		}
	}
	if len(pol.domains) > 0 && u.Email != "" {
		at := strings.LastIndexByte(u.Email, '@')
		if at >= 0 && pol.domains[strings.ToLower(u.Email[at+1:])] {
			return true
		}
	}
	return false
}
