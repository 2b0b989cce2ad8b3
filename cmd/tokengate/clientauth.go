package main

import (
	"fmt"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/idp"
)

// clientAuthOf turns provider.clientAuth into the identity-provider client's setting,
// reading the certificate and key files of clientAuth: certificate once, at start (like
// the client secret file; a renewed certificate takes a restart). The federated token file
// of workloadIdentity is not read here: the client reads it on every token call.
func clientAuthOf(p config.Provider) (idp.ClientAuthConfig, error) {
	out := idp.ClientAuthConfig{Mode: p.ClientAuth}
	switch p.ClientAuth {
	case config.ClientAuthCertificate:
		cert, key, err := p.ClientCertificate()
		if err != nil {
			return out, fmt.Errorf("%w: %v", errUsage, err)
		}
		out.Certificate, out.PrivateKey, out.Algorithm = cert, key, p.Certificate.Algorithm
	case config.ClientAuthWorkloadIdentity:
		out.TokenFile = p.WorkloadIdentity.TokenFile
	}
	return out, nil
}
