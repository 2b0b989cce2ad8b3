// Package session holds who is signed in and the tokens that go with them: the Session type,
// the AES-256-GCM codec that seals it, the cookie store that carries it between requests, and
// the in-memory token cache that turns a session into an access token on every /auth.
//
// The access token never goes into the cookie: it lives only in each replica's TokenCache,
// keyed by Session.ID, and is refreshed from the session's refresh token when it runs out.
package session

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/internal/secret"
)

// Session is one signed-in user. It never holds an access token.
type Session struct {
	// ID is a random 256-bit value, base64url; it keys the token cache and, with the Redis
	// store, is the secret the cookie carries.
	ID string
	// Subject is the stable user key: the Entra oid claim, else sub.
	Subject  string
	TenantID string
	Issuer   string

	Name, PreferredUsername, Email string
	// Groups are the group object ids from the id_token (or resolved after an overage).
	Groups []string
	// GroupsOverage is true when Entra sent a pointer to Graph instead of the groups (more
	// than 200): Groups is then incomplete, and allow-lists by group need a Graph lookup.
	GroupsOverage bool
	// SID is the id_token's sid, which front-channel logout names.
	SID string
	// RefreshToken is the newest refresh token known when the session was last saved.
	RefreshToken secret.String
	// CreatedAt is when the user signed in; ExpiresAt is the absolute end of the session.
	CreatedAt, ExpiresAt time.Time
}

// Expired reports whether the session's absolute lifetime is over at now.
func (s *Session) Expired(now time.Time) bool { return !now.Before(s.ExpiresAt) }

var (
	// ErrInvalid means a sealed value was tampered with, sealed with a key or for a purpose we
	// do not know, truncated, oversize or otherwise not ours.
	ErrInvalid = errors.New("sealed value is invalid")
	// ErrExpired means a sealed value or a session is past its expiry.
	ErrExpired = errors.New("sealed value has expired")
	// ErrNoSession means the request carries no usable session. It wraps the cause (for
	// example ErrInvalid or ErrExpired) for logs; the answer is the same: sign in again.
	ErrNoSession = errors.New("no session")
	// ErrTooLarge means a session is too large to keep (its sealed form, or the cookies it
	// would need): the identity provider sent more claims than a session can carry.
	ErrTooLarge = errors.New("session too large")
)

// idBytes is the entropy of a session id: 256 bits. With the Redis store the id alone is the
// bearer credential in the cookie, so it gets a key's strength, not just uniqueness.
const idBytes = 32

// NewID returns a fresh random session id, 43 characters of unpadded base64url.
func NewID() (string, error) {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random session id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
