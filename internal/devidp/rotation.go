package devidp

// Refresh-token rotation with reuse detection (Config.RotateRefreshTokens), the behaviour of
// Keycloak ("Revoke Refresh Token"), Okta, Auth0 and Dex, and the OAuth 2.0 Security BCP
// (RFC 9700 §4.14.2): every refresh token is single-use; presenting a spent one means two
// parties hold it, so the provider revokes the whole family and both must sign in again.
// tokengate replicas that refresh the same session concurrently trip exactly this.

// spendLocked marks rg redeemed, or, if it already was, revokes its family and refuses.
// Callers hold p.mu.
func (p *Provider) spendLocked(rg *refreshGrant) *entraError {
	if rg.redeemed {
		p.reuses++
		for _, g := range p.refreshTokens {
			if g.family == rg.family {
				g.revoked = true
			}
		}
		return invalidGrant(50173, "The provided grant has been revoked: this refresh token was already redeemed, so every refresh token of this sign-in is revoked (reuse detection).")
	}
	rg.redeemed = true
	return nil
}

// RefreshTokenReuses counts redemptions of an already redeemed refresh token under
// RotateRefreshTokens: each one revoked a family. Zero means no client ever spent a refresh
// token twice.
func (p *Provider) RefreshTokenReuses() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reuses
}
