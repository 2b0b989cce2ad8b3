package devidp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSTSBaseURL checks that a separate STSBaseURL moves the v1 access-token issuer (iss,
// discovery document, keys) and nothing else: the v2 issuer and the sign-in endpoints stay
// on BaseURL, where the browser goes.
func TestSTSBaseURL(t *testing.T) {
	for _, tc := range []struct {
		name, sts, wantV1 string
	}{
		{name: "default: the v1 issuer on BaseURL", sts: "", wantV1: "http://127.0.0.1:5556/" + DefaultTenantID + "/"},
		{name: "separate https issuer", sts: "https://127.0.0.1:5557/", wantV1: "https://127.0.0.1:5557/" + DefaultTenantID + "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(Config{BaseURL: "http://127.0.0.1:5556", STSBaseURL: tc.sts, SigningKey: sharedKey(),
				Clients: []Client{{ID: "c", Secret: "s", RedirectURIs: []string{"http://localhost/cb"}}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.AccessTokenIssuer(); got != tc.wantV1 {
				t.Errorf("AccessTokenIssuer() = %q; want %q", got, tc.wantV1)
			}
			v1 := discover(t, p, "/"+DefaultTenantID+"/.well-known/openid-configuration")
			if v1.Issuer != tc.wantV1 || v1.JWKSURI != tc.wantV1+"discovery/keys" {
				t.Errorf("v1 discovery: got issuer %q keys %q; want %q and its discovery/keys", v1.Issuer, v1.JWKSURI, tc.wantV1)
			}
			v2 := discover(t, p, "/"+DefaultTenantID+"/v2.0/.well-known/openid-configuration")
			if want := "http://127.0.0.1:5556/" + DefaultTenantID + "/oauth2/v2.0/authorize"; v2.AuthorizationEndpoint != want {
				t.Errorf("v2 authorize endpoint: got %q; want %q", v2.AuthorizationEndpoint, want)
			}
		})
	}
}

func discover(t *testing.T, p *Provider, path string) metadata {
	t.Helper()
	rec := httptest.NewRecorder()
	p.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var m metadata
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	return m
}
