package dashboards_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/dashboards"
	"github.com/tokengate/tokengate/internal/config"
)

// These benchmarks cover the dashboards steps of every /auth: host match, policy
// decision and header write. None may allocate on an admitted request beyond the header
// values it builds.

func benchGroups(n int) []string {
	groups := make([]string, n)
	for i := range groups {
		groups[i] = fmt.Sprintf("7ea30000-0000-4000-8000-%012d", i)
	}
	return groups
}

func benchSet(b *testing.B, cfg config.Config) *dashboards.Set {
	b.Helper()
	set, err := dashboards.New(&cfg)
	if err != nil {
		b.Fatalf("dashboards.New: %v", err)
	}
	return set
}

func BenchmarkMatch(b *testing.B) {
	cfg := config.Defaults()
	cfg.Dashboards = []config.Dashboard{
		{Name: "headlamp", Preset: "headlamp", Hosts: []string{"headlamp.example.com"}},
		{Name: "grafana", Preset: "grafana", Hosts: []string{"grafana.example.com"}},
		{Name: "tools", Hosts: []string{"*.tools.example.com", "*.example.com"}},
	}
	set := benchSet(b, cfg)
	tests := []struct {
		name, host, want string
	}{
		{name: "exact", host: "headlamp.example.com", want: "headlamp"},
		{name: "wildcard", host: "kiali.tools.example.com", want: "tools"},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if p, ok := set.Match(tt.host); !ok || p.Name != tt.want {
					b.Fatalf("Match(%q) = %v, %v; want %s", tt.host, p, ok, tt.want)
				}
			}
		})
	}
}

func BenchmarkAdmit(b *testing.B) {
	many := benchGroups(200)
	tests := []struct {
		name    string
		profile config.Dashboard
		user    dashboards.User
		allowed bool
	}{
		{
			name:    "open",
			profile: config.Dashboard{Name: "open", Default: true},
			user:    dashboards.User{OID: "b0b", Email: "bob@contoso.example", Groups: many[:1]},
			allowed: true,
		},
		{
			name:    "group allowed, last of 200",
			profile: config.Dashboard{Name: "admins", Default: true, AllowedGroups: []string{many[199]}},
			user:    dashboards.User{OID: "b0b", Email: "bob@contoso.example", Groups: many},
			allowed: true,
		},
		{
			name:    "email domain allowed",
			profile: config.Dashboard{Name: "grafana", Default: true, AllowedEmailDomains: []string{"contoso.example"}},
			user:    dashboards.User{OID: "b0b", Email: "bob@contoso.example", Groups: many},
			allowed: true,
		},
		{
			name:    "refused, 200 groups searched",
			profile: config.Dashboard{Name: "admins", Default: true, AllowedGroups: []string{"0a1d0000-0000-4000-8000-00000000ad01"}},
			user:    dashboards.User{OID: "b0b", Email: "bob@contoso.example", Groups: many},
			allowed: false,
		},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			cfg := config.Defaults()
			cfg.Dashboards = []config.Dashboard{tt.profile}
			p, _ := benchSet(b, cfg).Match("any.example.com")
			b.ReportAllocs()
			for b.Loop() {
				if d := p.Admit(&tt.user); d.Allowed != tt.allowed {
					b.Fatalf("Admit = %+v; want allowed %v", d, tt.allowed)
				}
			}
		})
	}
}

func BenchmarkWriteHeaders(b *testing.B) {
	token := "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + strings.Repeat("A", 2500)
	user := dashboards.User{
		OID: "b0b00000-0000-4000-8000-000000000b0b", Name: "Bob Builder",
		PreferredUsername: "bob@contoso.example", Email: "bob@contoso.example", Groups: benchGroups(200),
	}
	groupsCfg := config.Defaults()
	groupsCfg.Headers.PassGroups = true
	tests := []struct {
		name string
		cfg  config.Config
		want int // headers written
	}{
		{name: "default profile", cfg: config.Defaults(), want: 4},
		{name: "default profile with 200 groups", cfg: groupsCfg, want: 5},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			p, _ := benchSet(b, tt.cfg).Match("headlamp.example.com")
			h := http.Header{}
			set := func(name, value string) { h[name] = []string{value} }
			b.ReportAllocs()
			for b.Loop() {
				clear(h)
				p.WriteHeaders(set, &user, token)
				if len(h) != tt.want || h.Get("Authorization") != "Bearer "+token {
					b.Fatalf("wrote %d headers; want %d with the bearer token", len(h), tt.want)
				}
			}
		})
	}
}
