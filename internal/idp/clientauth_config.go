package idp

import (
	"fmt"

	"github.com/tokengate/tokengate/internal/config"
)

// ClientAuthFromConfig turns provider.clientAuth into the client's setting, reading the
// certificate and key files of clientAuth: certificate once (like the client secret file; a
// renewed certificate takes a restart). The federated token file of workloadIdentity is not
// read here: the client reads it on every token call, because it rotates.
func ClientAuthFromConfig(p config.Provider) (ClientAuthConfig, error) {
	out := ClientAuthConfig{Mode: p.ClientAuth}
	switch p.ClientAuth {
	case config.ClientAuthCertificate:
		cert, key, err := p.ClientCertificate()
		if err != nil {
			return out, fmt.Errorf("provider.certificate: %w", err)
		}
		out.Certificate, out.PrivateKey, out.Algorithm = cert, key, p.Certificate.Algorithm
	case config.ClientAuthWorkloadIdentity:
		out.TokenFile = p.WorkloadIdentity.TokenFile
	}
	return out, nil
}
