package doctor

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/testfix"
)

// The credentials check uses the configured client authentication, so a workload-identity
// setup with no secret anywhere is judged by the same probe.
func TestCheckCredentialsWorkloadIdentity(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const issuer, subject = "https://oidc.aks.example/cluster-1/", "system:serviceaccount:tokengate:tokengate"
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	p, err := devidp.New(devidp.Config{BaseURL: srv.URL, Clients: []devidp.Client{{
		ID: testClientID, RedirectURIs: []string{"https://auth.example.com/oauth2/callback"},
		FederatedCredentials: []devidp.FederatedCredential{{Issuer: issuer, Subject: subject, Key: &key.PublicKey}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p.Handler()

	tests := []struct {
		name    string
		subject string
		want    string
	}{
		{name: "federated credential matches", subject: subject, want: "✓ client credentials — accepted"},
		{name: "wrong service account", subject: "system:serviceaccount:default:default", want: "✗ client credentials — no federated credential matches the token's issuer, subject and audience (AADSTS70021)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			federated := testfix.Federated{Issuer: issuer, Subject: tc.subject, Audience: devidp.DefaultFederatedAudience,
				IssuedAt: time.Now()}.Sign(t, key, jose.RS256)
			tokenFile := writeFile(t, "azure-identity-token", federated)
			yaml := strings.NewReplacer("ISSUER", p.Issuer(), "TOKENFILE", tokenFile, "CLIENT", testClientID, "KEY", randomKey(t)).Replace(`publicURL: https://auth.example.com
provider:
  issuerURL: ISSUER
  clientID: CLIENT
  clientAuth: workloadIdentity
  workloadIdentity:
    tokenFile: TOKENFILE
cookie:
  secrets: [KEY]
`)
			rep := CheckConfig(t.Context(), Options{ConfigPath: writeFile(t, "tokengate.yaml", yaml)})
			out := reportText(t, rep)
			checkOutput(t, out, []string{tc.want}, []string{federated})
		})
	}
}
