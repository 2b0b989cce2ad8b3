package session

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

// LimitOptions bound one replica's calls to the token endpoint.
type LimitOptions struct {
	// Rate is the sustained number of calls per second; Burst how many may go at once.
	Rate  float64
	Burst int
	// Repeat is the shortest time between two identical calls (same refresh token, same
	// scope) after the first one returned a token. An identical call is what Entra's loop detection (AADSTS50196) punishes, and
	// it is what a session whose token keeps being evicted would send; it also keeps one
	// busy session from taking the bucket from the others. Default 10s.
	Repeat time.Duration
	// PauseWithoutRetryAfter is how long to stop calling after a throttling answer that
	// named no delay, default 5s.
	PauseWithoutRetryAfter time.Duration
	// Now is the clock, default time.Now. Logger receives one line per pause the provider
	// imposes, default discard.
	Now    func() time.Time
	Logger *slog.Logger
}

// LimitedRefresher is a Refresher that holds calls to a token bucket, never queues (a call
// over the limit fails at once, so the cache serves a still-valid token or the handler
// answers 503 with Retry-After), and stops calling while the provider asked it to wait.
type LimitedRefresher struct {
	next Refresher
	opts LimitOptions
	seed maphash.Seed

	mu          sync.Mutex
	tokens      float64   // in the bucket at last
	last        time.Time // when tokens was computed
	pausedUntil time.Time // the provider asked for no calls before this
	recent      map[uint64]time.Time

	admitted, rejected, throttled atomic.Int64
}

var _ Refresher = (*LimitedRefresher)(nil)

// ThrottledError is a call refused without reaching the provider. It unwraps to
// idp.ErrThrottled, hence idp.ErrUnavailable.
type ThrottledError struct {
	Reason string // "rate", "repeat" or "provider"
	Wait   time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("token endpoint calls held back (%s) for %s", e.Reason, e.Wait.Round(time.Millisecond))
}

// Unwrap makes errors.Is(err, idp.ErrThrottled) and idp.ErrUnavailable hold.
func (e *ThrottledError) Unwrap() error { return idp.ErrThrottled }

// RetryAfter is how long the caller should wait; idp.RetryAfter reads it.
func (e *ThrottledError) RetryAfter() time.Duration { return e.Wait }

// NewLimitedRefresher wraps next with the limit in opts.
func NewLimitedRefresher(next Refresher, opts LimitOptions) (*LimitedRefresher, error) {
	if next == nil {
		return nil, errors.New("new limited refresher: no refresher")
	}
	if opts.Rate <= 0 || opts.Burst < 1 {
		return nil, fmt.Errorf("new limited refresher: rate %v and burst %d; want both > 0", opts.Rate, opts.Burst)
	}
	if opts.Repeat <= 0 {
		opts.Repeat = 10 * time.Second
	}
	if opts.PauseWithoutRetryAfter <= 0 {
		opts.PauseWithoutRetryAfter = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &LimitedRefresher{next: next, opts: opts, seed: maphash.MakeSeed(),
		tokens: float64(opts.Burst), last: opts.Now(), recent: make(map[uint64]time.Time)}, nil
}

// Refresh calls the provider if the limit allows, else fails with a *ThrottledError.
func (l *LimitedRefresher) Refresh(ctx context.Context, refreshToken secret.String, scope string) (idp.Token, error) {
	if err := l.admit(refreshToken, scope); err != nil {
		l.rejected.Add(1)
		return idp.Token{}, fmt.Errorf("refresh for %s: %w", scope, err)
	}
	l.admitted.Add(1)
	tok, err := l.next.Refresh(ctx, refreshToken, scope)
	if err != nil {
		// Only a token received counts as asked for: retrying a failed call after an
		// outage is not a loop, and the cache already spaces those retries.
		l.forget(refreshToken, scope)
	}
	if errors.Is(err, idp.ErrThrottled) {
		l.throttled.Add(1)
		l.pause(ctx, err)
	}
	return tok, err
}

// forget drops the record of a call, so an identical one may follow at once.
func (l *LimitedRefresher) forget(refreshToken secret.String, scope string) {
	key := l.key(refreshToken, scope)
	l.mu.Lock()
	delete(l.recent, key)
	l.mu.Unlock()
}

// admit takes a token from the bucket for one call, or says how long to wait.
func (l *LimitedRefresher) admit(refreshToken secret.String, scope string) *ThrottledError {
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.pausedUntil) {
		return &ThrottledError{Reason: "provider", Wait: l.pausedUntil.Sub(now)}
	}
	key := l.key(refreshToken, scope)
	if at, ok := l.recent[key]; ok && now.Sub(at) < l.opts.Repeat {
		return &ThrottledError{Reason: "repeat", Wait: l.opts.Repeat - now.Sub(at)}
	}
	l.tokens = min(float64(l.opts.Burst), l.tokens+now.Sub(l.last).Seconds()*l.opts.Rate)
	l.last = now
	if l.tokens < 1 {
		wait := time.Duration((1 - l.tokens) / l.opts.Rate * float64(time.Second))
		return &ThrottledError{Reason: "rate", Wait: wait}
	}
	l.tokens--
	l.remember(key, now)
	return nil
}

// remember notes an admitted call. The map holds at most the calls of the last Repeat,
// which the bucket bounds to Burst + Rate*Repeat; older ones are swept when it doubles.
func (l *LimitedRefresher) remember(key uint64, now time.Time) {
	if len(l.recent) >= 2*(l.opts.Burst+int(l.opts.Rate*l.opts.Repeat.Seconds())+1) {
		for k, at := range l.recent {
			if now.Sub(at) >= l.opts.Repeat {
				delete(l.recent, k)
			}
		}
	}
	l.recent[key] = now
}

// key identifies a call without keeping the refresh token: a keyed hash of it and scope.
func (l *LimitedRefresher) key(refreshToken secret.String, scope string) uint64 {
	var h maphash.Hash
	h.SetSeed(l.seed)
	h.WriteString(refreshToken.Reveal())
	h.WriteByte(0)
	h.WriteString(scope)
	return h.Sum64()
}

// pause stops every call for as long as the provider's throttling answer asked.
func (l *LimitedRefresher) pause(ctx context.Context, err error) {
	wait, ok := idp.RetryAfter(err)
	if !ok {
		wait = l.opts.PauseWithoutRetryAfter
	}
	until := l.opts.Now().Add(wait)
	l.mu.Lock()
	extended := until.After(l.pausedUntil)
	if extended {
		l.pausedUntil = until
	}
	l.mu.Unlock()
	if extended {
		l.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "identity provider throttled token calls; pausing them",
			slog.Duration("pause", wait), slog.Any("error", err))
	}
}

// LimitStats are the limiter's counts since start.
type LimitStats struct {
	Admitted, Rejected, Throttled int64
}

// Stats returns the calls admitted, the calls refused without reaching the provider, and
// the provider's throttling answers.
func (l *LimitedRefresher) Stats() LimitStats {
	return LimitStats{Admitted: l.admitted.Load(), Rejected: l.rejected.Load(), Throttled: l.throttled.Load()}
}
