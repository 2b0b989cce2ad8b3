package dashboards

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/identity"
)

// policy is a profile's allow-lists. A user is admitted when they match any list that is
// set; with no list set, every signed-in user is. Every entry and every claim is compared
// in the form package identity gives it, so the configuration and the token can never be
// normalised two different ways.
type policy struct {
	groups  map[string]bool // identity.GroupKey
	users   map[string]bool // identity.UserKey of a login, e-mail or oid
	domains map[string]bool // identity.Domain: ASCII, punycode, lower case
	// restricted: some list is configured. It is kept apart from the maps so that a list
	// whose every entry was unreadable refuses everyone rather than opening the door.
	restricted bool
	// requirement says, for the refusal page, what the profile asks for.
	requirement string
}

// newPolicy compiles the allow-lists. Configuration validation refuses entries identity
// cannot read; one that slipped through here can never match, so it is dropped.
func newPolicy(d config.Dashboard) policy {
	p := policy{groups: map[string]bool{}, users: map[string]bool{}, domains: map[string]bool{}}
	var parts []string
	for _, g := range d.AllowedGroups {
		if k, err := identity.GroupKey(g); err == nil {
			p.groups[k] = true
		}
	}
	for _, u := range d.AllowedUsers {
		if k, err := identity.UserKey(u); err == nil {
			p.users[k] = true
		}
	}
	for _, dom := range d.AllowedEmailDomains {
		if k, err := identity.Domain(strings.TrimPrefix(dom, "@")); err == nil {
			p.domains[k] = true
		}
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
	p.restricted = len(parts) > 0
	return p
}

func (p policy) open() bool { return !p.restricted }

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
	if pol.open() {
		return Decision{Allowed: true}
	}
	matched, emailProblem := p.matchesUser(u)
	if matched {
		return Decision{Allowed: true}
	}
	// pol.groups holds only identity.GroupKey forms, which are the values themselves, so
	// a hit is a valid group id compared exactly; no per-claim work for 200 groups.
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
	reason := fmt.Sprintf("%s requires %s.", p.Name, pol.requirement)
	if emailProblem != nil {
		reason += " The e-mail address your identity provider sent is " + emailProblem.Error() + "."
	}
	return Decision{Reason: reason}
}

// matchesUser checks the user and domain lists. When the domain list could not be checked
// because the e-mail claim is no single plain address, emailProblem says why: the refusal
// names it rather than a requirement the user may believe they meet.
func (p *Profile) matchesUser(u *User) (matched bool, emailProblem error) {
	pol := p.policy
	if len(pol.users) > 0 {
		for _, id := range []string{u.PreferredUsername, u.Email, u.OID} {
			if k, err := identity.UserKey(id); err == nil && pol.users[k] {
				return true, nil
			}
		}
	}
	if len(pol.domains) == 0 {
		return false, nil
	}
	if u.Email == "" {
		return false, errors.New("missing")
	}
	e, err := identity.ParseEmail(u.Email)
	if err != nil {
		return false, err
	}
	return pol.domains[e.Domain], nil
}
