package idp

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/tokengate/tokengate/internal/jwtpeek"
)

// Identity is who signed in, taken from the verified id_token and, for groups the id_token
// does not carry (Entra's default), from the access token of the same token response.
type Identity struct {
	Issuer            string
	Subject           string // oid when present (stable across apps), else sub
	TenantID          string
	Name              string
	PreferredUsername string
	Email             string
	SID               string
	Groups            []string
	// GroupsOverage is true when Entra replaced the groups claim by a pointer to Graph
	// (more than 200 groups): Groups is then incomplete.
	GroupsOverage bool
}

// tokenClaims is the union of the id_token and access token claims tokengate reads.
type tokenClaims struct {
	Issuer            string          `json:"iss"`
	Subject           string          `json:"sub"`
	OID               string          `json:"oid"`
	TenantID          string          `json:"tid"`
	Name              string          `json:"name"`
	PreferredUsername string          `json:"preferred_username"`
	UPN               string          `json:"upn"`
	UniqueName        string          `json:"unique_name"`
	Email             string          `json:"email"`
	SID               string          `json:"sid"`
	Nonce             string          `json:"nonce"`
	Groups            []string        `json:"groups"`
	ClaimNames        map[string]any  `json:"_claim_names"`
	Audience          json.RawMessage `json:"aud"`
	Expiry            json.Number     `json:"exp"`
}

func (c tokenClaims) overage() bool {
	_, ok := c.ClaimNames["groups"]
	return ok
}

// AccessTokenInfo is what a person may be told about an access token: never the token.
type AccessTokenInfo struct {
	Audience []string
	Issuer   string
	Expiry   time.Time
}

// DescribeAccessToken reads the audience, issuer and expiry of a JWT access token without
// checking its signature; it is for display only. Opaque tokens give an error.
func DescribeAccessToken(raw string) (AccessTokenInfo, error) {
	c, err := decodeUnverified(raw)
	if err != nil {
		return AccessTokenInfo{}, err
	}
	info := AccessTokenInfo{Issuer: c.Issuer, Audience: c.audiences()}
	if secs, err := c.Expiry.Int64(); err == nil {
		info.Expiry = time.Unix(secs, 0).UTC()
	}
	return info, nil
}

func (c tokenClaims) audiences() []string {
	var one string
	if json.Unmarshal(c.Audience, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(c.Audience, &many) // absent or malformed: no audience to show
	return many
}

var errNotJWT = errors.New("token is not a JWT")

// decodeUnverified reads a JWT's claims without verifying it. Only for tokens received
// directly from the token endpoint over TLS (OIDC Core 3.1.3.7 allows TLS server validation
// in that case), and for display.
func decodeUnverified(raw string) (tokenClaims, error) {
	var c tokenClaims
	if err := jwtpeek.Claims(raw, &c); err != nil {
		return tokenClaims{}, errNotJWT
	}
	return c, nil
}

// identityFrom builds the Identity from the verified id_token claims and, when the id_token
// has no groups, the access token's claims (Entra puts groups into the AKS token).
func identityFrom(id tokenClaims, access *tokenClaims) Identity {
	ident := Identity{
		Issuer:            id.Issuer,
		Subject:           firstNonEmpty(id.OID, id.Subject),
		TenantID:          id.TenantID,
		Name:              id.Name,
		PreferredUsername: firstNonEmpty(id.PreferredUsername, id.UPN, id.Email),
		Email:             id.Email,
		SID:               id.SID,
		Groups:            id.Groups,
		GroupsOverage:     id.overage(),
	}
	if ident.Groups == nil && !ident.GroupsOverage && access != nil && sameUser(id, *access) {
		ident.Groups = access.Groups
		ident.GroupsOverage = access.overage()
	}
	return ident
}

// sameUser guards against mixing claims of two principals: both tokens must name one oid.
func sameUser(id, access tokenClaims) bool {
	return id.OID != "" && id.OID == access.OID
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
