package devidp

import "time"

// ssoSession is a browser's sign-in at the provider, found through the devidp_sso cookie.
// sid is its public id: session_state in redirects and sid in ID tokens.
type ssoSession struct {
	username string
	sid      string
}

// codeGrant is everything an authorization code is bound to.
type codeGrant struct {
	clientID, redirectURI string
	challenge, nonce      string
	scopes                scopeSet
	username, sid         string
	expires               time.Time
	used                  bool
}

// refreshGrant is what a refresh token stands for. Redeeming it issues a new refresh token
// with the same sign-in and a fresh expiry; the old one stays valid (Entra's behaviour)
// unless Config.RotateRefreshTokens is set.
type refreshGrant struct {
	clientID, username, sid string
	// family names the sign-in this token descends from; redeemed is set when it was spent
	// under RotateRefreshTokens (rotation.go).
	family   string
	redeemed bool
	signIn   scopeSet // the authorization request's scopes
	expires  time.Time
	revoked  bool
}

// retention keeps spent and expired codes and expired refresh tokens around for a while so
// that a late or repeated redemption gets the precise error (AADSTS54005, 70008, 700082)
// rather than "not valid".
const retention = 24 * time.Hour

// pruneEvery spaces the prunes. Pruning scans every code and refresh token; on every
// sign-in, as it once ran, 100 000 sign-ins cost 10^10 map steps (the bulk of a
// 20-minute benchmark setup). Against a 24-hour retention, a 10-minute delay is nothing.
const pruneEvery = 10 * time.Minute

// pruneLocked drops codes and refresh tokens nobody can redeem any more, at most once per
// pruneEvery of the provider's clock. Callers hold p.mu.
func (p *Provider) pruneLocked(now time.Time) {
	if now.Before(p.nextPrune) {
		return
	}
	p.nextPrune = now.Add(pruneEvery)
	for k, c := range p.codes {
		if now.After(c.expires.Add(retention)) {
			delete(p.codes, k)
		}
	}
	for k, g := range p.refreshTokens {
		if now.After(g.expires.Add(retention)) {
			delete(p.refreshTokens, k)
		}
	}
}
