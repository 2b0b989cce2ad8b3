package devidp

import (
	"net/url"
	"testing"
)

// With RotateRefreshTokens a refresh token is single-use; spending one twice revokes every
// token of that sign-in (and only that sign-in), as Keycloak, Okta and Auth0 do.
func TestRotateRefreshTokensReuseRevokesFamily(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RotateRefreshTokens = true })
	refresh := func(rt string) (int, map[string]any) {
		return e.tokenCall(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {aksDefaultScope}})
	}
	newRT := func(body map[string]any) string {
		t.Helper()
		rt, _ := body["refresh_token"].(string)
		if rt == "" {
			t.Fatalf("no refresh token in %v", body["error_description"])
		}
		return rt
	}
	_, body := e.tokenCall(t, redeemForm(e.authorize(t, "alice", signInScopes...), aksDefaultScope))
	rt0 := newRT(body)
	_, other := e.tokenCall(t, redeemForm(e.authorize(t, "bob", signInScopes...), aksDefaultScope))
	otherRT := newRT(other)

	status, body := refresh(rt0)
	if status != 200 {
		t.Fatalf("first redemption = %d %v; want 200", status, body["error_description"])
	}
	rt1 := newRT(body)
	status, body = refresh(rt1)
	if status != 200 {
		t.Fatalf("redemption of the rotated token = %d %v; want 200", status, body["error_description"])
	}
	rt2 := newRT(body)
	if e.p.RefreshTokenReuses() != 0 {
		t.Fatalf("RefreshTokenReuses = %d before any reuse; want 0", e.p.RefreshTokenReuses())
	}

	status, body = refresh(rt0) // spent: someone else holds a copy
	wantEntraError(t, status, body, 400, "invalid_grant", 50173)
	if got := e.p.RefreshTokenReuses(); got != 1 {
		t.Errorf("RefreshTokenReuses = %d; want 1", got)
	}
	status, body = refresh(rt2) // the newest of the family is revoked too
	wantEntraError(t, status, body, 400, "invalid_grant", 50173)
	if status, body := refresh(otherRT); status != 200 {
		t.Errorf("another sign-in's token = %d %v; want 200: reuse revokes one family only", status, body["error_description"])
	}
}

// Without it (Entra) a redeemed refresh token stays valid and reuse is nothing special.
func TestRefreshTokensNotRotatedByDefault(t *testing.T) {
	e := newEnv(t, nil)
	_, body := e.tokenCall(t, redeemForm(e.authorize(t, "alice", signInScopes...), aksDefaultScope))
	rt, _ := body["refresh_token"].(string)
	for i := range 3 {
		status, body := e.tokenCall(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {aksDefaultScope}})
		if status != 200 {
			t.Fatalf("redemption %d of one refresh token = %d %v; want 200", i, status, body["error_description"])
		}
	}
	if got := e.p.RefreshTokenReuses(); got != 0 {
		t.Errorf("RefreshTokenReuses = %d; want 0 when rotation is off", got)
	}
}
