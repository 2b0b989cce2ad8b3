package devidp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/testfix"
)

const (
	certClientID = "22222222-3333-4444-8555-666666666666"
	wiClientID   = "33333333-4444-4555-8666-777777777777"
	wiIssuer     = "https://oidc.aks.example/cluster-1/"
	wiSubject    = "system:serviceaccount:tokengate:tokengate"
)

// otherKey is a second RSA key: a certificate nobody registered, or a forger's key.
var otherKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("generate test key: " + err.Error())
	}
	return k
})

func thumbprints(cert *x509.Certificate) (x5t, x5tS256 string) {
	s1 := sha1.Sum(cert.Raw) //nolint:gosec // see import
	s256 := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(s1[:]), base64.RawURLEncoding.EncodeToString(s256[:])
}

// assertionEnv is a provider with a certificate client and a workload-identity client.
func assertionEnv(t *testing.T) (*env, *x509.Certificate) {
	t.Helper()
	var cert *x509.Certificate
	e := newEnv(t, func(c *Config) {
		cert = testfix.SelfSigned(sharedKey(), c.Now())
		c.Clients = append(c.Clients,
			Client{ID: certClientID, RedirectURIs: []string{testRedirect}, Certificates: []*x509.Certificate{cert}},
			Client{ID: wiClientID, RedirectURIs: []string{testRedirect}, FederatedCredentials: []FederatedCredential{
				{Issuer: wiIssuer, Subject: wiSubject, Key: &testfix.ClusterKey().PublicKey},
			}})
	})
	return e, cert
}

func credentialsForm(clientID, assertion string) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}, "scope": {aksDefaultScope},
		"client_assertion_type": {clientAssertionType}, "client_assertion": {assertion}}
	if clientID != "" {
		v.Set("client_id", clientID)
	}
	return v
}

func TestCertificateAssertion(t *testing.T) {
	e, cert := assertionEnv(t)
	now := e.clock.Now()
	x5t, x5tS256 := thumbprints(cert)
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"iss": certClientID, "sub": certClientID, "aud": e.p.tokenEndpoint(),
			"jti": randomToken(), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	rs := func(edit func(map[string]any)) string {
		return testfix.SignJWT(t, sharedKey(), jose.RS256, map[string]any{"x5t": x5t}, claims(edit))
	}
	replayed := rs(nil)
	if status, body := e.rawTokenCall(t, credentialsForm("", replayed), nil); status != 200 {
		t.Fatalf("first use of an assertion: %d %v", status, body["error_description"])
	}
	tests := []struct {
		name     string
		form     url.Values
		wantCode int // 0: success
		wantErr  string
	}{
		{name: "RS256 with x5t", form: credentialsForm(certClientID, rs(nil))},
		{name: "RS256 without client_id", form: credentialsForm("", rs(nil))},
		{name: "PS256 with x5t#S256", form: credentialsForm(certClientID, testfix.SignJWT(t, sharedKey(), jose.PS256,
			map[string]any{"x5t#S256": x5tS256}, claims(nil)))},
		{name: "aud as a list", form: credentialsForm(certClientID, rs(func(c map[string]any) { c["aud"] = []string{e.p.tokenEndpoint()} }))},
		{name: "unregistered certificate", wantCode: 700027, wantErr: "invalid_client",
			form: credentialsForm(certClientID, testfix.SignJWT(t, otherKey(), jose.RS256,
				map[string]any{"x5t": thumbOf(testfix.SelfSigned(otherKey(), now))}, claims(nil)))},
		{name: "registered thumbprint, other key", wantCode: 700027, wantErr: "invalid_client",
			form: credentialsForm(certClientID, testfix.SignJWT(t, otherKey(), jose.RS256, map[string]any{"x5t": x5t}, claims(nil)))},
		{name: "no thumbprint", wantCode: 700027, wantErr: "invalid_client",
			form: credentialsForm(certClientID, testfix.SignJWT(t, sharedKey(), jose.RS256, nil, claims(nil)))},
		{name: "expired", wantCode: 700024, wantErr: "invalid_client",
			form: credentialsForm(certClientID, rs(func(c map[string]any) { c["exp"] = now.Unix() }))},
		{name: "not yet valid", wantCode: 700024, wantErr: "invalid_client",
			form: credentialsForm(certClientID, rs(func(c map[string]any) { c["nbf"] = now.Add(10 * time.Minute).Unix() }))},
		{name: "no exp", wantCode: 700024, wantErr: "invalid_client",
			form: credentialsForm(certClientID, rs(func(c map[string]any) { delete(c, "exp") }))},
		{name: "other audience", wantCode: 700023, wantErr: "invalid_client",
			form: credentialsForm(certClientID, rs(func(c map[string]any) { c["aud"] = "https://login.microsoftonline.com/other/oauth2/v2.0/token" }))},
		{name: "sub is not the client", wantCode: 700021, wantErr: "invalid_client",
			form: credentialsForm(certClientID, rs(func(c map[string]any) { c["sub"] = "someone-else" }))},
		{name: "replayed jti", wantCode: 700027, wantErr: "invalid_client", form: credentialsForm(certClientID, replayed)},
		{name: "no jti", wantCode: 700027, wantErr: "invalid_client",
			form: credentialsForm(certClientID, rs(func(c map[string]any) { delete(c, "jti") }))},
		{name: "not a JWT", wantCode: 700027, wantErr: "invalid_client", form: credentialsForm(certClientID, "a.b.c")},
		{name: "assertion and secret", wantCode: 7000215, wantErr: "invalid_client",
			form: func() url.Values { f := credentialsForm(certClientID, rs(nil)); f.Set("client_secret", "x"); return f }()},
		{name: "wrong assertion type", wantCode: 50027, wantErr: "invalid_request",
			form: func() url.Values {
				f := credentialsForm(certClientID, rs(nil))
				f.Set("client_assertion_type", "jwt")
				return f
			}()},
		{name: "secret for a certificate-only client", wantCode: 7000215, wantErr: "invalid_client",
			form: url.Values{"grant_type": {"client_credentials"}, "scope": {aksDefaultScope}, "client_id": {certClientID}, "client_secret": {"guess"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.rawTokenCall(t, tt.form, nil)
			if tt.wantCode != 0 {
				wantStatus := 401
				if tt.wantErr != "invalid_client" {
					wantStatus = 400
				}
				wantEntraError(t, status, body, wantStatus, tt.wantErr, tt.wantCode)
				return
			}
			if status != 200 {
				t.Fatalf("status %d (%v); want 200", status, body["error_description"])
			}
			claims := jwtPart(t, body["access_token"].(string), 1)
			if claims["appid"] != certClientID || claims["appidacr"] != "2" || claims["idtyp"] != "app" {
				t.Errorf("appid, appidacr, idtyp = %v, %v, %v; want %s, 2 (certificate), app", claims["appid"], claims["appidacr"], claims["idtyp"], certClientID)
			}
		})
	}
}

func thumbOf(cert *x509.Certificate) string { s, _ := thumbprints(cert); return s }

func TestFederatedAssertion(t *testing.T) {
	e, _ := assertionEnv(t)
	now := e.clock.Now()
	token := func(edit func(map[string]any)) string {
		c := map[string]any{"iss": wiIssuer, "sub": wiSubject, "aud": []string{DefaultFederatedAudience},
			"jti": randomToken(), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if edit != nil {
			edit(c)
		}
		return testfix.SignJWT(t, testfix.ClusterKey(), jose.ES256, map[string]any{"kid": "cluster"}, c)
	}
	reused := token(func(c map[string]any) { c["jti"] = "reused-token" })
	forged, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantCode   int // 0: success
	}{
		{name: "valid", form: credentialsForm(wiClientID, token(nil)), wantStatus: 200},
		{name: "same token again (not single use)", form: credentialsForm(wiClientID, reused), wantStatus: 200},
		{name: "same token a third time", form: credentialsForm(wiClientID, reused), wantStatus: 200},
		{name: "wrong subject", form: credentialsForm(wiClientID, token(func(c map[string]any) { c["sub"] = "system:serviceaccount:default:default" })),
			wantStatus: 401, wantCode: 70021},
		{name: "wrong audience", form: credentialsForm(wiClientID, token(func(c map[string]any) { c["aud"] = "api://other" })),
			wantStatus: 401, wantCode: 70021},
		{name: "wrong issuer", form: credentialsForm(wiClientID, token(func(c map[string]any) { c["iss"] = "https://evil.example/" })),
			wantStatus: 401, wantCode: 70021},
		{name: "expired", form: credentialsForm(wiClientID, token(func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() })),
			wantStatus: 401, wantCode: 700024},
		{name: "not signed by the issuer", wantStatus: 401, wantCode: 700027,
			form: credentialsForm(wiClientID, testfix.SignJWT(t, forged, jose.ES256, nil, map[string]any{"iss": wiIssuer, "sub": wiSubject,
				"aud": DefaultFederatedAudience, "exp": now.Add(time.Hour).Unix()}))},
		{name: "no client_id", form: credentialsForm("", token(nil)), wantStatus: 400, wantCode: 700016},
		{name: "other client's credential", form: credentialsForm(testClientID, token(nil)), wantStatus: 401, wantCode: 70021},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.rawTokenCall(t, tt.form, nil)
			if tt.wantCode != 0 {
				wantEntraError(t, status, body, tt.wantStatus, map[int]string{400: "unauthorized_client", 401: "invalid_client"}[tt.wantStatus], tt.wantCode)
				if desc, _ := body["error_description"].(string); strings.Contains(desc, tt.form.Get("client_assertion")) {
					t.Errorf("error_description echoes the assertion")
				}
				return
			}
			if status != tt.wantStatus {
				t.Fatalf("status %d (%v); want %d", status, body["error_description"], tt.wantStatus)
			}
			if claims := jwtPart(t, body["access_token"].(string), 1); claims["appid"] != wiClientID || claims["appidacr"] != "2" {
				t.Errorf("appid, appidacr = %v, %v; want %s, 2", claims["appid"], claims["appidacr"], wiClientID)
			}
		})
	}
	if got := e.p.AcceptedAssertions(); !slices.Contains(got, "reused-token") || len(got) != 3 {
		t.Errorf("AcceptedAssertions = %v; want the three accepted federated tokens", got)
	}
}

// A sign-in redeemed with a federated token gets user tokens that say so (appidacr 2).
func TestFederatedSignIn(t *testing.T) {
	e, _ := assertionEnv(t)
	now := e.clock.Now()
	f := e.authorizeAs(t, wiClientID, "alice", signInScopes...)
	form := redeemForm(f, "")
	for k, v := range credentialsForm(wiClientID, testfix.SignJWT(t, testfix.ClusterKey(), jose.ES256, nil, map[string]any{
		"iss": wiIssuer, "sub": wiSubject, "aud": DefaultFederatedAudience, "jti": "signin", "exp": now.Add(time.Hour).Unix()})) {
		if k != "grant_type" && k != "scope" {
			form[k] = v
		}
	}
	status, body := e.rawTokenCall(t, form, nil)
	if status != 200 {
		t.Fatalf("redeem with a federated token: %d %v", status, body["error_description"])
	}
	claims := jwtPart(t, body["access_token"].(string), 1)
	if claims["upn"] != "alice@contoso.example" || claims["appidacr"] != "2" {
		t.Errorf("upn, appidacr = %v, %v; want alice and 2", claims["upn"], claims["appidacr"])
	}
	if body["refresh_token"] == nil || body["id_token"] == nil {
		t.Error("sign-in with a federated token gave no refresh token or id_token")
	}
}

// authorizeAs is authorize for another client of the provider.
func (e *env) authorizeAs(t *testing.T, clientID, username string, scopes ...string) flow {
	t.Helper()
	f := flow{verifier: randomToken() + randomToken(), nonce: "n-" + randomToken()[:8], state: "st-" + randomToken()[:8]}
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {testRedirect},
		"scope": {strings.Join(scopes, " ")}, "state": {f.state}, "nonce": {f.nonce},
		"code_challenge": {s256(f.verifier)}, "code_challenge_method": {"S256"}}
	f.code = e.signIn(t, browser(t), e.p.base+"/oauth2/v2.0/authorize?"+q.Encode(), username)
	return f
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Clients[0].ConsentedResources = []string{AKSResource, "api://reports"} })
	tests := []struct {
		name       string
		scope      string
		wantStatus int
		wantCode   int
		wantAud    string
		wantIss    string
	}{
		{name: "AKS", scope: aksDefaultScope, wantStatus: 200, wantAud: AKSResource, wantIss: e.p.AccessTokenIssuer()},
		{name: "other API is v2", scope: "api://reports/.default", wantStatus: 200, wantAud: "api://reports", wantIss: e.p.Issuer()},
		{name: "named permission", scope: AKSResource + "/user.read", wantStatus: 400, wantCode: 1002012},
		{name: "with openid", scope: "openid " + aksDefaultScope, wantStatus: 400, wantCode: 1002012},
		{name: "two resources", scope: aksDefaultScope + " api://reports/.default", wantStatus: 400, wantCode: 1002012},
		{name: "not consented", scope: "https://graph.microsoft.com/.default", wantStatus: 400, wantCode: 65001},
		{name: "no scope", scope: "", wantStatus: 400, wantCode: 900144},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.tokenCall(t, url.Values{"grant_type": {"client_credentials"}, "scope": {tt.scope}})
			if tt.wantCode != 0 {
				if status != tt.wantStatus {
					t.Fatalf("status %d; want %d", status, tt.wantStatus)
				}
				if codes, _ := body["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(tt.wantCode) {
					t.Errorf("error_codes = %v; want [%d]", body["error_codes"], tt.wantCode)
				}
				return
			}
			if status != 200 {
				t.Fatalf("status %d (%v); want 200", status, body["error_description"])
			}
			if body["refresh_token"] != nil || body["id_token"] != nil {
				t.Error("an app-only answer carries a refresh token or id_token")
			}
			c := jwtPart(t, body["access_token"].(string), 1)
			if c["aud"] != tt.wantAud || c["iss"] != tt.wantIss || c["idtyp"] != "app" {
				t.Errorf("aud, iss, idtyp = %v, %v, %v; want %s, %s, app", c["aud"], c["iss"], c["idtyp"], tt.wantAud, tt.wantIss)
			}
			for _, user := range []string{"upn", "name", "preferred_username", "scp", "groups"} {
				if _, ok := c[user]; ok {
					t.Errorf("app-only token has the user claim %s", user)
				}
			}
			if c["oid"] == nil || c["oid"] != c["sub"] {
				t.Errorf("oid %v, sub %v; want the service principal's object id in both", c["oid"], c["sub"])
			}
		})
	}
}
