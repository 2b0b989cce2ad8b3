package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/devidp"
)

// akToken is what a dashboard got in Authorization, verified like the AKS API server does.
type akToken struct {
	Raw    string
	Claims struct {
		Audience string `json:"aud"`
		Issuer   string `json:"iss"`
		Version  string `json:"ver"`
		UPN      string `json:"upn"`
		Expiry   int64  `json:"exp"`
	}
}

// Expiry is the token's exp as a time.
func (k akToken) Expiry() time.Time { return time.Unix(k.Claims.Expiry, 0) }

// verifyBearer checks that header is "Bearer <JWT>" signed by the provider's v1 issuer
// for the AKS server application, and returns the token. Expiry is checked by the caller
// against the moment the dashboard received it.
func verifyBearer(t *testing.T, idp *devidp.Provider, header string) akToken {
	t.Helper()
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || strings.Count(raw, ".") != 2 {
		t.Fatalf("Authorization is not a bearer JWT (%d bytes)", len(header))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(ctx, idp.AccessTokenIssuer())
	mustf(t, err, "discover the v1 issuer %s", idp.AccessTokenIssuer())
	verifier := provider.Verifier(&oidc.Config{ClientID: config.AKSServerAppID, SkipExpiryCheck: true})
	tok, err := verifier.Verify(ctx, raw)
	mustf(t, err, "verify the dashboard's access token as AKS would")
	k := akToken{Raw: raw}
	mustf(t, tok.Claims(&k.Claims), "access token claims")
	return k
}
