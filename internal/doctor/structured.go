package doctor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"gopkg.in/yaml.v3"
)

// AuthenticationConfiguration is the part of a Kubernetes AuthenticationConfiguration
// (apiserver.config.k8s.io, structured authentication) that decides who a JWT is: the JWT
// authenticators. AKS uses it for non-Entra issuers.
type AuthenticationConfiguration struct {
	APIVersion string             `yaml:"apiVersion"`
	Kind       string             `yaml:"kind"`
	JWT        []JWTAuthenticator `yaml:"jwt"`
	// Anonymous is accepted so that real files parse; doctor does not judge it.
	Anonymous any `yaml:"anonymous"`
}

// JWTAuthenticator is one entry of jwt: an issuer and how its tokens become a user.
type JWTAuthenticator struct {
	Issuer               JWTIssuer             `yaml:"issuer"`
	ClaimValidationRules []ClaimValidationRule `yaml:"claimValidationRules"`
	ClaimMappings        ClaimMappings         `yaml:"claimMappings"`
	UserValidationRules  []UserValidationRule  `yaml:"userValidationRules"`
}

// JWTIssuer says whose tokens an authenticator accepts and for which audiences.
type JWTIssuer struct {
	URL                  string   `yaml:"url"`
	DiscoveryURL         string   `yaml:"discoveryURL"`
	CertificateAuthority string   `yaml:"certificateAuthority"`
	Audiences            []string `yaml:"audiences"`
	AudienceMatchPolicy  string   `yaml:"audienceMatchPolicy"`
	EgressSelectorType   string   `yaml:"egressSelectorType"`
}

// ClaimValidationRule is a condition every token must meet: a claim with a required value,
// or a CEL expression over claims with a message.
type ClaimValidationRule struct {
	Claim         string `yaml:"claim"`
	RequiredValue string `yaml:"requiredValue"`
	Expression    string `yaml:"expression"`
	Message       string `yaml:"message"`
}

// ClaimMappings turn claims into the user's attributes.
type ClaimMappings struct {
	Username PrefixedClaimOrExpression `yaml:"username"`
	Groups   PrefixedClaimOrExpression `yaml:"groups"`
	UID      ClaimOrExpression         `yaml:"uid"`
	Extra    []ExtraMapping            `yaml:"extra"`
}

// PrefixedClaimOrExpression is a claim plus a prefix, or a CEL expression. Kubernetes
// requires the prefix to be set (possibly empty) whenever claim is.
type PrefixedClaimOrExpression struct {
	Claim      string  `yaml:"claim"`
	Prefix     *string `yaml:"prefix"`
	Expression string  `yaml:"expression"`
}

// ClaimOrExpression is a claim or a CEL expression.
type ClaimOrExpression struct {
	Claim      string `yaml:"claim"`
	Expression string `yaml:"expression"`
}

// ExtraMapping maps a CEL expression to one key of the user's extra attributes.
type ExtraMapping struct {
	Key             string `yaml:"key"`
	ValueExpression string `yaml:"valueExpression"`
}

// UserValidationRule is a CEL expression over the mapped user that must hold.
type UserValidationRule struct {
	Expression string `yaml:"expression"`
	Message    string `yaml:"message"`
}

// authenticationAPIVersions are the versions whose JWT authenticators have this shape.
var authenticationAPIVersions = []string{
	"apiserver.config.k8s.io/v1alpha1", "apiserver.config.k8s.io/v1beta1", "apiserver.config.k8s.io/v1",
}

// ParseAuthenticationConfiguration reads an AuthenticationConfiguration in YAML or JSON.
// Unknown keys are errors, as they are for the API server.
func ParseAuthenticationConfiguration(data []byte) (*AuthenticationConfiguration, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var ac AuthenticationConfiguration
	if err := dec.Decode(&ac); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("structured authentication: the file is empty")
		}
		return nil, fmt.Errorf("structured authentication: %w", err)
	}
	if ac.Kind != "AuthenticationConfiguration" {
		return nil, fmt.Errorf("structured authentication: kind is %q; want AuthenticationConfiguration", ac.Kind)
	}
	if !slices.Contains(authenticationAPIVersions, ac.APIVersion) {
		return nil, fmt.Errorf("structured authentication: apiVersion %q; want apiserver.config.k8s.io/v1beta1 or v1", ac.APIVersion)
	}
	if len(ac.JWT) == 0 {
		return nil, errors.New("structured authentication: jwt lists no authenticator")
	}
	for i, a := range ac.JWT {
		if err := a.validate(); err != nil {
			return nil, fmt.Errorf("structured authentication: jwt[%d].%w", i, err)
		}
	}
	return &ac, nil
}

// validate enforces the API server's structural rules, so that doctor never maps a user
// with a configuration the cluster would refuse to load.
func (a JWTAuthenticator) validate() error {
	if a.Issuer.URL == "" {
		return errors.New("issuer.url: required")
	}
	if len(a.Issuer.Audiences) == 0 {
		return errors.New("issuer.audiences: at least one is required")
	}
	if err := a.ClaimMappings.Username.validate(true); err != nil {
		return fmt.Errorf("claimMappings.username%w", err)
	}
	if err := a.ClaimMappings.Groups.validate(false); err != nil {
		return fmt.Errorf("claimMappings.groups%w", err)
	}
	if a.ClaimMappings.UID.Claim != "" && a.ClaimMappings.UID.Expression != "" {
		return errors.New("claimMappings.uid: set claim or expression, not both")
	}
	for i, r := range a.ClaimValidationRules {
		if (r.Claim == "") == (r.Expression == "") {
			return fmt.Errorf("claimValidationRules[%d]: set claim or expression, exactly one", i)
		}
	}
	for i, e := range a.ClaimMappings.Extra {
		if e.Key == "" || e.ValueExpression == "" {
			return fmt.Errorf("claimMappings.extra[%d]: key and valueExpression are required", i)
		}
	}
	return nil
}

func (m PrefixedClaimOrExpression) validate(required bool) error {
	switch {
	case m.Claim != "" && m.Expression != "":
		return errors.New(": set claim or expression, not both")
	case m.Claim == "" && m.Expression == "" && required:
		return errors.New(": set claim (with prefix) or expression")
	case m.Claim != "" && m.Prefix == nil:
		return errors.New(".prefix: required when claim is set (it may be \"\")")
	case m.Expression != "" && m.Prefix != nil:
		return errors.New(".prefix: not allowed with expression; put the prefix in the expression")
	}
	return nil
}
