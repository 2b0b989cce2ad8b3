package localkube

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestAuthConfigYAML checks the rendered AuthenticationConfiguration is YAML the API server
// can read: one authenticator per issuer, the CA kept intact, the AKS audience on Entra
// issuers and the aks:jwt: prefix in every structured mapping.
func TestAuthConfigYAML(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n")
	b, err := AuthConfig{
		Entra:      []Issuer{{URL: "https://127.0.0.1:1/t1/", CAPEM: ca}},
		Structured: []StructuredIssuer{{Issuer: Issuer{URL: "https://127.0.0.1:1/t2/v2.0", CAPEM: ca}, Audience: "client", TenantID: "t2"}},
	}.YAML()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Kind string `yaml:"kind"`
		JWT  []struct {
			Issuer struct {
				URL                  string   `yaml:"url"`
				Audiences            []string `yaml:"audiences"`
				CertificateAuthority string   `yaml:"certificateAuthority"`
			} `yaml:"issuer"`
			ClaimValidationRules []struct {
				Expression string `yaml:"expression"`
			} `yaml:"claimValidationRules"`
			ClaimMappings struct {
				Username struct {
					Expression string `yaml:"expression"`
				} `yaml:"username"`
				Groups struct {
					Expression string `yaml:"expression"`
				} `yaml:"groups"`
			} `yaml:"claimMappings"`
		} `yaml:"jwt"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("rendered config is not YAML: %v\n%s", err, b)
	}
	if doc.Kind != "AuthenticationConfiguration" || len(doc.JWT) != 2 {
		t.Fatalf("got kind %q with %d authenticators; want AuthenticationConfiguration with 2", doc.Kind, len(doc.JWT))
	}
	entra, structured := doc.JWT[0], doc.JWT[1]
	if entra.Issuer.CertificateAuthority != string(ca) || entra.Issuer.Audiences[0] != AKSServerAppID {
		t.Errorf("entra issuer: got CA %q audiences %q", entra.Issuer.CertificateAuthority, entra.Issuer.Audiences)
	}
	if structured.Issuer.Audiences[0] != "client" || len(structured.ClaimValidationRules) != 1 ||
		!strings.Contains(structured.ClaimValidationRules[0].Expression, `"t2"`) {
		t.Errorf("structured issuer: got %+v", structured)
	}
	for _, e := range []string{structured.ClaimMappings.Username.Expression, structured.ClaimMappings.Groups.Expression} {
		if !strings.Contains(e, AKSJWTPrefix) {
			t.Errorf("structured mapping %q lacks %s", e, AKSJWTPrefix)
		}
	}
}
