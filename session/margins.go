package session

import (
	"context"
	"log/slog"
	"time"
)

// margins are the safety margin and refresh-ahead window applied to one cached token.
type margins struct {
	safety, ahead time.Duration
}

// marginsFor returns the margins for a token that lives lifetime. The configured margins
// apply unless they would leave the token fresh for less than half its life: a provider
// issuing 60-second tokens under the default 60s + 5m would make every request refresh.
// Then both shrink to a sixth and a third of the lifetime (never above the configured
// ones), so the token is served as is for half its life and refreshed ahead for a third.
func (c *TokenCache) marginsFor(lifetime time.Duration) margins {
	m := margins{safety: c.opts.SafetyMargin, ahead: c.opts.RefreshAhead}
	if lifetime <= 0 || m.safety+m.ahead <= lifetime/2 {
		return m
	}
	return margins{safety: min(m.safety, lifetime/6), ahead: min(m.ahead, lifetime/3)}
}

// marginsFromProvider is marginsFor for a token the identity provider just issued, whose
// lifetime is therefore known exactly. The first time it scales the margins it says so,
// once per cache, at warn: the operator may prefer to choose the margins.
func (c *TokenCache) marginsFromProvider(ctx context.Context, scope string, lifetime time.Duration) margins {
	m := c.marginsFor(lifetime)
	if m.safety == c.opts.SafetyMargin && m.ahead == c.opts.RefreshAhead {
		return m
	}
	if c.shortWarned.CompareAndSwap(false, true) {
		c.opts.Logger.LogAttrs(ctx, slog.LevelWarn,
			"token lifetime is short for token.safetyMargin + token.refreshAhead; scaling both for such tokens",
			slog.String("scope", scope), slog.Duration("lifetime", lifetime.Round(time.Second)),
			slog.Duration("configured_safety_margin", c.opts.SafetyMargin),
			slog.Duration("configured_refresh_ahead", c.opts.RefreshAhead),
			slog.Duration("used_safety_margin", m.safety), slog.Duration("used_refresh_ahead", m.ahead),
			slog.String("how_to_configure", "set token.safetyMargin and token.refreshAhead so that together they are at most half the token lifetime"))
	}
	return m
}

// marginsForShared is marginsFor for a token another replica shared: its lifetime is not
// known. The entry it replaces tells it when there is one; otherwise what is left of it is
// a lower bound, which can only make the margins smaller, never serve a dead token.
func (c *TokenCache) marginsForShared(e *entry, expiry time.Time) margins {
	if e != nil && e.lifetime > 0 {
		return c.marginsFor(e.lifetime)
	}
	return c.marginsFor(expiry.Sub(c.opts.Now()))
}
