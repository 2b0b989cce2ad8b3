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

// sharedRenewal is the renewal of replicas that share a session's tokens through a
// SharedTokens layer (the Redis store): take a token another replica already shared, else
// start a flight and redeem the refresh token the layer holds, else wait (bounded) for the
// other flight's result. Only a flight ever redeems, and the layer grants one flight per
// generation, so a refresh token that rotates with reuse detection is spent once. The layer
// keeps every rotation: callers are never handed one, and a refresh ahead may finish in the
// background.
type sharedRenewal struct {
	layer  SharedTokens
	redeem redeemer
	// adoptable is the cache's test of a shared token against its entry e (TokenCache.adoptable).
	adoptable  func(tok idp.Token, e *entry) bool
	wait, poll time.Duration // the wait for another replica's flight, and its polling interval
	logger     *slog.Logger
}

var _ renewal = (*sharedRenewal)(nil)

func (s *sharedRenewal) renew(ctx context.Context, sess *Session, scope string, e *entry) (renewed, error) {
	// Every call below has its own timeout; the wait for another replica is bounded apart,
	// in real time, since it waits on another process, not on a token's expiry.
	giveUp := time.NewTimer(s.wait)
	defer giveUp.Stop()
	for {
		sh, err := s.layer.Get(ctx, sess, scope)
		if err != nil {
			return renewed{}, err
		}
		if s.adoptable(sh.Token, e) {
			return renewed{tok: sh.Token, adopted: true}, nil
		}
		if sh.RefreshToken.IsEmpty() {
			return renewed{}, errNoRefreshToken
		}
		fl, err := s.layer.Lock(ctx, sess, sh)
		if err != nil {
			return renewed{}, err
		}
		if fl != nil {
			return s.redeemInFlight(ctx, sess, scope, fl, sh.RefreshToken)
		}
		select {
		case <-giveUp.C:
			return renewed{}, fmt.Errorf("wait for another replica's refresh: %w", idp.ErrUnavailable)
		case <-time.After(s.poll):
		}
	}
}

// redeemInFlight redeems rt within fl and stores the result through it. The flight renews
// its lock while the provider answers, so the refresh is bounded by the redeemer alone.
func (s *sharedRenewal) redeemInFlight(ctx context.Context, sess *Session, scope string, fl Flight, rt secret.String) (renewed, error) {
	tok, err := s.redeem.redeem(ctx, sess, rt, scope)
	if err != nil {
		fl.Release(ctx, err)
		return renewed{}, err
	}
	switch err := fl.Commit(ctx, scope, tok); {
	case errors.Is(err, ErrNoSession):
		// Signed out while we refreshed: the new tokens belong to nobody.
		return renewed{}, fmt.Errorf("%w: %w", err, idp.ErrInvalidGrant)
	case errors.Is(err, errOvertaken):
		// Another replica took over after this one stalled (no reuse detection): the store
		// holds its result; this access token is still good here.
		s.logger.LogAttrs(ctx, slog.LevelInfo, "a refresh finished after another replica took it over",
			slog.String("subject", sess.Subject), slog.String("scope", scope))
	case err != nil:
		// The access token is good. The result waits on this replica for Redis; the other
		// replicas wait on the flight it recorded, and never spend the old refresh token.
		s.logger.LogAttrs(ctx, slog.LevelError, "could not store the refreshed token yet; it is kept on this replica",
			slog.String("subject", sess.Subject), slog.String("scope", scope),
			slog.Bool("rotated", tok.RefreshToken != rt), slog.Any("error", err))
	}
	return renewed{tok: tok}, nil
}

// handBack hands nothing back: the layer holds the newest refresh token, and a caller saving
// an older copy later could overwrite a newer rotation.
func (s *sharedRenewal) handBack(*Session, *entry) secret.String { return "" }

// aheadInBackground is true: a rotation is in the layer before the refresh ends.
func (s *sharedRenewal) aheadInBackground() bool { return true }

// seed shares the sign-in's access token, so the first /auth on any replica is served
// without a refresh. The sign-in's refresh token is already in the saved session.
func (s *sharedRenewal) seed(sess *Session, scope string, tok idp.Token) {
	tok.RefreshToken = ""
	if err := s.layer.Set(context.Background(), sess, scope, tok); err != nil {
		s.logger.LogAttrs(context.Background(), slog.LevelWarn, "could not share the sign-in token",
			slog.String("subject", sess.Subject), slog.String("scope", scope), slog.Any("error", err))
	}
}

// adoptable reports whether a shared token can be used instead of refreshing: it is not past
// the safety margin, and it is newer than the one this replica has (a token in the
// refresh-ahead window that this replica also has is what it is about to replace).
func (c *TokenCache) adoptable(tok idp.Token, e *entry) bool {
	if tok.AccessToken.IsEmpty() || !c.opts.Now().Before(tok.Expiry.Add(-c.marginsForShared(e, tok.Expiry).safety)) {
		return false
	}
	return e == nil || tok.Expiry.After(e.expiry)
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
