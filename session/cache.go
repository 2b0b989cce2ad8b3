package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"golang.org/x/sync/singleflight"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

// Refresher redeems a refresh token for an access token for exactly one resource scope.
// idp.Client satisfies it. Errors wrap idp.ErrInvalidGrant (the session is over),
// idp.ErrUnavailable (transient: a still-valid token may keep being used), or others.
// The returned Token.RefreshToken is empty when the provider did not rotate it.
type Refresher interface {
	Refresh(ctx context.Context, refreshToken secret.String, scope string) (idp.Token, error)
}

// CacheOptions tune a TokenCache.
type CacheOptions struct {
	// SafetyMargin ends a token's use this long before its real expiry, so a token handed
	// out is not already dead when the API server checks it.
	SafetyMargin time.Duration
	// RefreshAhead is the window before Expiry-SafetyMargin in which a token is still
	// served but refreshed in the background, so users rarely wait for a refresh.
	RefreshAhead time.Duration
	// MaxBytes bounds the cache (ristretto MaxCost); an entry costs its bytes.
	MaxBytes int64
	// RefreshTimeout bounds every refresh, default 10s. It is also how long a refresh
	// that failed with idp.ErrUnavailable blocks the next attempt while a token is valid.
	RefreshTimeout time.Duration
	// Now is the clock, default time.Now.
	Now func() time.Time
	// Logger receives background refresh failures (never a token), default discard.
	Logger *slog.Logger
	// Shared, when set, is a second level every replica sees (the Redis store): tokens are
	// shared through it and refreshes take its per-session lock. Nil: this replica alone.
	Shared SharedTokens
	// InlineRefresh, for a provider that revokes a redeemed refresh token (reuse detection),
	// refreshes a token in the refresh-ahead window inside the request rather than in the
	// background, when there is no shared layer (the cookie store): a background refresh
	// rotates the token after the answer has gone, and a restart before the browser's next
	// request loses the rotated one, so the old one is spent again. With a shared layer the
	// store keeps the rotated token and background refresh stays.
	InlineRefresh bool
	// SharedPoll is how often a replica waiting for another's refresh looks for its token,
	// default 25ms.
	SharedPoll time.Duration
}

// entry is one cached access token. It is immutable once stored except for the two
// timestamps, which throttle refresh attempts while the token is still being served.
type entry struct {
	access secret.String
	expiry time.Time
	// newest is the newest refresh token known for the session, obtained while the
	// session's own refresh token was base. A session still holding base is behind and
	// must catch up; a session holding something else has moved on without this replica.
	newest, base secret.String

	// lifetime is the token's lifetime as known when it was stored, and margins the safety
	// margin and refresh-ahead window that apply to it (margins.go).
	lifetime time.Duration
	margins  margins

	backgroundAfter atomic.Int64 // Unix nanoseconds; before it, no new background refresh
	failedUntil     atomic.Int64 // Unix nanoseconds; before it, a valid token is served Stale
}

// entryOverhead approximates the bytes of an entry beyond its strings, for the cost.
const entryOverhead = 128

// TokenCache hands out access tokens per (session, scope) from memory and renews them through
// its renewal: redeeming the session's refresh token here, or through the flights of a
// shared layer (renewal.go, shared.go). On a hit nothing touches the network; one renewal
// per key runs at a time. It is safe for concurrent use.
type TokenCache struct {
	opts    CacheOptions
	renewal renewal // how a token is renewed, chosen once (renewal.go)
	cache   *ristretto.Cache[string, *entry]
	flight  singleflight.Group
	thrash  *thrash // eviction and refetch counts (thrash.go)

	shortWarned atomic.Bool // the short-lifetime warning was logged (margins.go)

	mu     sync.Mutex // guards closed and the Add side of work
	closed bool
	work   sync.WaitGroup // every refresh goroutine
}

var (
	// errClosed is returned by Get after Close.
	errClosed = errors.New("token cache is closed")
	// errNoID is returned by Get for a session without an ID.
	errNoID = errors.New("token cache: session has no id")
)

// NewTokenCache returns a cache that refreshes through r.
func NewTokenCache(r Refresher, opts CacheOptions) (*TokenCache, error) {
	if r == nil {
		return nil, errors.New("new token cache: no refresher")
	}
	if opts.MaxBytes <= 0 {
		return nil, fmt.Errorf("new token cache: MaxBytes is %d; want > 0", opts.MaxBytes)
	}
	if opts.SafetyMargin < 0 || opts.RefreshAhead < 0 || opts.RefreshTimeout < 0 {
		return nil, errors.New("new token cache: negative duration")
	}
	if opts.RefreshTimeout == 0 {
		opts.RefreshTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	th := newThrash(opts.MaxBytes, opts.Now, opts.Logger)
	cfg := &ristretto.Config[string, *entry]{
		// Ten counters per entry that fits, assuming ~4 KiB entries (two refresh tokens).
		NumCounters:        max(opts.MaxBytes/400, 1000),
		MaxCost:            opts.MaxBytes,
		BufferItems:        64,
		IgnoreInternalCost: true, // entryOverhead counts it
	}
	th.hooks(cfg)
	cache, err := ristretto.NewCache(cfg)
	if err != nil {
		return nil, fmt.Errorf("new token cache: %w", err)
	}
	c := &TokenCache{opts: opts, cache: cache, thrash: th}
	c.renewal = c.newRenewal(r)
	return c, nil
}

// Seed stores the access token from sign-in, so the first /auth after it is a hit. A session
// without an ID is not cached (Get refuses it).
func (c *TokenCache) Seed(sess *Session, scope string, tok idp.Token) {
	if sess.ID == "" {
		return
	}
	c.storeIssued(context.Background(), cacheKey(sess, scope), scope, sess.RefreshToken, tok)
	c.renewal.seed(sess, scope, tok)
}

// Forget drops the cached token for (sess, scope), as on sign-out. A shared copy stays in
// the shared layer until it expires, unreachable: the shared layer hands tokens out only
// for sessions it still holds.
func (c *TokenCache) Forget(sess *Session, scope string) {
	c.cache.Del(cacheKey(sess, scope))
}

// Close stops new refreshes, waits for the running ones (each bounded by RefreshTimeout)
// and releases the cache. Call it after the server stopped serving: Gets racing Close may
// find the cache gone.
func (c *TokenCache) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.work.Wait()
	c.cache.Close()
}

// store caches tok until its real expiry, taking what is left of it as its lifetime. base
// is the session's refresh token when the refresh started: it tells later Gets whether
// their session is behind tok's refresh token.
func (c *TokenCache) store(key string, base secret.String, tok idp.Token) *entry {
	lifetime := tok.Expiry.Sub(c.opts.Now())
	return c.storeWith(key, base, tok, lifetime, c.marginsFor(lifetime))
}

// storeIssued is store for a token the identity provider just issued (margins.go).
func (c *TokenCache) storeIssued(ctx context.Context, key, scope string, base secret.String, tok idp.Token) *entry {
	lifetime := tok.Expiry.Sub(c.opts.Now())
	return c.storeWith(key, base, tok, lifetime, c.marginsFromProvider(ctx, scope, lifetime))
}

// storeWith is store with the lifetime and margins m that apply to tok.
func (c *TokenCache) storeWith(key string, base secret.String, tok idp.Token, lifetime time.Duration, m margins) *entry {
	e := &entry{access: tok.AccessToken, expiry: tok.Expiry, newest: tok.RefreshToken, base: base,
		lifetime: lifetime, margins: m}
	if e.newest.IsEmpty() {
		e.newest = base // not rotated: the one used stays the newest
	}
	ttl := tok.Expiry.Sub(c.opts.Now())
	if ttl <= 0 {
		return e // dead on arrival: hand it out once, never cache it
	}
	if ttl <= m.safety {
		// Born inside its safety margin (an adopted token with little left, or margins that
		// could not scale down far enough): every Get would refresh again at once. Serve it Stale while it is valid and ask
		// again no sooner than a refresh timeout from now: a bounded rate, never a storm.
		e.failedUntil.Store(c.opts.Now().Add(c.opts.RefreshTimeout).UnixNano())
	}
	cost := int64(len(key) + len(e.access) + len(e.newest) + entryOverhead)
	if e.base != e.newest {
		cost += int64(len(e.base))
	}
	// ristretto drops a Set when its buffer is contended; trying again after Wait keeps
	// one refresh per expiry under load. Wait makes the entry visible to the next Get. A
	// Set that is still dropped only costs a refresh.
	for try := 0; try < 3 && !c.cache.SetWithTTL(key, e, cost, ttl); try++ {
		c.cache.Wait()
	}
	c.cache.Wait()
	return e
}

// localRenewal is the renewal of a replica that alone redeems its sessions' refresh tokens
// (the cookie store): the session lives in the browser, so the caller saves every rotation.
// Until the session it presents carries the rotated refresh token, the cached entry is the
// only copy here, and renewals redeem that one. It lives beside entry because entry's newest
// and base are its bookkeeping.
type localRenewal struct {
	redeem redeemer
	// inline: the provider revokes a redeemed refresh token (InlineRefresh). A rotation made
	// in the background reaches the browser only with a later answer, and a restart before
	// it would spend the old token again.
	inline bool
}

var _ renewal = (*localRenewal)(nil)

func (l *localRenewal) renew(ctx context.Context, sess *Session, scope string, e *entry) (renewed, error) {
	tok, err := l.redeem.redeem(ctx, sess, newestRefreshToken(sess, e), scope)
	return renewed{tok: tok}, err
}

func (l *localRenewal) handBack(sess *Session, e *entry) secret.String {
	if rt := newestRefreshToken(sess, e); rt != sess.RefreshToken {
		return rt
	}
	return ""
}

func (l *localRenewal) aheadInBackground() bool { return !l.inline }

// seed passes nothing on: the caller saves the sign-in's session with its refresh token.
func (l *localRenewal) seed(*Session, string, idp.Token) {}

// newestRefreshToken is the refresh token to use for sess: e's when sess still holds the
// token e's was obtained with (the rotated one never reached the cookie), else the session's
// own, which is newer (another replica rotated it) or the same.
func newestRefreshToken(sess *Session, e *entry) secret.String {
	if e != nil && e.base == sess.RefreshToken {
		return e.newest
	}
	return sess.RefreshToken
}
