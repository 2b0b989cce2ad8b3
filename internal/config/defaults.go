package config

import (
	"time"

	"github.com/tokengate/tokengate/internal/forward"
)

// Defaults returns the configuration tokengate runs with when a key is not set. It is the one
// place defaults live: Load starts from it, so a key set explicitly to zero (token.safetyMargin:
// 0s) stays zero instead of being mistaken for "unset".
func Defaults() Config {
	return Config{
		Listen: ":4180",
		Provider: Provider{
			ClientAuthMethod: AuthClientSecretPost,
			ClientAuth:       ClientAuthSecret,
			Certificate:      ClientCertificate{Algorithm: AlgRS256},
			// offline_access: Entra returns no refresh token without it, and without a refresh
			// token every access token expiry (60–90 min) would be a new sign-in.
			Scopes:        []string{"openid", "profile", "email", "offline_access"},
			ResourceScope: DefaultResourceScope,
			Timeout:       10 * time.Second,
			GraphURL:      "https://graph.microsoft.com",
			ClockSkew:     2 * time.Minute, // idp.DefaultClockSkew
		},
		Cookie: Cookie{Name: "_tokengate"},
		Session: Session{
			Lifetime:      12 * time.Hour,
			SignInTimeout: 10 * time.Minute,
			Store:         StoreCookie,
		},
		Redis: Redis{
			Timeout:         500 * time.Millisecond,
			SessionCacheTTL: 5 * time.Second,
			LockTTL:         10 * time.Second,
		},
		Token: Token{
			SafetyMargin: 60 * time.Second,
			RefreshAhead: 5 * time.Minute,
			// CacheMaxBytes 0: sized from the memory limit at start (internal/membudget).
			IdPCallsPerSecond: 50,
			IdPBurst:          100,
		},
		ForwardAuth: ForwardAuth{Mode: forward.ModeAuto},
		Log:         Log{Level: "info", Format: "json"},
		Tracing:     Tracing{StepSpans: StepSpansAuto},
	}
}
