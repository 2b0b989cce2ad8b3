package devidp

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// metadata is the subset of Entra's OpenID configuration that devidp actually implements.
// It deliberately lists only what works here (response type "code", response mode
// "query") so that a client relying on something else fails against devidp too.
// code_challenge_methods_supported is omitted because Entra does not publish it either:
// tokengate must send S256 PKCE without being told.
type metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	TenantRegionScope                 string   `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	MSGraphHost                       string   `json:"msgraph_host"`
}

func (p *Provider) buildDocuments() error {
	v2 := metadata{
		Issuer:                           p.Issuer(),
		AuthorizationEndpoint:            p.base + "/oauth2/v2.0/authorize",
		TokenEndpoint:                    p.tokenEndpoint(),
		JWKSURI:                          p.base + "/discovery/v2.0/keys",
		EndSessionEndpoint:               p.base + "/oauth2/v2.0/logout",
		ResponseTypesSupported:           []string{"code"},
		ResponseModesSupported:           []string{"query"},
		SubjectTypesSupported:            []string{"pairwise"},
		IDTokenSigningAlgValuesSupported: []string{"RS256"},
		// Entra's list; private_key_jwt covers certificate and federated assertions
		// (assertion.go).
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		ClaimsSupported: []string{"sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "sid",
			"preferred_username", "name", "email", "oid", "tid", "ver", "uti"},
		HTTPLogoutSupported:         true,
		FrontchannelLogoutSupported: false,
		TenantRegionScope:           "EU",
		CloudInstanceName:           "microsoftonline.com",
		MSGraphHost:                 "graph.microsoft.com",
	}
	// The v1 document exists so v1 access tokens (iss BaseURL/<tenant>/) can be verified
	// with go-oidc. Entra's v1 document names the v1 protocol endpoints; devidp implements
	// only the v2 ones, so it names those rather than URLs that would 404.
	v1 := v2
	v1.Issuer = p.AccessTokenIssuer()
	v1.JWKSURI = p.stsBase + "/discovery/keys"
	var err error
	if p.metadataV2, err = json.Marshal(v2); err != nil {
		return fmt.Errorf("marshal v2 metadata: %w", err)
	}
	if p.metadataV1, err = json.Marshal(v1); err != nil {
		return fmt.Errorf("marshal v1 metadata: %w", err)
	}
	if p.jwks, err = p.key.jwksJSON(); err != nil {
		return err
	}
	return nil
}

func (p *Provider) tokenEndpoint() string { return p.base + "/oauth2/v2.0/token" }

func (p *Provider) serveJSON(doc []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=86400, private")
		_, _ = w.Write(doc)
	}
}
