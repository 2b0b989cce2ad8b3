package main

import (
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/idp"
)

// clientAuthOf is idp.ClientAuthFromConfig with its errors marked as configuration errors
// (exit status 2).
func clientAuthOf(p config.Provider) (idp.ClientAuthConfig, error) {
	out, err := idp.ClientAuthFromConfig(p)
	if err != nil {
		return out, usageErr("%w", err)
	}
	return out, nil
}
