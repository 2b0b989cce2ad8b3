// Package idp is tokengate's OIDC client: discovery, the authorization URL with PKCE, the code
// exchange with id_token verification, and single-resource refreshes, with Entra ID's quirks.
package idp

import (
	"errors"
	"time"

	"github.com/tokengate/tokengate/internal/secret"
)

// Token is what one token-endpoint call returned. RefreshToken is empty when the provider did
// not rotate it; IDToken is empty on refreshes that did not return one.
type Token struct {
	AccessToken  secret.String
	RefreshToken secret.String
	IDToken      secret.String
	Expiry       time.Time
	// IDIssuer and IDSubject are a refresh's verified id_token's iss and subject (oid, else
	// sub, as Identity.Subject), empty when the answer had no id_token. OIDC Core 12.2: they
	// must be the session's, or the answer is not for this session.
	IDIssuer, IDSubject string
}

var (
	// ErrInvalidGrant means the refresh token (or code) is no longer accepted: revoked,
	// expired, or blocked by a sign-in-frequency policy. The session is over.
	ErrInvalidGrant = errors.New("identity provider rejected the grant")
	// ErrConsentRequired means the user or an admin has not consented to the resource.
	ErrConsentRequired = errors.New("consent required for the resource")
	// ErrInvalidClient means the provider rejected our client credentials: an operator error.
	ErrInvalidClient = errors.New("identity provider rejected the client credentials")
	// ErrUnavailable means the provider could not be reached or answered 5xx or garbage.
	// It is transient: a still-valid cached token may keep being used.
	ErrUnavailable = errors.New("identity provider unavailable")
	// ErrNotSent, always with ErrUnavailable, means the request never reached the provider
	// (the connection could not be made): a refresh token in it was certainly not spent.
	ErrNotSent = errors.New("request not sent")
)
