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
// plus the flights that make one replica at a time redeem a session's refresh token, each
// refresh token at most once. RedisStore implements it. Errors wrap ErrStoreUnavailable when
// the layer cannot be reached, and ErrNoSession with idp.ErrInvalidGrant when the session
// ended.
type SharedTokens interface {
	// Get returns the shared token for (sess, scope), if any, and the refresh token the
	// store holds for sess now with its generation, newer than sess's own after another
	// replica's refresh.
	Get(ctx context.Context, sess *Session, scope string) (SharedToken, error)
	// Set shares tok, a token that rotates nothing (the sign-in's).
	Set(ctx context.Context, sess *Session, scope string, tok idp.Token) error
	// Lock starts a flight: the right to redeem seen.RefreshToken, granted only while the
	// store is still at seen's generation and no other flight is under way. It returns nil
	// and no error when the caller must wait and Get again.
	Lock(ctx context.Context, sess *Session, seen SharedToken) (Flight, error)
}

// Flight is one replica's redemption of a session's refresh token. Exactly one of Commit and
// Release ends it.
type Flight interface {
	// Commit stores the refresh result (tok.RefreshToken: the refresh token to keep) with
	// the access token for scope, fenced: a flight whose session ended stores nothing and the
	// error wraps ErrNoSession; one overtaken by a newer flight stores nothing either.
	Commit(ctx context.Context, scope string, tok idp.Token) error
	// Release ends a flight whose refresh failed with cause.
	Release(ctx context.Context, cause error)
}

// SharedToken is what SharedTokens.Get found.
type SharedToken struct {
	// Token has AccessToken and Expiry; AccessToken is empty when nothing is shared.
	Token idp.Token
	// RefreshToken is the session's refresh token as the store holds it now.
	RefreshToken secret.String
	// Generation counts the refresh results stored for the session: it moves exactly when
	// RefreshToken may have.
	Generation int64

	stored *Session // the session as the store holds it, for the flight's write
}

// defaultSharedPoll is how often a replica waiting for another one's refresh looks again.
const defaultSharedPoll = 25 * time.Millisecond

// refreshAcross is refresh for a cache with a shared layer: take a token another replica
// already shared, else start a flight and redeem the refresh token the store holds, else
// wait (bounded by RefreshTimeout) for the other flight's result. Only a flight ever
// redeems, and the store grants one flight per generation, so a refresh token that rotates
// with reuse detection is spent once.
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
		if sh.RefreshToken.IsEmpty() {
			return nil, fmt.Errorf("refresh token for scope %s: session has no refresh token: %w", scope, idp.ErrInvalidGrant)
		}
		fl, err := c.opts.Shared.Lock(ctx, sess, sh)
		if err != nil {
			return nil, c.refreshFailed(key, scope, e, err)
		}
		if fl != nil {
			return c.refreshInFlight(ctx, key, sess, scope, e, fl, sh.RefreshToken)
		}
		select {
		case <-giveUp.C:
			err := fmt.Errorf("wait for another replica's refresh: %w", idp.ErrUnavailable)
			return nil, c.refreshFailed(key, scope, e, err)
		case <-time.After(c.opts.SharedPoll):
		}
	}
}

// refreshInFlight redeems rt within fl and stores the result through it. The flight renews
// its lock while the provider answers, so the refresh is bounded by RefreshTimeout alone.
func (c *TokenCache) refreshInFlight(ctx context.Context, key string, sess *Session, scope string, e *entry, fl Flight, rt secret.String) (*entry, error) {
	refreshCtx, cancel := context.WithTimeout(ctx, c.opts.RefreshTimeout)
	tok, err := c.refresher.Refresh(refreshCtx, rt, scope)
	cancel()
	if err == nil {
		err = sameUser(sess, tok)
	}
	if err != nil {
		fl.Release(ctx, err)
		return nil, c.refreshFailed(key, scope, e, fmt.Errorf("refresh token for scope %s: %w", scope, err))
	}
	rotated := !tok.RefreshToken.IsEmpty() && tok.RefreshToken != rt
	if tok.RefreshToken.IsEmpty() {
		tok.RefreshToken = rt // not rotated: the one spent stays the one to keep
	}
	switch err := fl.Commit(ctx, scope, tok); {
	case errors.Is(err, ErrNoSession):
		// Signed out while we refreshed: the new tokens belong to nobody.
		c.cache.Del(key)
		return nil, fmt.Errorf("refresh token for scope %s: %w: %w", scope, err, idp.ErrInvalidGrant)
	case errors.Is(err, errOvertaken):
		// Another replica took over after this one stalled (no reuse detection): the store
		// holds its result; this access token is still good here.
		c.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "a refresh finished after another replica took it over",
			slog.String("subject", sess.Subject), slog.String("scope", scope))
	case err != nil:
		// The access token is good. The result waits on this replica for Redis; the other
		// replicas wait on the flight it recorded, and never spend the old refresh token.
		c.opts.Logger.LogAttrs(ctx, slog.LevelError, "could not store the refreshed token yet; it is kept on this replica",
			slog.String("subject", sess.Subject), slog.String("scope", scope),
			slog.Bool("rotated", rotated), slog.Any("error", err))
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
