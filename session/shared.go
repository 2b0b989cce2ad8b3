package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

// SharedTokens is a token layer every replica sees (level 2 behind the in-memory cache),
// plus the lock that makes one replica at a time redeem a session's refresh token.
// RedisStore implements it. Errors wrap ErrStoreUnavailable when the layer cannot be
// reached, and ErrNoSession (with idp.ErrInvalidGrant from Get) when the session ended.
type SharedTokens interface {
	// Get returns the shared token for (sess, scope), if any, and the refresh token the
	// store holds for sess now, which is newer than sess's own after another replica's
	// refresh.
	Get(ctx context.Context, sess *Session, scope string) (SharedToken, error)
	// Set shares tok; a non-empty tok.RefreshToken (rotated) replaces the session's refresh
	// token atomically with the new access token.
	Set(ctx context.Context, sess *Session, scope string, tok idp.Token) error
	// Lock takes the refresh lock of sess for lease; lease is 0 when another replica holds
	// it. unlock releases it if it is still held.
	Lock(ctx context.Context, sess *Session) (unlock func(), lease time.Duration, err error)
}

// SharedToken is what SharedTokens.Get found.
type SharedToken struct {
	// Token has AccessToken and Expiry; AccessToken is empty when nothing is shared.
	Token idp.Token
	// RefreshToken is the session's refresh token as the store holds it now.
	RefreshToken secret.String
}

// defaultSharedPoll is how often a replica waiting for another one's refresh looks again.
const defaultSharedPoll = 25 * time.Millisecond

// refreshAcross is refresh for a cache with a shared layer: take a token another replica
// already shared, else take the session's lock and redeem the refresh token the store holds,
// else wait (bounded by RefreshTimeout) for the lock holder's token. Only the lock holder
// ever redeems, so a refresh token that rotates with reuse detection is spent once.
func (c *TokenCache) refreshAcross(ctx context.Context, key string, sess *Session, scope string, e *entry) (*entry, error) {
	// Every call below has its own timeout; the wait for another replica is bounded apart,
	// in real time, since it waits on another process, not on a token's expiry.
	ctx = context.WithoutCancel(ctx)
	giveUp := time.NewTimer(c.opts.RefreshTimeout)
	defer giveUp.Stop()
	for {
		sh, err := c.opts.Shared.Get(ctx, sess, scope)
		if err != nil {
			return nil, c.refreshFailed(key, scope, e, err)
		}
		if c.adoptable(sh, e) {
			return c.adopt(key, sess, sh.Token, e), nil
		}
		unlock, lease, err := c.opts.Shared.Lock(ctx, sess)
		if err != nil {
			return nil, c.refreshFailed(key, scope, e, err)
		}
		if lease > 0 {
			defer unlock()
			return c.refreshLocked(ctx, key, sess, scope, e, lease)
		}
		select {
		case <-giveUp.C:
			err := fmt.Errorf("wait for another replica's refresh: %w", idp.ErrUnavailable)
			return nil, c.refreshFailed(key, scope, e, err)
		case <-time.After(c.opts.SharedPoll):
		}
	}
}

// refreshLocked redeems the store's refresh token while holding the lock, and shares the
// result. The refresh is bounded by the lease so that it never outlives the lock.
func (c *TokenCache) refreshLocked(ctx context.Context, key string, sess *Session, scope string, e *entry, lease time.Duration) (*entry, error) {
	leaseEnds := time.Now().Add(lease * 9 / 10) // the lease runs from the lock, not the refresh
	// Look again: the previous holder may have shared a token between our Get and Lock.
	sh, err := c.opts.Shared.Get(ctx, sess, scope)
	if err != nil {
		return nil, c.refreshFailed(key, scope, e, err)
	}
	if c.adoptable(sh, e) {
		return c.adopt(key, sess, sh.Token, e), nil
	}
	rt := sh.RefreshToken
	if rt.IsEmpty() {
		return nil, fmt.Errorf("refresh token for scope %s: session has no refresh token: %w", scope, idp.ErrInvalidGrant)
	}
	refreshCtx, cancel := context.WithTimeout(ctx, min(c.opts.RefreshTimeout, time.Until(leaseEnds)))
	tok, err := c.refresher.Refresh(refreshCtx, rt, scope)
	cancel()
	if err != nil {
		return nil, c.refreshFailed(key, scope, e, fmt.Errorf("refresh token for scope %s: %w", scope, err))
	}
	if tok.RefreshToken == rt {
		tok.RefreshToken = "" // not rotated
	}
	if err := c.opts.Shared.Set(ctx, sess, scope, tok); err != nil {
		if errors.Is(err, ErrNoSession) {
			// Signed out while we refreshed: the new tokens belong to nobody.
			c.cache.Del(key)
			return nil, fmt.Errorf("refresh token for scope %s: %w: %w", scope, err, idp.ErrInvalidGrant)
		}
		// The access token is good; only other replicas miss it. A rotated refresh token
		// that did not reach the store is lost to them: say so loudly.
		c.opts.Logger.LogAttrs(ctx, slog.LevelError, "could not share the refreshed token",
			slog.String("subject", sess.Subject), slog.String("scope", scope),
			slog.Bool("rotated", !tok.RefreshToken.IsEmpty()), slog.Any("error", err))
	}
	if tok.RefreshToken.IsEmpty() {
		tok.RefreshToken = rt
	}
	return c.storeIssued(ctx, key, scope, sess.RefreshToken, tok), nil
}

// adoptable reports whether a shared token can be used instead of refreshing: it is not past
// the safety margin, and it is newer than the one this replica has (a token in the
// refresh-ahead window that this replica also has is what it is about to replace).
func (c *TokenCache) adoptable(sh SharedToken, e *entry) bool {
	if sh.Token.AccessToken.IsEmpty() || !c.opts.Now().Before(sh.Token.Expiry.Add(-c.marginsForShared(e, sh.Token.Expiry).safety)) {
		return false
	}
	return e == nil || sh.Token.Expiry.After(e.expiry)
}

// adopt caches a token another replica shared, in place of e.
func (c *TokenCache) adopt(key string, sess *Session, tok idp.Token, e *entry) *entry {
	m := c.marginsForShared(e, tok.Expiry)
	lifetime := tok.Expiry.Sub(c.opts.Now())
	if e != nil && e.lifetime > 0 {
		lifetime = e.lifetime
	}
	return c.storeWith(key, sess.RefreshToken, tok, lifetime, m)
}

// refreshFailed records a failed refresh of key and returns err: a dead session drops the
// entry; a transient failure makes Get serve the still-valid entry Stale for a while.
func (c *TokenCache) refreshFailed(key, scope string, e *entry, err error) error {
	switch {
	case errors.Is(err, idp.ErrInvalidGrant):
		c.cache.Del(key)
	case transient(err) && e != nil:
		e.failedUntil.Store(c.opts.Now().Add(c.opts.RefreshTimeout).UnixNano())
	}
	return err
}

// transient reports whether err is an outage (identity provider or session store) during
// which a still-valid cached token may keep being served.
func transient(err error) bool {
	return errors.Is(err, idp.ErrUnavailable) || errors.Is(err, ErrStoreUnavailable)
}

// shareSeed shares the sign-in's access token, so the first /auth on any replica is served
// without a refresh. The sign-in's refresh token is already in the saved session.
func (c *TokenCache) shareSeed(sess *Session, scope string, tok idp.Token) {
	tok.RefreshToken = ""
	if err := c.opts.Shared.Set(context.Background(), sess, scope, tok); err != nil {
		c.opts.Logger.LogAttrs(context.Background(), slog.LevelWarn, "could not share the sign-in token",
			slog.String("subject", sess.Subject), slog.String("scope", scope), slog.Any("error", err))
	}
}
