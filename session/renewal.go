package session

import (
	"context"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

// renewal is how a TokenCache renews the token of one (session, scope), and what follows from
// where the session's refresh token is kept. The cache holds one, chosen by newRenewal, and
// keeps the in-memory side itself: entries, margins, one flight per key, the bookkeeping of
// failures. Like oauth2.ReuseTokenSource around a TokenSource, the cache asks the renewal
// only when its own copy will not do, and never asks which renewal it holds.
type renewal interface {
	// renew obtains a token for (sess, scope) in place of e (nil when nothing is cached). It
	// runs inside the cache's flight for the key, with a context that is never cancelled, and
	// bounds its own calls. Errors wrap what Get's do, errNoRefreshToken when the session
	// has no refresh token to redeem; the cache adds the scope.
	renew(ctx context.Context, sess *Session, scope string, e *entry) (renewed, error)
	// handBack returns the refresh token the caller must save in sess with e's access
	// token, or an empty one when sess needs no change.
	handBack(sess *Session, e *entry) secret.String
	// aheadInBackground reports whether a refresh in the refresh-ahead window may still be
	// running after the answer has gone.
	aheadInBackground() bool
	// seed passes the sign-in's token, which the cache already holds, on to whatever else
	// keeps tokens.
	seed(sess *Session, scope string, tok idp.Token)
}

// renewed is a token that renew obtained.
type renewed struct {
	// tok's RefreshToken is the one to keep for the session: the rotated one, or the one
	// spent when the provider did not rotate it; empty in a token another replica shared.
	tok idp.Token
	// adopted means another replica obtained tok, so its lifetime is unknown here
	// (margins.go); otherwise the identity provider has just issued it.
	adopted bool
}

// newRenewal chooses c's renewal from its options, once: the only place that asks whether
// there is a shared layer.
func (c *TokenCache) newRenewal(r Refresher) renewal {
	redeem := redeemer{refresher: r, timeout: c.opts.RefreshTimeout}
	if c.opts.Shared == nil {
		return &localRenewal{redeem: redeem, inline: c.opts.InlineRefresh}
	}
	poll := c.opts.SharedPoll
	if poll <= 0 {
		poll = defaultSharedPoll
	}
	return &sharedRenewal{layer: c.opts.Shared, redeem: redeem, adoptable: c.adoptable,
		wait: c.opts.RefreshTimeout, poll: poll, logger: c.opts.Logger}
}

// redeemer spends one refresh token at the identity provider, the one step both renewals
// share.
type redeemer struct {
	refresher Refresher
	timeout   time.Duration // bounds the provider call (CacheOptions.RefreshTimeout)
}

// errNoRefreshToken is a session that has no refresh token to renew its tokens with.
var errNoRefreshToken = fmt.Errorf("session has no refresh token: %w", idp.ErrInvalidGrant)

// redeem redeems rt for scope and checks that the answer is sess's user. The token's
// RefreshToken is the one to keep: the rotated one, or rt when the provider did not rotate.
// Errors are the Refresher's, errOtherUser or errNoRefreshToken, unwrapped: the cache names
// the scope, once for both renewals.
func (r redeemer) redeem(ctx context.Context, sess *Session, rt secret.String, scope string) (idp.Token, error) {
	if rt.IsEmpty() {
		return idp.Token{}, errNoRefreshToken
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	tok, err := r.refresher.Refresh(ctx, rt, scope)
	cancel()
	if err == nil {
		err = sameUser(sess, tok)
	}
	if err != nil {
		return idp.Token{}, err
	}
	if tok.RefreshToken.IsEmpty() {
		tok.RefreshToken = rt
	}
	return tok, nil
}

// errOtherUser means a refresh answered with an id_token for another issuer or subject than
// the session's. OIDC Core 12.2 requires them to be the same; the session ends.
var errOtherUser = fmt.Errorf("refresh returned an id_token for another user: %w", idp.ErrInvalidGrant)

// sameUser checks a refresh's verified id_token, when it came with one, against sess.
func sameUser(sess *Session, tok idp.Token) error {
	if tok.IDSubject == "" && tok.IDIssuer == "" {
		return nil
	}
	if tok.IDSubject != sess.Subject || (sess.Issuer != "" && tok.IDIssuer != sess.Issuer) {
		return errOtherUser
	}
	return nil
}
