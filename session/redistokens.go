package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

// unlockScript deletes a lock only if it still holds our token: after our lease ran out
// another replica may hold it, and deleting theirs would let a third spend the refresh token.
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// maxWatchRetries bounds the attempts to write a rotated refresh token (optimistic-lock
// conflicts and transient failures).
const maxWatchRetries = 3

// Get returns the token another replica (or this one) shared for (sess, scope), and the
// refresh token Redis holds for the session now. The session is read in the same round trip:
// when Redis no longer has it, the error wraps ErrNoSession and idp.ErrInvalidGrant.
func (s *RedisStore) Get(ctx context.Context, sess *Session, scope string) (SharedToken, error) {
	tokenKey, sessionKey := s.keys.token(sess.ID, scope), s.keys.session(sess.ID)
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	vals, err := s.rdb.MGet(ctx, tokenKey, sessionKey).Result()
	if err != nil {
		return SharedToken{}, fmt.Errorf("read shared token: %w: %w", ErrStoreUnavailable, err)
	}
	sealedSession, _ := vals[1].(string)
	if sealedSession == "" {
		return SharedToken{}, fmt.Errorf("read shared token: %w: %w", errEnded, idp.ErrInvalidGrant)
	}
	stored, err := s.openSession(sessionKey, sess.ID, sealedSession)
	if err != nil {
		return SharedToken{}, fmt.Errorf("read shared token: %w: %w", err, idp.ErrInvalidGrant)
	}
	s.local.put(sess.ID, stored, s.opts.Now().Add(s.opts.CacheTTL))
	out := SharedToken{RefreshToken: stored.RefreshToken}
	if sealed, _ := vals[0].(string); sealed != "" {
		// An expired or unreadable token is as good as none: the caller refreshes.
		if tok, err := s.openToken(tokenKey, sealed); err == nil {
			out.Token = tok
		}
	}
	return out, nil
}

// Set shares tok for (sess, scope) until it expires. When tok.RefreshToken is set (the
// provider rotated it) the session's refresh token is replaced in the same MULTI/EXEC, so no
// replica can see the new access token with the old refresh token. A session that ended
// meanwhile is not brought back: the error wraps ErrNoSession.
func (s *RedisStore) Set(ctx context.Context, sess *Session, scope string, tok idp.Token) error {
	ttl := tok.Expiry.Sub(s.opts.Now())
	tokenKey := s.keys.token(sess.ID, scope)
	sealed, err := s.sealToken(tokenKey, tok)
	if err != nil {
		return fmt.Errorf("share token: %w", err)
	}
	if tok.RefreshToken.IsEmpty() {
		if ttl <= 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
		if err := s.rdb.Set(ctx, tokenKey, sealed, ttl).Err(); err != nil {
			return fmt.Errorf("share token: %w: %w", ErrStoreUnavailable, err)
		}
		return nil
	}
	// The provider has already spent the old refresh token: losing this write would make
	// the next refresh present a spent one, which a provider with reuse detection punishes
	// by revoking the sign-in. So it is retried, each attempt with its own timeout; writing
	// the same values twice is harmless.
	for range maxWatchRetries {
		attempt, cancel := context.WithTimeout(ctx, s.opts.Timeout)
		err = s.rotate(attempt, sess.ID, tok.RefreshToken, tokenKey, sealed, ttl)
		cancel()
		if err == nil || errors.Is(err, ErrNoSession) {
			break
		}
	}
	switch {
	case errors.Is(err, ErrNoSession):
		return fmt.Errorf("store rotated refresh token: %w", err)
	case err != nil:
		return fmt.Errorf("store rotated refresh token: %w: %w", ErrStoreUnavailable, err)
	}
	return nil
}

// rotate replaces the session's refresh token and shares the access token, atomically. WATCH
// makes it fail (TxFailedErr) if the session changed between the read and the write.
func (s *RedisStore) rotate(ctx context.Context, id string, rt secret.String, tokenKey, sealedToken string, ttl time.Duration) error {
	sessionKey := s.keys.session(id)
	return s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		sealed, err := tx.Get(ctx, sessionKey).Result()
		if errors.Is(err, redis.Nil) {
			return errEnded
		}
		if err != nil {
			return err
		}
		stored, err := s.openSession(sessionKey, id, sealed)
		if err != nil {
			return err
		}
		stored.RefreshToken = rt
		resealed, err := s.sealSession(sessionKey, stored)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SetArgs(ctx, sessionKey, resealed, redis.SetArgs{Mode: "XX", KeepTTL: true})
			if ttl > 0 {
				p.Set(ctx, tokenKey, sealedToken, ttl)
			}
			return nil
		})
		if err == nil {
			s.local.put(id, stored, s.opts.Now().Add(s.opts.CacheTTL))
		}
		return err
	}, sessionKey)
}

// Lock takes the refresh lock of sess for LockTTL: while held, no other replica redeems the
// session's refresh token. lease is 0 when another replica holds it; unlock releases it only
// if it is still ours. The lease handed out is shorter than the lock by the time Set may
// take to store a rotated refresh token (all its attempts): a refresh that ends within the
// lease is stored before any other replica can take the lock and read the old token.
func (s *RedisStore) Lock(ctx context.Context, sess *Session) (unlock func(), lease time.Duration, err error) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	token := base64.RawURLEncoding.EncodeToString(b[:])
	key := s.keys.lock(sess.ID)
	callCtx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	ok, err := s.rdb.SetNX(callCtx, key, token, s.opts.LockTTL).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("take refresh lock: %w: %w", ErrStoreUnavailable, err)
	}
	if !ok {
		return nil, 0, nil
	}
	unlock = func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
		defer cancel()
		if err := unlockScript.Run(ctx, s.rdb, []string{key}, token).Err(); err != nil {
			// The lease ends by itself; until then other replicas wait or serve Stale.
			s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "could not release the refresh lock", slog.Any("error", err))
		}
	}
	return unlock, s.lease(), nil
}

// lease is LockTTL minus the longest a rotated refresh token's write may take.
func (s *RedisStore) lease() time.Duration {
	if l := s.opts.LockTTL - maxWatchRetries*s.opts.Timeout; l > 0 {
		return l
	}
	return s.opts.LockTTL / 2 // a configuration Validate refuses; still never the whole lock
}

// RevokeSID ends every session signed in with the provider's session id sid (front-channel
// logout) and reports how many Redis still had. Other replicas stop serving them within
// CacheTTL.
func (s *RedisStore) RevokeSID(ctx context.Context, sid string) (int, error) {
	s.local.dropSID(sid)
	idx := s.keys.sid(sid)
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	hashes, err := s.rdb.SMembers(ctx, idx).Result()
	if err != nil {
		return 0, fmt.Errorf("revoke sid: %w: %w", ErrStoreUnavailable, err)
	}
	// One DEL per session: they live in different hash slots, so no single command or
	// script may name them all in a Cluster.
	dels := make([]*redis.IntCmd, len(hashes))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, h := range hashes {
			dels[i] = p.Del(ctx, s.keys.sessionByHash(h))
			p.ZRem(ctx, s.keys.active(), h)
		}
		p.Del(ctx, idx)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("revoke sid: %w: %w", ErrStoreUnavailable, err)
	}
	n := 0
	for _, d := range dels {
		n += int(d.Val())
	}
	return n, nil
}

// A shared token's plaintext is its expiry (Unix nanoseconds, big-endian) and the token.
func (s *RedisStore) sealToken(key string, tok idp.Token) (string, error) {
	plain := binary.BigEndian.AppendUint64(nil, uint64(tok.Expiry.UnixNano()))
	plain = append(plain, tok.AccessToken.Reveal()...)
	return s.codec.Seal(tokenPurpose(key), plain, tok.Expiry)
}

func (s *RedisStore) openToken(key, sealed string) (idp.Token, error) {
	plain, err := s.codec.Open(tokenPurpose(key), sealed)
	if err != nil {
		return idp.Token{}, err
	}
	if len(plain) <= 8 {
		return idp.Token{}, fmt.Errorf("shared token too short: %w", ErrInvalid)
	}
	expiry := time.Unix(0, int64(binary.BigEndian.Uint64(plain)))
	return idp.Token{AccessToken: secret.String(plain[8:]), Expiry: expiry}, nil
}

func tokenPurpose(key string) string { return "redis-token:" + key }
