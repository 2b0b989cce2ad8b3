package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/idp"
)

// maxCommitAttempts bounds the attempts to store a refresh result before the answer; each
// has its own redis.timeout. A result still not stored stays pending on this replica.
const maxCommitAttempts = 3

var _ Flight = (*redisFlight)(nil)

// redisFlight is one replica's refresh of one session at one generation. Its lock is renewed
// while the refresh runs; the flight itself (the refresh state's owner) outlives the lock
// until Commit, Release, or the session's end.
type redisFlight struct {
	s      *RedisStore
	id     string
	token  string   // the lock token; owner of the flight
	gen    int64    // generation the flight redeems
	stored *Session // the session as read at gen

	stopRenew func() // stops the renewal and waits for it; idempotent
}

// Lock starts a flight for sess at the generation seen read: it takes the refresh lock and
// records this replica as the only one that may spend the refresh token of that generation.
// It returns nil and no error when another replica's flight is under way or its result
// already landed: the caller reads again. A flight abandoned for long enough ends the
// session (see lockScript): the error wraps ErrNoSession and idp.ErrInvalidGrant.
func (s *RedisStore) Lock(ctx context.Context, sess *Session, seen SharedToken) (Flight, error) {
	if seen.stored == nil {
		return nil, errors.New("take refresh lock: no session read from the store")
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	token := base64.RawURLEncoding.EncodeToString(b[:])
	callCtx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	res, acked, err := s.runAcked(callCtx, lockScript, s.keys.all(sess.ID), token, seen.Generation,
		s.opts.Now().UnixMilli(), s.opts.LockTTL.Milliseconds(), s.abandonAfter().Milliseconds(), s.onAbandoned())
	if err != nil {
		return nil, fmt.Errorf("take refresh lock: %w: %w", ErrStoreUnavailable, err)
	}
	switch res {
	case "ok":
		if err := s.lockReplicated(callCtx, sess.ID, token, seen.Generation, acked); err != nil {
			return nil, fmt.Errorf("take refresh lock: %w", err)
		}
	case "ended":
		s.ended(callCtx, sess.ID, seen.stored.SID)
		return nil, fmt.Errorf("take refresh lock: %w: %w", errEnded, idp.ErrInvalidGrant)
	default: // busy, pending, moved
		return nil, nil
	}
	f := &redisFlight{s: s, id: sess.ID, token: token, gen: seen.Generation, stored: seen.stored}
	f.stopRenew = s.renew(context.WithoutCancel(ctx), s.keys.lock(sess.ID), token)
	return f, nil
}

// abandonAfter is how long a flight whose lock lapsed is waited for before the session
// ends: well past a live holder's refresh and its bounded commit attempts.
func (s *RedisStore) abandonAfter() time.Duration { return 3 * s.opts.LockTTL }

// onAbandoned is what lockScript does with an abandoned flight.
func (s *RedisStore) onAbandoned() string {
	if s.opts.ReuseDetection {
		return "end"
	}
	return "takeover"
}

// renew extends the lock every third of LockTTL until the returned stop is called, so a
// slow provider never lets the lock lapse under a live holder. A pause of this process stops
// the renewal too: the recorded flight, not the lock, keeps others from spending the token.
func (s *RedisStore) renew(ctx context.Context, key, token string) (stop func()) {
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		tick := time.NewTicker(s.opts.LockTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				callCtx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
				err := renewScript.Run(callCtx, s.rdb, []string{key}, token, s.opts.LockTTL.Milliseconds()).Err()
				cancel()
				if err != nil {
					s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "could not renew the refresh lock", slog.Any("error", err))
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-ended
	}
}

// Commit stores tok (tok.RefreshToken set: the refresh token to keep, rotated or not) as
// the result of the flight, atomically with the new generation, and ends the flight. A
// flight whose session ended stores nothing: the error wraps ErrNoSession. One overtaken by
// a newer flight stores nothing either, and the error says so. When Redis cannot be reached after maxCommitAttempts the result stays
// pending on this replica and the next read of the session here retries it; the error wraps
// ErrStoreUnavailable.
func (f *redisFlight) Commit(ctx context.Context, scope string, tok idp.Token) error {
	f.stopRenew()
	p, err := f.s.pendingCommit(f, scope, tok)
	if err != nil {
		return fmt.Errorf("store refresh result: %w", err)
	}
	for range maxCommitAttempts {
		if err = f.s.commit(ctx, p); err == nil || !errors.Is(err, ErrStoreUnavailable) {
			break
		}
	}
	if errors.Is(err, ErrStoreUnavailable) {
		f.s.pending.put(p)
	}
	if err != nil {
		return fmt.Errorf("store refresh result: %w", err)
	}
	return nil
}

// Release ends a flight that has no result, as cause (the refresh's error) allows: a
// refused refresh token ends the session everywhere; one certainly not spent, or any with a
// provider without reuse detection, is left for the next flight; one that may have been
// spent (timeout, broken connection) with reuse detection stays recorded, so no replica
// presents it again, and the session ends once the flight counts as abandoned.
func (f *redisFlight) Release(ctx context.Context, cause error) {
	f.stopRenew()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.s.opts.Timeout)
	defer cancel()
	var err error
	switch {
	case errors.Is(cause, idp.ErrInvalidGrant):
		if err = endScript.Run(ctx, f.s.rdb, f.s.keys.all(f.id), f.token, f.gen).Err(); err == nil {
			f.s.ended(ctx, f.id, f.stored.SID)
		}
	case notSpent(cause) || !f.s.opts.ReuseDetection:
		err = abortScript.Run(ctx, f.s.rdb, f.s.keys.all(f.id), f.token, f.gen).Err()
	default:
		err = releaseScript.Run(ctx, f.s.rdb, []string{f.s.keys.lock(f.id)}, f.token).Err()
	}
	if err != nil {
		// The lock lapses by itself; a recorded flight is judged abandoned in time.
		f.s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "could not end the refresh flight", slog.Any("error", err))
	}
}

// ended forgets a session that a script found or made ended, and unindexes it.
func (s *RedisStore) ended(ctx context.Context, id, sid string) {
	s.local.drop(id)
	if err := s.unindex(ctx, id, sid); err != nil {
		s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "could not unindex an ended session", slog.Any("error", err))
	}
}

// notSpent reports whether a failed refresh certainly left its refresh token unspent: the
// token endpoint answered an error (no token was issued), or the request never left.
func notSpent(err error) bool {
	var pe *idp.ProviderError
	// ErrThrottled: the limiter refused before sending, or the provider refused to serve.
	return errors.As(err, &pe) || errors.Is(err, idp.ErrNotSent) || errors.Is(err, idp.ErrThrottled)
}

// pendingResult is a refresh result on its way to Redis.
type pendingResult struct {
	id, token                  string
	gen                        int64
	stored                     *Session // the session with the new refresh token
	field                      string
	sealedSession, sealedToken string
}

func (s *RedisStore) pendingCommit(f *redisFlight, scope string, tok idp.Token) (*pendingResult, error) {
	stored := *f.stored
	stored.RefreshToken = tok.RefreshToken
	sealedSession, err := s.sealSession(s.keys.session(f.id), &stored)
	if err != nil {
		return nil, err
	}
	tokens := s.keys.tokens(f.id)
	sealedToken, err := s.sealToken(tokens, scope, idp.Token{AccessToken: tok.AccessToken, Expiry: tok.Expiry})
	if err != nil {
		return nil, err
	}
	return &pendingResult{id: f.id, token: f.token, gen: f.gen, stored: &stored, field: tokenField(scope),
		sealedSession: sealedSession, sealedToken: sealedToken}, nil
}

// errOvertaken means another flight took over an abandoned one (no reuse detection) and the
// late result was not stored. Its access token is still good on the replica that got it.
var errOvertaken = errors.New("another refresh took over this one; its result was not stored")

// commit runs the fenced write of p once.
func (s *RedisStore) commit(ctx context.Context, p *pendingResult) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
	defer cancel()
	res, err := commitScript.Run(ctx, s.rdb, s.keys.all(p.id), p.token, strconv.FormatInt(p.gen, 10),
		p.sealedSession, p.field, p.sealedToken).Text()
	switch {
	case err != nil && !errors.Is(err, redis.Nil):
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	case res == "ok":
		s.local.put(p.id, p.stored, s.opts.Now().Add(s.opts.CacheTTL))
		return nil
	case res == "ended":
		s.ended(ctx, p.id, p.stored.SID)
		return errEnded
	}
	return errOvertaken
}
