package devidp

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestAKSTokenPerUser(t *testing.T) {
	big := User{Username: "big", Password: "password", Name: "Big Groups", UPN: "big@contoso.example",
		OID: "b1900000-0000-4000-8000-000000000b19"}
	for i := range 201 {
		big.Groups = append(big.Groups, fmt.Sprintf("b1900000-0000-4000-8000-%012d", i))
	}
	users := append(SampleUsers(), big)
	tests := []struct {
		name, username string
		wantGroups     int // -1: overage
		wantUPN        string
		wantUniqueName string
		wantPreferred  string
	}{
		{name: "member", username: "bob", wantGroups: 1, wantUPN: "bob@contoso.example",
			wantUniqueName: "bob@contoso.example", wantPreferred: "bob@contoso.example"},
		{name: "guest", username: "guest", wantGroups: 1,
			wantUniqueName: "live.com#gail@fabrikam.example", wantPreferred: "gail@fabrikam.example"},
		{name: "200 groups still inline", username: "many", wantGroups: 200,
			wantUPN: "many@contoso.example", wantUniqueName: "many@contoso.example", wantPreferred: "many@contoso.example"},
		{name: "201 groups overage", username: "big", wantGroups: -1,
			wantUPN: "big@contoso.example", wantUniqueName: "big@contoso.example", wantPreferred: "big@contoso.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Users = users })
			_, body := e.tokenCall(t, redeemForm(e.authorize(t, tt.username, signInScopes...), ""))
			at := verifyAKSToken(t, e, body["access_token"].(string))
			if upn, has := at["upn"]; tt.wantUPN == "" && has || tt.wantUPN != "" && upn != tt.wantUPN {
				t.Errorf("upn = %v (present %v); want %q", upn, has, tt.wantUPN)
			}
			if at["unique_name"] != tt.wantUniqueName {
				t.Errorf("unique_name = %v; want %s", at["unique_name"], tt.wantUniqueName)
			}
			groups, hasGroups := at["groups"].([]any)
			names, _ := at["_claim_names"].(map[string]any)
			sources, _ := at["_claim_sources"].(map[string]any)
			switch {
			case tt.wantGroups >= 0 && (len(groups) != tt.wantGroups || names != nil):
				t.Errorf("groups = %d, _claim_names %v; want %d inline", len(groups), names, tt.wantGroups)
			case tt.wantGroups < 0 && (hasGroups || names["groups"] != "src1"):
				t.Errorf("groups present %v, _claim_names %v; want overage", hasGroups, names)
			case tt.wantGroups < 0:
				src, _ := sources["src1"].(map[string]any)
				want := "https://graph.windows.net/" + DefaultTenantID + "/users/" + big.OID + "/getMemberObjects"
				if src["endpoint"] != want {
					t.Errorf("_claim_sources = %v; want endpoint %s", sources, want)
				}
			}
			if got := jwtPart(t, body["id_token"].(string), 1)["preferred_username"]; got != tt.wantPreferred {
				t.Errorf("preferred_username = %v; want %s", got, tt.wantPreferred)
			}
		})
	}
}

func TestTokensPerResource(t *testing.T) {
	tests := []struct {
		name, scope        string
		wantAud, wantIss   string // wantIss "v1" or "v2"
		wantScp, wantScope string
		wantVer            string
	}{
		{name: "AKS named permission", scope: AKSResource + "/user.read", wantAud: AKSResource, wantIss: "v1",
			wantScp: "user.read", wantScope: AKSResource + "/user.read", wantVer: "1.0"},
		{name: "Graph bare", scope: "openid profile User.Read", wantAud: GraphResource, wantIss: "v1",
			wantScp: "User.Read openid profile", wantScope: "User.Read openid profile", wantVer: "1.0"},
		{name: "Graph by URL", scope: "https://graph.microsoft.com/.default", wantAud: GraphResource, wantIss: "v1",
			wantScp: "User.Read", wantScope: "User.Read", wantVer: "1.0"},
		{name: "OIDC only means Graph", scope: "openid email", wantAud: GraphResource, wantIss: "v1",
			wantScp: "User.Read openid email", wantScope: "User.Read openid email", wantVer: "1.0"},
		{name: "own API", scope: "api://dashboards/access_as_user", wantAud: "api://dashboards", wantIss: "v2",
			wantScp: "access_as_user", wantScope: "api://dashboards/access_as_user", wantVer: "2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) {
				c.Clients[0].ConsentedResources = []string{AKSResource, "https://graph.microsoft.com", "api://dashboards"}
			})
			_, body := e.tokenCall(t, redeemForm(e.authorize(t, "alice", signInScopes...), ""))
			status, body := e.tokenCall(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}, "scope": {tt.scope}})
			if status != 200 {
				t.Fatalf("refresh = %d %v; want 200", status, body["error_description"])
			}
			c := jwtPart(t, body["access_token"].(string), 1)
			wantIss := map[string]string{"v1": e.p.AccessTokenIssuer(), "v2": e.p.Issuer()}[tt.wantIss]
			wantClaims(t, "access token", c, map[string]any{"aud": tt.wantAud, "iss": wantIss, "scp": tt.wantScp, "ver": tt.wantVer})
			if body["scope"] != tt.wantScope {
				t.Errorf("scope = %v; want %s", body["scope"], tt.wantScope)
			}
		})
	}
}

func TestUnknownAKSPermission(t *testing.T) {
	e := newEnv(t, nil)
	status, body := e.tokenCall(t, redeemForm(e.authorize(t, "alice", signInScopes...), AKSResource+"/admin"))
	wantEntraError(t, status, body, 400, "invalid_scope", 650053)
}

func TestIDTokenScopeDependentClaims(t *testing.T) {
	e := newEnv(t, nil)
	_, body := e.tokenCall(t, redeemForm(e.authorize(t, "alice", "openid", aksDefaultScope), ""))
	c := jwtPart(t, body["id_token"].(string), 1)
	for _, k := range []string{"name", "email"} {
		if _, ok := c[k]; ok {
			t.Errorf("id_token has %s without the scope that grants it", k)
		}
	}
	if c["oid"] == nil || c["sid"] == nil || c["preferred_username"] == nil || !strings.HasPrefix(c["iss"].(string), e.srv.URL) {
		t.Errorf("id_token = %v; want oid, sid, preferred_username and our issuer", c)
	}
}
