package localkube

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// AKSServerAppID is the audience of every Entra access token the AKS API server accepts.
const AKSServerAppID = "6dae42f8-4368-4678-94ff-3960e28e3630"

// AKSJWTPrefix is what AKS structured authentication requires at the start of every username
// and group it maps from a non-Entra issuer.
const AKSJWTPrefix = "aks:jwt:"

// Issuer is a JWT issuer the API server trusts, reached over https with discovery.
type Issuer struct {
	// URL is the issuer exactly as in the tokens' iss (and its discovery document).
	URL string
	// CAPEM is the certificate authority of the issuer's https server.
	CAPEM []byte
}

// StructuredIssuer is a non-Entra issuer in the shape of AKS structured authentication: its
// id_tokens (audience = the client id) are accepted, the tenant is checked by a CEL rule, and
// the username (sub) and groups are mapped with the aks:jwt: prefix.
type StructuredIssuer struct {
	Issuer
	Audience string
	// TenantID is the only tid the claim validation rule admits.
	TenantID string
}

// AuthConfig is the cluster's structured authentication: what AKS does for Entra users
// (username upn, else oid; groups from groups) for each Entra issuer, and what AKS
// structured authentication does for each non-Entra one.
type AuthConfig struct {
	Entra      []Issuer
	Structured []StructuredIssuer
}

// authTemplate is the AuthenticationConfiguration the API server loads. It is what the README
// shows under "does it work with my cluster".
var authTemplate = template.Must(template.New("auth").Funcs(template.FuncMap{
	"indent": func(n int, s []byte) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(strings.TrimRight(string(s), "\n"), "\n", "\n"+pad)
	},
}).Parse(`apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt:
{{- range .Entra}}
# Entra ID v1 access tokens for the AKS server application, named as AKS names them.
- issuer:
    url: {{.URL}}
    audiences: ["{{$.AKSServerAppID}}"]
    certificateAuthority: |
{{indent 6 .CAPEM}}
  claimMappings:
    username:
      expression: 'has(claims.upn) ? claims.upn : claims.oid'
    groups:
      claim: groups
      prefix: ""
{{- end}}
{{- range .Structured}}
# A non-Entra issuer as AKS structured authentication takes it: the id_token, one tenant,
# every username and group prefixed with aks:jwt:.
- issuer:
    url: {{.URL}}
    audiences: ["{{.Audience}}"]
    certificateAuthority: |
{{indent 6 .CAPEM}}
  claimValidationRules:
  - expression: 'claims.tid == "{{.TenantID}}"'
    message: the token comes from another tenant
  claimMappings:
    username:
      expression: '"{{$.Prefix}}" + claims.sub'
    groups:
      expression: 'has(claims.groups) ? dyn(claims.groups).map(g, "{{$.Prefix}}" + g) : []'
{{- end}}
`))

// YAML renders the AuthenticationConfiguration.
func (a AuthConfig) YAML() ([]byte, error) {
	if len(a.Entra)+len(a.Structured) == 0 {
		return nil, fmt.Errorf("authentication config: no issuer")
	}
	var b bytes.Buffer
	err := authTemplate.Execute(&b, struct {
		AuthConfig
		AKSServerAppID, Prefix string
	}{a, AKSServerAppID, AKSJWTPrefix})
	if err != nil {
		return nil, fmt.Errorf("render authentication config: %w", err)
	}
	return b.Bytes(), nil
}
