package idp

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tokengate/tokengate/internal/jwtpeek"
)

const (
	// defaultLifetime is assumed for a token whose lifetime nothing states: one hour, the
	// shortest Entra issues.
	defaultLifetime = time.Hour
	// maxLifetime caps any stated lifetime. Entra's longest configurable access token lives
	// a day; an expires_in of 10^12 would otherwise overflow time.Duration and wrap into
	// the past, refreshing on every request.
	maxLifetime = 24 * time.Hour
)

// accessTokenExpiry is when an access token stops being served: the smaller of expires_in
// and, when the token is a JWT, its own exp, never more than maxLifetime away. expires_in
// is a number or, from Entra's v1 endpoint, a numeric string; a value that is not a
// positive whole number of seconds (0, negative, "soon") states nothing and is ignored.
// A JWT's exp, iat and nbf must be JSON numbers and iat not in the future, as for the
// id_token; a token already expired is refused rather than served once. Errors wrap
// ErrUnavailable: a provider that issues such tokens is broken, not the session.
func (c *Client) accessTokenExpiry(expiresIn json.RawMessage, accessToken string) (time.Time, error) {
	now := c.cfg.Now()
	limit := now.Add(maxLifetime)
	expiry, stated := limit, false
	if d, ok := parseExpiresIn(expiresIn); ok {
		expiry, stated = now.Add(d), true
	}
	tc, isJWT, err := jwtTimeClaims(accessToken)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: access token: %v", ErrUnavailable, err)
	}
	if isJWT {
		if err := tc.Check(now, c.cfg.ClockSkew, false); err != nil {
			return time.Time{}, fmt.Errorf("%w: access token: %v", ErrUnavailable, err)
		}
		if !tc.Expiry.IsZero() && tc.Expiry.Before(expiry) {
			expiry, stated = tc.Expiry, true
		}
	}
	if !stated {
		expiry = now.Add(defaultLifetime)
	}
	return expiry, nil
}

// capLifetime bounds how long a verified id_token is served from the cache: its exp, but
// never more than maxLifetime from now, whatever exp the provider wrote.
func (c *Client) capLifetime(exp time.Time) time.Time {
	if limit := c.cfg.Now().Add(maxLifetime); exp.After(limit) {
		return limit
	}
	return exp
}

// parseExpiresIn reads a positive number of seconds, bare or quoted, capped at
// maxLifetime before any arithmetic so that no value can overflow.
func parseExpiresIn(raw json.RawMessage) (time.Duration, bool) {
	text := string(raw)
	if unq, err := strconv.Unquote(text); err == nil {
		text = unq
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 1 {
		return 0, false
	}
	if f >= maxLifetime.Seconds() {
		return maxLifetime, true
	}
	return time.Duration(f) * time.Second, true
}

// jwtTimeClaims reads the time claims of a token that is a JWS compact JWT. An opaque
// token (not three base64url parts of a JSON object) has none: isJWT is false.
func jwtTimeClaims(token string) (tc TimeClaims, isJWT bool, err error) {
	tok, err := jwtpeek.Decode(token)
	if err != nil {
		return TimeClaims{}, false, nil
	}
	tc, err = ReadTimeClaims(tok.Payload)
	return tc, true, err
}
