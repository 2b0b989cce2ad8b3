package session

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/secret"
)

// Get returns the token another replica (or this one) shared for (sess, scope), the refresh
// token Redis holds for the session now and its generation, read in one snapshot. When
// Redis no longer has the session, the error wraps ErrNoSession and idp.ErrInvalidGrant. A
// refresh result of this replica still pending is stored first.
func (s *RedisStore) Get(ctx context.Context, sess *Session, scope string) (SharedToken, error) {
	if err := s.flushPending(ctx, sess.ID); err != nil {
		return SharedToken{}, fmt.Errorf("read shared token: %w", err)
	}
	callCtx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	vals, err := readScript.Run(callCtx, s.rdb, s.keys.all(sess.ID), tokenField(scope), MaxSealedLen).StringSlice()
	if err != nil {
		// The script reads nothing whose type it did not check, so an error reply is Redis
		// itself (LOADING, READONLY after a failover, BUSY, OOM): transient, never "ended".
		return SharedToken{}, fmt.Errorf("read shared token: %w: %w", ErrStoreUnavailable, err)
	}
	if len(vals) != 5 {
		return SharedToken{}, fmt.Errorf("read shared token: %d values: %w: %w", len(vals), ErrNoSession, idp.ErrInvalidGrant)
	}
	sessionKey := s.keys.session(sess.ID)
	if vals[0] == "" {
		return SharedToken{}, fmt.Errorf("read shared token: %w: %w", errEnded, idp.ErrInvalidGrant)
	}
	stored, err := s.openSession(sessionKey, sess.ID, vals[0])
	if err != nil {
		return SharedToken{}, fmt.Errorf("read shared token: %w: %w", err, idp.ErrInvalidGrant)
	}
	gen, err := strconv.ParseInt(vals[2], 10, 64)
	if err != nil {
		return SharedToken{}, fmt.Errorf("read shared token: refresh state is not ours: %w: %w", ErrNoSession, idp.ErrInvalidGrant)
	}
	s.local.put(sess.ID, stored, s.opts.Now().Add(s.opts.CacheTTL))
	out := SharedToken{RefreshToken: stored.RefreshToken, Generation: gen, stored: stored}
	// An expired, foreign or unreadable token is as good as none: the caller refreshes.
	if tok, err := s.openToken(s.keys.tokens(sess.ID), scope, vals[1]); err == nil {
		out.Token = tok
	}
	return out, nil
}

// Set shares tok, an access token that rotates nothing (the sign-in's), for (sess, scope)
// until it expires. A session that ended is not brought back: the error wraps ErrNoSession.
// Refresh results go through a Flight instead.
func (s *RedisStore) Set(ctx context.Context, sess *Session, scope string, tok idp.Token) error {
	if !tok.Expiry.After(s.opts.Now()) {
		return nil
	}
	tokens := s.keys.tokens(sess.ID)
	sealed, err := s.sealToken(tokens, scope, idp.Token{AccessToken: tok.AccessToken, Expiry: tok.Expiry})
	if err != nil {
		return fmt.Errorf("share token: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	n, err := shareScript.Run(ctx, s.rdb, s.keys.all(sess.ID), tokenField(scope), sealed).Int()
	if err != nil {
		return fmt.Errorf("share token: %w: %w", ErrStoreUnavailable, err)
	}
	if n == 0 {
		return fmt.Errorf("share token: %w", errEnded)
	}
	return nil
}

// shareScript adds a token to a live session's tokens hash, which lives as long as the
// session. KEYS: all. ARGV: token field, sealed token. Returns 0 when the session ended.
var shareScript = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[4], ttl)
return 1
`)

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
	// One DEL per session, of all its keys: sessions live in different hash slots, so no
	// single command or script may name them all in a Cluster.
	dels := make([]*redis.IntCmd, len(hashes))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, h := range hashes {
			all := s.keys.allByHash(h)
			dels[i] = p.Del(ctx, all[0]) // the session: what the count reports
			p.Del(ctx, all[1:]...)
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

// A shared token's plaintext is its expiry (Unix nanoseconds, big-endian) and the token. The
// purpose names the tokens key and the scope, so a token never opens for another session
// or scope.
func (s *RedisStore) sealToken(key, scope string, tok idp.Token) (string, error) {
	plain := binary.BigEndian.AppendUint64(nil, uint64(tok.Expiry.UnixNano()))
	plain = append(plain, tok.AccessToken.Reveal()...)
	return s.codec.Seal(tokenPurpose(key, scope), plain, tok.Expiry)
}

func (s *RedisStore) openToken(key, scope, sealed string) (idp.Token, error) {
	if sealed == "" {
		return idp.Token{}, fmt.Errorf("no shared token: %w", ErrInvalid)
	}
	plain, err := s.codec.Open(tokenPurpose(key, scope), sealed)
	if err != nil {
		return idp.Token{}, err
	}
	if len(plain) <= 8 {
		return idp.Token{}, fmt.Errorf("shared token too short: %w", ErrInvalid)
	}
	expiry := time.Unix(0, int64(binary.BigEndian.Uint64(plain)))
	return idp.Token{AccessToken: secret.String(plain[8:]), Expiry: expiry}, nil
}

func tokenPurpose(key, scope string) string { return "redis-token:" + key + ":" + tokenField(scope) }
