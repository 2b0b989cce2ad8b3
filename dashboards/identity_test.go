package dashboards

import (
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/config"
)

// TestPolicyHostileIdentities feeds the allow-lists identities built to be read one way by
// tokengate and another by people or mail systems.
func TestPolicyHostileIdentities(t *testing.T) {
	tests := []struct {
		name       string
		d          config.Dashboard
		user       User
		want       bool
		wantReason string // part of the refusal reason
	}{
		{name: "two @, allowed domain last", d: config.Dashboard{AllowedEmailDomains: []string{"example.com"}},
			user: User{Email: "attacker@evil.com@example.com"}, wantReason: "more than one @"},
		{name: "quoted local part hiding an @", d: config.Dashboard{AllowedEmailDomains: []string{"example.com"}},
			user: User{Email: `"attacker@evil.com"@example.com`}, wantReason: "quoted local part"},
		{name: "comment hiding the domain", d: config.Dashboard{AllowedEmailDomains: []string{"example.com"}},
			user: User{Email: "attacker@evil.com(@example.com)"}, wantReason: "comment"},
		{name: "display name", d: config.Dashboard{AllowedEmailDomains: []string{"example.com"}},
			user: User{Email: "Eve <eve@example.com>"}, wantReason: "display name"},
		{name: "trailing dot", d: config.Dashboard{AllowedEmailDomains: []string{"example.com"}},
			user: User{Email: "alice@example.com."}, wantReason: "ends with a dot"},
		{name: "subdomain is not the domain", d: config.Dashboard{AllowedEmailDomains: []string{"example.com"}},
			user: User{Email: "alice@evil.example.com"}, wantReason: "e-mail address at example.com"},
		{name: "domain as suffix of another", d: config.Dashboard{AllowedEmailDomains: []string{"example.com"}},
			user: User{Email: "alice@evilexample.com"}, wantReason: "e-mail address at example.com"},
		{name: "upper-case domain", d: config.Dashboard{AllowedEmailDomains: []string{"example.com"}},
			user: User{Email: "Alice@EXAMPLE.COM"}, want: true},
		{name: "upper-case entry", d: config.Dashboard{AllowedEmailDomains: []string{"@Example.COM"}},
			user: User{Email: "alice@example.com"}, want: true},
		{name: "idn entry, punycode claim", d: config.Dashboard{AllowedEmailDomains: []string{"bücher.de"}},
			user: User{Email: "anna@xn--bcher-kva.de"}, want: true},
		{name: "punycode entry, idn claim", d: config.Dashboard{AllowedEmailDomains: []string{"xn--bcher-kva.de"}},
			user: User{Email: "anna@bücher.de"}, want: true},
		{name: "cyrillic look-alike domain", d: config.Dashboard{AllowedEmailDomains: []string{"example.com"}},
			user: User{Email: "eve@\u0435xample.com"}, wantReason: "e-mail address at example.com"},
		{name: "full-width look-alike domain", d: config.Dashboard{AllowedEmailDomains: []string{"example.com"}},
			user: User{Email: "eve@ｅｘａｍｐｌｅ.com"}, wantReason: "look-alike"},
		{name: "kelvin sign is not k", d: config.Dashboard{AllowedUsers: []string{"kim@example.com"}},
			user: User{PreferredUsername: "\u212Aim@example.com"}, wantReason: "users kim@example.com"},
		{name: "dotless i is not i", d: config.Dashboard{AllowedUsers: []string{"IVAN"}},
			user: User{PreferredUsername: "\u0131van"}, wantReason: "users IVAN"},
		{name: "login in upper case", d: config.Dashboard{AllowedUsers: []string{"alice@example.com"}},
			user: User{PreferredUsername: "ALICE@Example.com"}, want: true},
		{name: "oid in upper case", d: config.Dashboard{AllowedUsers: []string{"0A1B2C3D-0000-4000-8000-000000000001"}},
			user: User{OID: "0a1b2c3d-0000-4000-8000-000000000001"}, want: true},
		{name: "listed e-mail with two @", d: config.Dashboard{AllowedUsers: []string{"alice@example.com"}},
			user: User{Email: "alice@example.com@evil.com"}, wantReason: "users alice@example.com"},
		{name: "listed e-mail with trailing dot", d: config.Dashboard{AllowedUsers: []string{"alice@example.com"}},
			user: User{Email: "alice@example.com."}, wantReason: "users alice@example.com"},
		{name: "login with trailing space", d: config.Dashboard{AllowedUsers: []string{"alice"}},
			user: User{PreferredUsername: "alice "}, wantReason: "users alice"},
		{name: "group id differs in case", d: config.Dashboard{AllowedGroups: []string{"G-Admins"}},
			user: User{Groups: []string{"g-admins"}}, wantReason: "groups G-Admins"},
		{name: "empty group entry and claim", d: config.Dashboard{AllowedGroups: []string{""}},
			user: User{Groups: []string{""}}, wantReason: "groups"},
		{name: "empty user entry and claims", d: config.Dashboard{AllowedUsers: []string{""}},
			user: User{}, wantReason: "users"},
		{name: "no e-mail at all", d: config.Dashboard{AllowedEmailDomains: []string{"example.com"}},
			user: User{OID: "x"}, wantReason: "missing"},
		{name: "only unreadable entries refuse everyone", d: config.Dashboard{AllowedEmailDomains: []string{"example.com."}},
			user: User{Email: "alice@example.com"}, wantReason: "e-mail address at example.com."},
		{name: "very long e-mail", d: config.Dashboard{AllowedEmailDomains: []string{"example.com"}},
			user: User{Email: strings.Repeat("a", 300) + "@example.com"}, wantReason: "longer than"},
		{name: "very long login", d: config.Dashboard{AllowedUsers: []string{strings.Repeat("a", 300)}},
			user: User{PreferredUsername: strings.Repeat("a", 300)}, wantReason: "users"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.d.Name, tc.d.Hosts = "d", []string{"d.example.com"}
			set, err := New(configWith(tc.d))
			if err != nil {
				t.Fatal(err)
			}
			p, _ := set.Match("d.example.com")
			got := p.Admit(&tc.user)
			if got.Allowed != tc.want || (!tc.want && !strings.Contains(got.Reason, tc.wantReason)) {
				t.Errorf("Admit(%+v) = %+v; want allowed %v, reason containing %q", tc.user, got, tc.want, tc.wantReason)
			}
		})
	}
}

// TestEmailHeaderIsTheCheckedAddress: a dashboard receives the address in the form the
// allow-lists judged, or none, never a string it might parse differently.
func TestEmailHeaderIsTheCheckedAddress(t *testing.T) {
	tests := []struct {
		name      string
		email     string
		wantEmail string
		wantUser  string
	}{
		{name: "plain", email: "alice@example.com", wantEmail: "alice@example.com", wantUser: "alice@example.com"},
		{name: "idn domain in punycode", email: "anna@Bücher.de", wantEmail: "anna@xn--bcher-kva.de", wantUser: "anna@xn--bcher-kva.de"},
		{name: "upper-case domain folded", email: "Alice@EXAMPLE.com", wantEmail: "Alice@example.com", wantUser: "Alice@example.com"},
		{name: "two @ not sent", email: "attacker@evil.com@example.com", wantEmail: "", wantUser: "oid-1"},
		{name: "display name not sent", email: "Eve <eve@example.com>", wantEmail: "", wantUser: "oid-1"},
	}
	set, err := New(configWith(config.Dashboard{Name: "g", Preset: "grafana", Hosts: []string{"g.example.com"}}))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Match("g.example.com")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := render(p, &User{OID: "oid-1", Email: tc.email}, "")
			if got.Get("X-Webauth-Email") != tc.wantEmail || got.Get("X-Webauth-User") != tc.wantUser {
				t.Errorf("email %q, user %q; want %q, %q", got.Get("X-Webauth-Email"), got.Get("X-Webauth-User"), tc.wantEmail, tc.wantUser)
			}
		})
	}
}

// TestGroupsHeaderKeepsIdsWhole: the ${groups} list is split on commas by dashboards, so a
// group id holding a comma, or an unusable one, is not sent at all.
func TestGroupsHeaderKeepsIdsWhole(t *testing.T) {
	set, err := New(configWith(config.Dashboard{Name: "d", Hosts: []string{"d.example.com"},
		Headers: map[string]string{"X-Groups": "${groups}"}}))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Match("d.example.com")
	tests := []struct {
		name   string
		groups []string
		want   string
	}{
		{name: "plain ids", groups: []string{"g-1", "g-2"}, want: "g-1,g-2"},
		{name: "comma inside an id", groups: []string{"g-1", "dev,platform-admins"}, want: "g-1"},
		{name: "empty id", groups: []string{"", "g-2"}, want: "g-2"},
		{name: "id with a space", groups: []string{"g 1", "g-2"}, want: "g-2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(p, &User{OID: "o", Groups: tc.groups}, "").Get("X-Groups"); got != tc.want {
				t.Errorf("X-Groups = %q; want %q", got, tc.want)
			}
		})
	}
}
