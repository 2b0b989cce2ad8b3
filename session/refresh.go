package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
)

// Outcome says how Get produced its token.
type Outcome int

const (
	// Hit is a fresh cached token; nothing touched the network.
	Hit Outcome = iota + 1
	// RefreshAhead is a cached token near its end; a background refresh was started or
	// is under way.
	RefreshAhead
	// Refreshed is a token just obtained from the identity provider.
	Refreshed
	// Stale is a cached token past its safety margin but still valid, served because
	// the identity provider is unavailable.
	Stale
)

// String names the outcome for logs and metrics.
func (o Outcome) String() string {
	switch o {
	case Hit:
		return "hit"
	case RefreshAhead:
		return "refresh_ahead"
	case Refreshed:
		return "refreshed"
	case Stale:
		return "stale"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Result is what Get hands back. Token.RefreshToken is set only when the session's refresh
// token is out of date: the caller must save the session with it (Set-Cookie).
type Result struct {
	Token   idp.Token
	Outcome Outcome
}

// Get returns an access token for (sess, scope), following docs/ARCHITECTURE.md "One /auth
// request", step 5:
//   - fresh (before Expiry-SafetyMargin-RefreshAhead): the cached token, no network;
//   - in the refresh-ahead window: the cached token, and one background refresh;
//   - past Expiry-SafetyMargin, or missing: a refresh now, shared by concurrent callers;
//     if the identity provider is unavailable and the cached token has not expired,
//     that token (Stale) rather than an error.
//
// An error wraps idp.ErrInvalidGrant when the session is over (the entry is dropped) or has
// no refresh token (the entry stays until it expires),
// idp.ErrUnavailable or ErrStoreUnavailable when no valid token is left, or ctx's error.
func (c *TokenCache) Get(ctx context.Context, sess *Session, scope string) (Result, error) {
	if sess.ID == "" {
		// Every id-less session would share one key, and so one user's token.
		return Result{}, errNoID
	}
	key := cacheKey(sess, scope)
	now := c.opts.Now()
	e, found := c.cache.Get(key)
	ahead := false // a token in the refresh-ahead window, refreshed inline
	if found {
		freshUntil := e.expiry.Add(-e.margins.safety)
		switch {
		case c.fresh(e, now):
			return c.result(sess, e, Hit), nil
		case now.Before(freshUntil) && c.renewal.aheadInBackground():
			c.refreshInBackground(ctx, key, sess, scope, e, now)
			return c.result(sess, e, RefreshAhead), nil
		case now.Before(freshUntil) && now.UnixNano() < e.failedUntil.Load():
			return c.result(sess, e, RefreshAhead), nil // inline, but the provider just failed
		case now.Before(freshUntil):
			ahead = true
		case e.usable(now) && now.UnixNano() < e.failedUntil.Load():
			// The provider just failed: serve the valid token without waiting on it again.
			return c.result(sess, e, Stale), nil
		}
	} else {
		c.thrash.missed(ctx, key)
	}
	fresh, err := c.refreshNow(ctx, key, sess, scope, e)
	if err == nil {
		return c.result(sess, fresh, Refreshed), nil
	}
	if transient(err) && e != nil && e.usable(c.opts.Now()) {
		if ahead {
			return c.result(sess, e, RefreshAhead), nil
		}
		return c.result(sess, e, Stale), nil
	}
	return Result{}, err
}

// cacheKey is the key of the entry for (sess, scope).
func cacheKey(sess *Session, scope string) string { return sess.ID + "\x00" + scope }

// Peek returns the cached token for (sess, scope) when Get would answer Hit: cached and
// outside the refresh-ahead window. It never refreshes and reports false otherwise.
func (c *TokenCache) Peek(sess *Session, scope string) (Result, bool) {
	if sess.ID == "" {
		return Result{}, false
	}
	e, found := c.cache.Get(cacheKey(sess, scope))
	if !found || !c.fresh(e, c.opts.Now()) {
		return Result{}, false
	}
	return c.result(sess, e, Hit), true
}

// fresh reports whether e is served as is at now: before its expiry less its safety
// margin and refresh-ahead window.
func (c *TokenCache) fresh(e *entry, now time.Time) bool {
	return now.Before(e.expiry.Add(-e.margins.safety - e.margins.ahead))
}

// usable reports whether e's token is still accepted at now (its real expiry, no margin).
func (e *entry) usable(now time.Time) bool { return now.Before(e.expiry) }

// result builds Get's answer, with the refresh token the renewal hands back for sess.
func (c *TokenCache) result(sess *Session, e *entry, o Outcome) Result {
	tok := idp.Token{AccessToken: e.access, Expiry: e.expiry, RefreshToken: c.renewal.handBack(sess, e)}
	return Result{Token: tok, Outcome: o}
}

// refreshInBackground starts one refresh of key unless one was started less than
// RefreshTimeout ago (it is still running, or failed and should not be retried on every
// request). Its failure is logged; the next Gets keep serving e.
func (c *TokenCache) refreshInBackground(ctx context.Context, key string, sess *Session, scope string, e *entry, now time.Time) {
	after := e.backgroundAfter.Load()
	if now.UnixNano() < after || !e.backgroundAfter.CompareAndSwap(after, now.Add(c.opts.RefreshTimeout).UnixNano()) {
		return
	}
	c.spawn(func() {
		if _, err := c.refreshOnce(ctx, key, sess, scope, e); err != nil {
			level := slog.LevelWarn
			if errors.Is(err, idp.ErrThrottled) {
				level = slog.LevelDebug // counted in metrics; the token is still served
			}
			c.opts.Logger.LogAttrs(ctx, level, "background token refresh failed",
				slog.String("subject", sess.Subject), slog.String("scope", scope), slog.Any("error", err))
		}
	})
}

// refreshNow refreshes key and waits for the result or for ctx. The refresh itself is
// detached from ctx, so one caller giving up does not fail the others sharing it.
func (c *TokenCache) refreshNow(ctx context.Context, key string, sess *Session, scope string, e *entry) (*entry, error) {
	type outcome struct {
		e   *entry
		err error
	}
	done := make(chan outcome, 1)
	started := c.spawn(func() {
		fresh, err := c.refreshOnce(ctx, key, sess, scope, e)
		done <- outcome{fresh, err}
	})
	if !started {
		return nil, errClosed
	}
	select {
	case o := <-done:
		return o.e, o.err
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for token refresh of scope %s: %w", scope, ctx.Err())
	}
}

// refreshOnce runs one refresh of key at a time; concurrent callers share its result.
func (c *TokenCache) refreshOnce(ctx context.Context, key string, sess *Session, scope string, e *entry) (*entry, error) {
	v, err, _ := c.flight.Do(key, func() (any, error) {
		// A caller that missed the cache just before another flight stored its result
		// arrives here after that flight ended: take the result instead of spending the
		// refresh token again.
		if cur, ok := c.cache.Get(key); ok && cur != e && c.opts.Now().Before(cur.expiry.Add(-cur.margins.safety)) {
			return cur, nil
		}
		return c.refresh(ctx, key, sess, scope, e)
	})
	if err != nil {
		return nil, err
	}
	return v.(*entry), nil
}

// refresh renews key through c's renewal and caches the result. Neither the caller's
// deadline nor its going away ends a refresh that others may share: the renewal bounds its
// own calls.
func (c *TokenCache) refresh(ctx context.Context, key string, sess *Session, scope string, e *entry) (*entry, error) {
	ctx = context.WithoutCancel(ctx)
	got, err := c.renewal.renew(ctx, sess, scope, e)
	if err != nil {
		return nil, c.refreshFailed(key, e, fmt.Errorf("refresh token for scope %s: %w", scope, err))
	}
	if got.adopted {
		return c.adopt(key, sess, got.tok, e), nil
	}
	return c.storeIssued(ctx, key, scope, sess.RefreshToken, got.tok), nil
}

// refreshFailed records a failed refresh of key and returns err: a dead session drops the
// entry; a transient failure makes Get serve the still-valid entry Stale for a while.
func (c *TokenCache) refreshFailed(key string, e *entry, err error) error {
	switch {
	case errors.Is(err, errNoRefreshToken):
		// Nothing ended the session, it only cannot be renewed: a cached token is still
		// served until it expires.
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

// spawn runs f in a goroutine that Close waits for; it reports false after Close.
func (c *TokenCache) spawn(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.work.Add(1)
	go func() {
		defer c.work.Done()
		f()
	}()
	return true
}
