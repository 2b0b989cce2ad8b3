package devidp

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func TestDiscoveryOfBothIssuers(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tests := []struct {
		name, issuer, jwksSuffix string
	}{
		{name: "v2", issuer: e.p.Issuer(), jwksSuffix: "/discovery/v2.0/keys"},
		{name: "v1", issuer: e.p.AccessTokenIssuer(), jwksSuffix: "/discovery/keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prov, err := oidc.NewProvider(ctx, tt.issuer)
			if err != nil {
				t.Fatalf("oidc.NewProvider(%s): %v", tt.issuer, err)
			}
			var m metadata
			if err := prov.Claims(&m); err != nil {
				t.Fatalf("claims: %v", err)
			}
			if m.JWKSURI != e.p.base+tt.jwksSuffix {
				t.Errorf("jwks_uri = %s; want suffix %s", m.JWKSURI, tt.jwksSuffix)
			}
			if m.TokenEndpoint != e.p.base+"/oauth2/v2.0/token" || m.EndSessionEndpoint != e.p.base+"/oauth2/v2.0/logout" {
				t.Errorf("endpoints = %s, %s; want the tenant's v2 endpoints", m.TokenEndpoint, m.EndSessionEndpoint)
			}
			if !slices.Equal(m.SubjectTypesSupported, []string{"pairwise"}) || !slices.Contains(m.TokenEndpointAuthMethodsSupported, "client_secret_basic") {
				t.Errorf("metadata = %+v; want Entra's subject types and auth methods", m)
			}
		})
	}
	if e.p.Issuer() != e.srv.URL+"/"+DefaultTenantID+"/v2.0" || e.p.AccessTokenIssuer() != e.srv.URL+"/"+DefaultTenantID+"/" {
		t.Errorf("issuers = %s, %s; want BaseURL/<tenant>/v2.0 and BaseURL/<tenant>/", e.p.Issuer(), e.p.AccessTokenIssuer())
	}
}

// TestCodeFlowAsAClient signs alice in like a browser, redeems the code with x/oauth2 and
// verifies both tokens with go-oidc, as tokengate does.
func TestCodeFlowAsAClient(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	conf := e.oauthConfig(oauth2.AuthStyleInParams, signInScopes...)
	verifier, nonce, state := oauth2.GenerateVerifier(), "nonce-123", "state-456"
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce))

	c := browser(t)
	resp, page := get(t, c, authURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize = %d; want 200", resp.StatusCode)
	}
	resp, _ = e.submitLogin(t, c, page, "alice", "password", "signin")
	q := redirectParams(t, resp)
	if q.Get("state") != state || q.Get("session_state") == "" {
		t.Fatalf("redirect state=%q session_state=%q; want %q and a session", q.Get("state"), q.Get("session_state"), state)
	}

	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.RefreshToken == "" || tok.Extra("scope") != AKSResource+"/user.read" {
		t.Errorf("refresh token present = %v, scope = %v; want a refresh token and the AKS scope", tok.RefreshToken != "", tok.Extra("scope"))
	}
	if in, _ := tok.Extra("expires_in").(float64); in < 3600 || in > 5400 {
		t.Errorf("expires_in = %v; want 60–90 minutes", in)
	}

	v2, err := oidc.NewProvider(ctx, e.p.Issuer())
	if err != nil {
		t.Fatalf("v2 provider: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := v2.Verifier(&oidc.Config{ClientID: testClientID, Now: e.clock.Now}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("verify id_token: %v", err)
	}
	var idc map[string]any
	if err := idt.Claims(&idc); err != nil {
		t.Fatalf("id_token claims: %v", err)
	}
	wantClaims(t, "id_token", idc, map[string]any{
		"nonce": nonce, "ver": "2.0", "oid": "a11ce000-0000-4000-8000-0000000a11ce", "tid": DefaultTenantID,
		"preferred_username": "alice@contoso.example", "name": "Alice Admin", "email": "alice@contoso.example",
		"sid": q.Get("session_state"), "sub": pairwiseSub("a11ce000-0000-4000-8000-0000000a11ce", testClientID),
	})
	if _, ok := idc["groups"]; ok {
		t.Error("id_token carries groups; Entra's default app configuration does not")
	}

	claims := verifyAKSToken(t, e, tok.AccessToken)
	wantClaims(t, "access token", claims, map[string]any{
		"aud": AKSResource, "iss": e.p.AccessTokenIssuer(), "ver": "1.0", "scp": "user.read",
		"appid": testClientID, "appidacr": "1", "upn": "alice@contoso.example",
		"unique_name": "alice@contoso.example", "tid": DefaultTenantID, "name": "Alice Admin",
	})
	if g, _ := claims["groups"].([]any); len(g) != 1 || g[0] != GroupPlatformAdmins {
		t.Errorf("groups = %v; want [%s]", claims["groups"], GroupPlatformAdmins)
	}
	h := jwtPart(t, tok.AccessToken, 0)
	if h["kid"] == nil || h["kid"] != h["x5t"] || h["typ"] != "JWT" || h["alg"] != "RS256" {
		t.Errorf("header = %v; want typ JWT, RS256 and kid == x5t", h)
	}
	if got := e.p.TokenCalls("authorization_code"); got != 1 {
		t.Errorf("TokenCalls(authorization_code) = %d; want 1", got)
	}
	if got := e.p.AuthorizeCalls(); got != 1 {
		t.Errorf("AuthorizeCalls() = %d; want 1", got)
	}
}

// verifyAKSToken checks an access token the way a v1 resource would: against the v1 issuer
// with the AKS server app as audience. It returns the claims.
func verifyAKSToken(t *testing.T, e *env, raw string) map[string]any {
	t.Helper()
	ctx := context.Background()
	v1, err := oidc.NewProvider(ctx, e.p.AccessTokenIssuer())
	if err != nil {
		t.Fatalf("v1 provider: %v", err)
	}
	at, err := v1.Verifier(&oidc.Config{ClientID: AKSResource, Now: e.clock.Now}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify access token against the v1 issuer: %v", err)
	}
	var claims map[string]any
	if err := at.Claims(&claims); err != nil {
		t.Fatalf("access token claims: %v", err)
	}
	return claims
}

func wantClaims(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s %s = %v; want %v", what, k, got[k], v)
		}
	}
}

func TestAccessTokenDoesNotVerifyAgainstV2Issuer(t *testing.T) {
	e := newEnv(t, nil)
	f := e.authorize(t, "bob", signInScopes...)
	_, body := e.tokenCall(t, redeemForm(f, aksDefaultScope))
	ctx := context.Background()
	v2, err := oidc.NewProvider(ctx, e.p.Issuer())
	if err != nil {
		t.Fatalf("v2 provider: %v", err)
	}
	at, _ := body["access_token"].(string)
	if _, err := v2.Verifier(&oidc.Config{ClientID: AKSResource, Now: e.clock.Now}).Verify(ctx, at); err == nil {
		t.Fatal("v1 access token verified against the v2 issuer; Entra's would not")
	}
}
