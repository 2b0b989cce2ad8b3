package devidp

import (
	"strings"
	"testing"
)

func TestNewValidates(t *testing.T) {
	good := Client{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1/cb"}}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring; "" means success
	}{
		{name: "minimal", cfg: Config{BaseURL: "http://127.0.0.1:5556/", Clients: []Client{good}}},
		{name: "no base URL", cfg: Config{Clients: []Client{good}}, wantErr: "BaseURL"},
		{name: "relative base URL", cfg: Config{BaseURL: "127.0.0.1:5556", Clients: []Client{good}}, wantErr: "BaseURL"},
		{name: "no clients", cfg: Config{BaseURL: "http://127.0.0.1"}, wantErr: "Clients"},
		{name: "client without secret", cfg: Config{BaseURL: "http://127.0.0.1", Clients: []Client{{ID: "c", RedirectURIs: good.RedirectURIs}}}, wantErr: "clients[0].Secret"},
		{name: "client without redirect", cfg: Config{BaseURL: "http://127.0.0.1", Clients: []Client{{ID: "c", Secret: "s"}}}, wantErr: "clients[0].RedirectURIs"},
		{name: "relative redirect", cfg: Config{BaseURL: "http://127.0.0.1", Clients: []Client{{ID: "c", Secret: "s", RedirectURIs: []string{"/cb"}}}}, wantErr: "redirect URI"},
		{name: "duplicate client", cfg: Config{BaseURL: "http://127.0.0.1", Clients: []Client{good, good}}, wantErr: "duplicate"},
		{name: "duplicate user", cfg: Config{BaseURL: "http://127.0.0.1", Clients: []Client{good},
			Users: []User{{Username: "a", OID: "1"}, {Username: "A", OID: "2"}}}, wantErr: "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.SigningKey = sharedKey()
			p, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if p.Issuer() != "http://127.0.0.1:5556/"+DefaultTenantID+"/v2.0" {
					t.Errorf("Issuer() = %s; want the trailing slash trimmed and the default tenant", p.Issuer())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New error = %v; want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestSampleUsers(t *testing.T) {
	p, err := New(Config{BaseURL: "http://127.0.0.1", Clients: []Client{{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1/cb"}}}, SigningKey: sharedKey()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	oids := map[string]bool{}
	for _, u := range SampleUsers() {
		if !isGUID(u.OID) || oids[u.OID] || u.Password != "password" {
			t.Errorf("user %s: OID %q, password %q; want a unique GUID and \"password\"", u.Username, u.OID, u.Password)
		}
		oids[u.OID] = true
		for _, g := range u.Groups {
			if !isGUID(g) || p.GroupName(g) == "" {
				t.Errorf("user %s: group %q has no GUID id or no name", u.Username, g)
			}
		}
		if u.Username == "many" && len(u.Groups) != maxGroupsInToken {
			t.Errorf("many has %d groups; want exactly %d", len(u.Groups), maxGroupsInToken)
		}
	}
	tests := []struct{ name, id, want string }{
		{name: "admins", id: GroupPlatformAdmins, want: "platform-admins"},
		{name: "first team", id: teamGroupID(1), want: "team-001"},
		{name: "last team", id: teamGroupID(199), want: "team-199"},
		{name: "beyond the teams", id: teamGroupID(200), want: ""},
		{name: "unknown", id: "00000000-0000-4000-8000-000000000000", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.GroupName(tt.id); got != tt.want {
				t.Errorf("GroupName(%s) = %q; want %q", tt.id, got, tt.want)
			}
		})
	}
}
