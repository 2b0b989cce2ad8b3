package dashboards

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/config"
)

func configWith(ds ...config.Dashboard) *config.Config {
	c := config.Defaults()
	c.Dashboards = ds
	return &c
}

func render(p *Profile, u *User, token string) http.Header {
	h := http.Header{}
	p.WriteHeaders(func(name, value string) { h[name] = []string{value} }, u, token)
	return h
}

var alice = &User{OID: "oid-a", Name: "Alice Admin", PreferredUsername: "alice@contoso.example",
	Email: "alice@contoso.example", Groups: []string{"g-admins", "g-dev"}}

func TestPresets(t *testing.T) {
	tests := []struct {
		name      string
		preset    string
		wantToken string
		want      map[string]string
	}{
		{name: "headlamp sends the AKS token", preset: "headlamp", wantToken: AccessToken,
			want: map[string]string{"Authorization": "Bearer TOKEN", "X-Auth-Request-User": "alice@contoso.example", "X-Auth-Request-Email": "alice@contoso.example"}},
		{name: "kubernetes-dashboard sends the AKS token", preset: "kubernetes-dashboard", wantToken: AccessToken,
			want: map[string]string{"Authorization": "Bearer TOKEN", "X-Auth-Request-User": "alice@contoso.example", "X-Auth-Request-Email": "alice@contoso.example"}},
		{name: "headlamp proxy-auth sends the bare token", preset: "headlamp-proxy-auth", wantToken: AccessToken,
			want: map[string]string{"X-Forwarded-User": "alice@contoso.example", "X-Forwarded-Email": "alice@contoso.example",
				"X-Forwarded-Group": "g-admins,g-dev", "X-Forwarded-Id-Token": "TOKEN"}},
		{name: "grafana gets headers and no token", preset: "grafana", wantToken: NoToken,
			want: map[string]string{"X-Webauth-User": "alice@contoso.example", "X-Webauth-Email": "alice@contoso.example", "X-Webauth-Name": "Alice Admin"}},
		{name: "structured-auth sends the id_token", preset: "structured-auth", wantToken: IDToken,
			want: map[string]string{"Authorization": "Bearer TOKEN", "X-Auth-Request-User": "alice@contoso.example", "X-Auth-Request-Email": "alice@contoso.example"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := New(configWith(config.Dashboard{Name: "d", Preset: tc.preset, Hosts: []string{"d.example.com"}}))
			if err != nil {
				t.Fatal(err)
			}
			p, _ := set.Match("d.example.com")
			if p.Token != tc.wantToken {
				t.Errorf("token kind = %s; want %s", p.Token, tc.wantToken)
			}
			if tc.wantToken == AccessToken && p.Scope != config.DefaultResourceScope {
				t.Errorf("scope = %q; want the provider's resource scope", p.Scope)
			}
			got := render(p, alice, "TOKEN")
			if len(got) != len(tc.want) {
				t.Errorf("headers = %v; want exactly %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got.Get(k) != v {
					t.Errorf("%s = %q; want %q", k, got.Get(k), v)
				}
			}
		})
	}
}

func TestPresetOverrides(t *testing.T) {
	set, err := New(configWith(config.Dashboard{
		Name: "g", Preset: "grafana", Hosts: []string{"g.example.com"},
		Headers: map[string]string{"x-webauth-name": "", "X-WEBAUTH-ROLE": "Viewer", "X-Webauth-User": "${oid}"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Match("g.example.com")
	got := render(p, alice, "")
	want := map[string]string{"X-Webauth-User": "oid-a", "X-Webauth-Email": "alice@contoso.example", "X-Webauth-Role": "Viewer"}
	if len(got) != len(want) {
		t.Errorf("headers = %v; want %v", got, want)
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s = %q; want %q", k, got.Get(k), v)
		}
	}
}

func TestMatch(t *testing.T) {
	cfg := configWith(
		config.Dashboard{Name: "headlamp", Preset: "headlamp", Hosts: []string{"Headlamp.example.com"}},
		config.Dashboard{Name: "apps", Preset: "headlamp", Hosts: []string{"*.apps.example.com"}},
		config.Dashboard{Name: "team", Preset: "grafana", Hosts: []string{"*.team.apps.example.com"}},
		config.Dashboard{Name: "exact", Preset: "grafana", Hosts: []string{"x.team.apps.example.com"}},
	)
	set, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, want string
	}{
		{host: "headlamp.example.com", want: "headlamp"},
		{host: "a.apps.example.com", want: "apps"},
		{host: "b.team.apps.example.com", want: "team"},
		{host: "x.team.apps.example.com", want: "exact"},
		{host: "apps.example.com", want: ""},
		{host: "evilapps.example.com", want: ""},
		{host: "headlamp.example.com.evil.com", want: ""},
		{host: "unknown.example.com", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			p, ok := set.Match(tc.host)
			got := ""
			if ok {
				got = p.Name
			}
			if got != tc.want {
				t.Errorf("Match(%q) = %q; want %q", tc.host, got, tc.want)
			}
		})
	}

	cfg.Dashboards[1].Default = true
	set, _ = New(cfg)
	if p, ok := set.Match("unknown.example.com"); !ok || p.Name != "apps" {
		t.Errorf("with a default profile, an unknown host got %v; want apps", p)
	}
}

func TestImplicitDefaultProfile(t *testing.T) {
	c := config.Defaults()
	c.Headers.PassGroups = true
	set, err := New(&c)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := set.Match("anything.example.com")
	if !ok || p.Token != AccessToken || p.Scope != config.DefaultResourceScope {
		t.Fatalf("implicit profile = %+v; want the default access token", p)
	}
	got := render(p, alice, "T")
	if got.Get("Authorization") != "Bearer T" || got.Get("X-Auth-Request-Groups") != "g-admins,g-dev" || got.Get("X-Auth-Request-Access-Token") != "" {
		t.Errorf("headers = %v", got)
	}
	if got := set.AccessScopes(); len(got) != 1 || got[0] != config.DefaultResourceScope {
		t.Errorf("AccessScopes = %v", got)
	}
}

func TestNewErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		d    config.Dashboard
		want string
	}{
		{name: "unknown preset", d: config.Dashboard{Name: "g", Preset: "graphana"}, want: `dashboards[0].preset: unknown preset "graphana"`},
		{name: "unknown placeholder", d: config.Dashboard{Name: "g", Headers: map[string]string{"X-User": "${usr}"}}, want: "dashboards[0].headers.X-User: unknown placeholder ${usr}"},
		{name: "unclosed placeholder", d: config.Dashboard{Name: "g", Headers: map[string]string{"X-User": "${user"}}, want: "dashboards[0].headers.X-User: unclosed"},
		{name: "token without a token", d: config.Dashboard{Name: "g", Preset: "grafana", Headers: map[string]string{"Authorization": "Bearer ${token}"}}, want: "uses ${token} but token.kind is none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(configWith(tc.d))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	overage := &User{OID: "oid-o", PreferredUsername: "o@contoso.example", Email: "o@contoso.example", GroupsOverage: true}
	tests := []struct {
		name       string
		d          config.Dashboard
		user       *User
		want       bool
		wantGraph  bool
		wantReason string
	}{
		{name: "open profile", d: config.Dashboard{}, user: alice, want: true},
		{name: "group member", d: config.Dashboard{AllowedGroups: []string{"g-dev"}}, user: alice, want: true},
		{name: "not a member", d: config.Dashboard{AllowedGroups: []string{"g-ops"}}, user: alice, wantReason: "d requires membership of one of the groups g-ops."},
		{name: "listed user, any case", d: config.Dashboard{AllowedUsers: []string{"ALICE@contoso.example"}}, user: alice, want: true},
		{name: "listed oid", d: config.Dashboard{AllowedUsers: []string{"oid-a"}}, user: alice, want: true},
		{name: "other user", d: config.Dashboard{AllowedUsers: []string{"bob@contoso.example"}}, user: alice, wantReason: "users bob@contoso.example"},
		{name: "email domain", d: config.Dashboard{AllowedEmailDomains: []string{"@Contoso.example"}}, user: alice, want: true},
		{name: "look-alike domain", d: config.Dashboard{AllowedEmailDomains: []string{"example"}}, user: alice, wantReason: "e-mail address at example"},
		{name: "any list admits", d: config.Dashboard{AllowedGroups: []string{"g-ops"}, AllowedEmailDomains: []string{"contoso.example"}}, user: alice, want: true},
		{name: "overage without graph", d: config.Dashboard{AllowedGroups: []string{"g-ops"}}, user: overage, wantReason: "more than 200 groups"},
		{name: "overage with graph", d: config.Dashboard{AllowedGroups: []string{"g-ops"}, GraphGroupLookup: true}, user: overage, wantGraph: true},
		{name: "overage but admitted by domain", d: config.Dashboard{AllowedGroups: []string{"g-ops"}, AllowedEmailDomains: []string{"contoso.example"}}, user: overage, want: true},
		{name: "overage with an open profile", d: config.Dashboard{}, user: overage, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.d.Name, tc.d.Hosts = "d", []string{"d.example.com"}
			set, err := New(configWith(tc.d))
			if err != nil {
				t.Fatal(err)
			}
			p, _ := set.Match("d.example.com")
			got := p.Admit(tc.user)
			if got.Allowed != tc.want || got.NeedGroups != tc.wantGraph || !strings.Contains(got.Reason, tc.wantReason) {
				t.Errorf("Admit = %+v; want allowed %v, graph %v, reason containing %q", got, tc.want, tc.wantGraph, tc.wantReason)
			}
		})
	}
	set, _ := New(configWith(config.Dashboard{Name: "d", Hosts: []string{"d.example.com"}, AllowedGroups: []string{"g-ops"}, GraphGroupLookup: true}))
	p, _ := set.Match("d.example.com")
	if !p.AdmitGroups(overage, []string{"g-x", "g-ops"}).Allowed || p.AdmitGroups(overage, []string{"g-x"}).Allowed {
		t.Error("AdmitGroups does not decide on the Graph group list")
	}
}

func TestHeaderValuesAreCleaned(t *testing.T) {
	set, _ := New(configWith(config.Dashboard{Name: "g", Preset: "grafana", Hosts: []string{"g.example.com"}}))
	p, _ := set.Match("g.example.com")
	got := render(p, &User{Name: "Eve\r\nX-Webauth-User: admin", PreferredUsername: "eve"}, "")
	if got.Get("X-Webauth-Name") != "EveX-Webauth-User: admin" || got.Get("X-Webauth-User") != "eve" {
		t.Errorf("headers = %v; want control characters dropped", got)
	}
}

// The example configuration's dashboards must build: it is what people copy.
func TestExampleConfigBuilds(t *testing.T) {
	if _, err := os.Stat("../deploy/config.example.yaml"); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load("../deploy/config.example.yaml", []string{
		"TOKENGATE_PROVIDER_CLIENT_SECRET_FILE=", "TOKENGATE_PROVIDER_CLIENT_SECRET=x",
		"TOKENGATE_COOKIE_SECRET_FILES=", "TOKENGATE_COOKIE_SECRETS=" + strings.Repeat("A", 43) + "=",
	})
	if err != nil {
		t.Fatalf("load example: %v", err)
	}
	set, err := New(c)
	if err != nil {
		t.Fatalf("example dashboards: %v", err)
	}
	if len(set.Profiles()) != len(c.Dashboards) {
		t.Errorf("built %d profiles from %d dashboards", len(set.Profiles()), len(c.Dashboards))
	}
}
