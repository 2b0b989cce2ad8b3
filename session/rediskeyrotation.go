package session

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key rotation with the Redis store. The cookie (the sealed session id) and the session
// value in Redis are both sealed with the primary key of cookie.secrets. Each is sealed
// again with the primary key the first time an older key opens it: the cookie in the answer
// of that request, the value in Redis on that read. Once every signed-in user made one
// request, the older key opens nothing and can be removed without signing anyone out.

// ResealCookie adds to w a Set-Cookie that carries r's session id sealed with the primary
// key, when an older key opened r's cookie and it names sess. It reports whether it did: the
// answer then carries a cookie and must not be cached by the proxy. It is one Set-Cookie,
// within ingress-nginx's one-cookie limit for an auth answer.
func (s *RedisStore) ResealCookie(w http.ResponseWriter, r *http.Request, sess *Session) bool {
	if len(s.codec.aeads) == 1 {
		return false // one key: nothing to rotate away from, and no second open per /auth
	}
	id, keyIndex, err := s.idKeyFrom(r)
	if err != nil || keyIndex == 0 || id != sess.ID {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return false
	}
	maxAge := int(sess.ExpiresAt.Sub(s.opts.Now()) / time.Second)
	if maxAge < 1 {
		return false
	}
	value, err := s.codec.Seal(s.cookies.opts.Name, raw, sess.ExpiresAt)
	if err != nil {
		return false
	}
	c := s.cookies.cookie(s.cookies.opts.Name, value, maxAge)
	if c.Valid() != nil {
		return false
	}
	w.Header().Add("Set-Cookie", c.String())
	return true
}

// resealStoredScript replaces a session value only if it is still the one read: a refresh
// result stored meanwhile is newer and must not be overwritten. KEYS: session. ARGV: value
// read, value sealed again.
var resealStoredScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'XX', 'KEEPTTL') return 1 end
return 0`)

// resealStored seals the session value read from key (sealed, opened by an older key) again
// with the primary key. It is best effort: a failure leaves the value as it was, still
// opening while the older key is configured, and the next read tries again.
func (s *RedisStore) resealStored(ctx context.Context, key, sealed string, sess *Session) {
	resealed, err := s.sealSession(key, sess)
	if err == nil {
		err = resealStoredScript.Run(ctx, s.rdb, []string{key}, sealed, resealed).Err()
	}
	if err != nil {
		s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "could not seal a session with the primary cookie key", slog.Any("error", err))
	}
}
