package session

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// ErrStoreUnavailable means the session store (Redis) could not be reached in time. It is
// transient: the answer is 503, never "sign in again".
var ErrStoreUnavailable = errors.New("session store unavailable")

// ErrStoreAuth means Redis refused tokengate's credentials (WRONGPASS, NOAUTH) or its ACL
// user lacks a permission it needs (NOPERM): an operator error that waiting does not fix.
var ErrStoreAuth = errors.New("redis refused the credentials (check redis.username and redis.password)")

// errEnded means Redis no longer holds the session: it was signed out, revoked by
// front-channel logout, or expired.
var errEnded = fmt.Errorf("session ended: %w", ErrNoSession)

// RedisOptions tune a RedisStore.
type RedisOptions struct {
	// Cookie names the cookie that carries the sealed session id.
	Cookie CookieOptions
	// Timeout bounds every Redis call, default 500ms.
	Timeout time.Duration
	// CacheTTL is how long an opened session is served from memory without asking Redis:
	// the bound on how long a revoked session keeps working on a replica. Default 0 (ask
	// every time); tokengate configures 5s.
	CacheTTL time.Duration
	// LockTTL is how long one replica may hold a session's refresh lock, default 10s. A
	// holder that dies frees the lock after this long.
	LockTTL time.Duration
	// ReuseDetection declares a provider that revokes a sign-in whose refresh token is
	// presented twice (Keycloak, Okta, Auth0, Dex). A refresh that may have spent the token
	// (a timeout, a broken connection) or whose replica vanished then ends the session
	// instead of letting another flight present the token again. Without it (Entra, which
	// keeps a redeemed refresh token valid) the next flight simply retries.
	ReuseDetection bool
	// LockReplicas is how many Redis replicas must hold a refresh flight before its refresh
	// token is presented (WAIT, lockreplica.go), so a failover cannot lose it. 0 waits for
	// none: right for one redis-server, which has no failover to survive.
	LockReplicas int
	// LocalMaxEntries bounds the in-memory session cache, default 4096 sessions.
	LocalMaxEntries int
	// KeyPrefix starts every Redis key, default "tokengate:".
	KeyPrefix string
	// Now is the clock, default the codec's.
	Now func() time.Time
	// Logger receives Redis failures that cannot be returned (sign-out, lock release).
	Logger *slog.Logger
}

// RedisStore keeps sessions in Redis. The cookie carries only the session id (256 random
// bits), sealed; Redis holds the encoded session sealed with the same codec, so a dump of
// Redis reveals no refresh token, under a key derived from a hash of the id, with a TTL that
// ends with the session. Deleting the key revokes the session on every replica within
// CacheTTL. It also implements SharedTokens (redistokens.go) for the TokenCache.
type RedisStore struct {
	rdb     redis.UniversalClient
	codec   *Codec
	cookies *CookieStore // builds and clears the cookie; never holds a session here
	opts    RedisOptions
	keys    keyspace
	local   *localSessions
	reads   singleflight.Group // one Redis read per session id at a time
	pending *pendingResults
}

var _ SharedTokens = (*RedisStore)(nil)

// NewRedisStore returns a store on rdb that seals with codec. It does not contact Redis:
// tokengate starts while Redis is down and reports not ready until it answers.
func NewRedisStore(rdb redis.UniversalClient, codec *Codec, opts RedisOptions) (*RedisStore, error) {
	if rdb == nil || codec == nil {
		return nil, errors.New("new redis store: no client or codec")
	}
	if opts.Timeout < 0 || opts.CacheTTL < 0 || opts.LockTTL < 0 || opts.LocalMaxEntries < 0 {
		return nil, errors.New("new redis store: negative option")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 500 * time.Millisecond
	}
	if opts.LockTTL == 0 {
		opts.LockTTL = 10 * time.Second
	}
	if opts.LocalMaxEntries == 0 {
		opts.LocalMaxEntries = 4096
	}
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = "tokengate:"
	}
	if opts.Now == nil {
		opts.Now = codec.now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &RedisStore{
		rdb:     rdb,
		codec:   codec,
		cookies: NewCookieStore(codec, opts.Cookie),
		opts:    opts,
		keys:    keyspace{prefix: opts.KeyPrefix},
		local:   newLocalSessions(opts.LocalMaxEntries),
		pending: newPendingResults(opts.LocalMaxEntries),
	}, nil
}

// Ping reports whether Redis answers within the timeout: the readiness check. A refusal
// of the credentials wraps ErrStoreAuth as well as ErrStoreUnavailable.
func (s *RedisStore) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	err := s.rdb.Ping(ctx).Err()
	switch {
	case err == nil:
		return nil
	case authRefused(err):
		return fmt.Errorf("ping redis: %w: %w: %w", ErrStoreUnavailable, ErrStoreAuth, err)
	}
	return fmt.Errorf("ping redis: %w: %w", ErrStoreUnavailable, err)
}

// authRefused reports whether err is Redis refusing the connection's authentication or
// its ACL permissions. go-redis has no typed error for these; the first word of a Redis
// error reply is its error code (RESP "Simple errors"), so that word is what is compared.
func authRefused(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	code, _, _ := strings.Cut(re.Error(), " ")
	return code == "WRONGPASS" || code == "NOAUTH" || code == "NOPERM"
}

// Load returns the session whose id r's cookie carries. It answers from memory for up to
// CacheTTL after the last read from Redis, and from an older copy only while Redis cannot
// be reached. Errors wrap ErrNoSession (no cookie, not ours, ended) or ErrStoreUnavailable
// (Redis down and no copy in memory).
func (s *RedisStore) Load(ctx context.Context, r *http.Request) (*Session, error) {
	id, err := s.idFrom(r)
	if err != nil {
		return nil, fmt.Errorf("load session: %w: %w", ErrNoSession, err)
	}
	return s.load(ctx, id)
}

// Peek returns the session r carries when this replica read it from Redis less than
// CacheTTL ago, so that no call to Redis is made, and reports whether it did. Load is the
// answer otherwise.
func (s *RedisStore) Peek(r *http.Request) (*Session, bool) {
	id, err := s.idFrom(r)
	if err != nil {
		return nil, false
	}
	sess, fresh := s.local.get(id, s.opts.Now())
	if sess == nil || !fresh {
		return nil, false // an older copy is Load's to judge, never an answer here
	}
	return sess, true
}

func (s *RedisStore) load(ctx context.Context, id string) (*Session, error) {
	now := s.opts.Now()
	cached, fresh := s.local.get(id, now)
	if cached != nil && fresh {
		return cached, nil
	}
	sess, err := s.read(ctx, id)
	switch {
	case err == nil:
		return sess, nil
	case errors.Is(err, ErrStoreUnavailable) && cached != nil:
		// Redis is down: a session we saw alive is still served (docs/ARCHITECTURE.md "Sessions
		// and scale"); revocation resumes when Redis is back.
		s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "redis unavailable; serving the session from memory", slog.Any("error", err))
		return cached, nil
	case errors.Is(err, ErrNoSession):
		s.local.drop(id)
	}
	return nil, fmt.Errorf("load session: %w", err)
}

// fetch reads and opens the session of id from Redis. The value is read only when it is a
// string of at most MaxSealedLen bytes: anything else under our key is not ours.
func (s *RedisStore) fetch(ctx context.Context, id string) (*Session, error) {
	key := s.keys.session(id)
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	sealed, err := readSessionScript.Run(ctx, s.rdb, []string{key}, MaxSealedLen).Text()
	switch {
	case err != nil: // an error reply is Redis itself (the script checks the type): transient
		return nil, fmt.Errorf("read session: %w: %w", ErrStoreUnavailable, err)
	case sealed == "":
		return nil, errEnded
	}
	sess, keyIndex, err := s.openSessionKey(key, id, sealed)
	if err == nil && keyIndex > 0 {
		s.resealStored(ctx, key, sealed, sess)
	}
	return sess, err
}

// openSession opens a sealed session value read from key. The purpose names the key, so a
// value copied to another session's key (by someone who can write to Redis) does not open.
func (s *RedisStore) openSession(key, id, sealed string) (*Session, error) {
	sess, _, err := s.openSessionKey(key, id, sealed)
	return sess, err
}

// openSessionKey is openSession that also returns the index of the key that opened it.
func (s *RedisStore) openSessionKey(key, id, sealed string) (*Session, int, error) {
	plain, keyIndex, err := s.codec.openKey(sessionPurpose(key), sealed)
	if err != nil {
		return nil, 0, fmt.Errorf("open stored session: %w: %w", ErrNoSession, err)
	}
	sess, err := decodeSession(plain)
	if err != nil {
		return nil, 0, fmt.Errorf("open stored session: %w: %w: %w", ErrNoSession, ErrInvalid, err)
	}
	if sess.ID != id {
		return nil, 0, fmt.Errorf("open stored session: id mismatch: %w: %w", ErrNoSession, ErrInvalid)
	}
	if sess.Expired(s.opts.Now()) {
		return nil, 0, fmt.Errorf("session ended at %s: %w: %w", sess.ExpiresAt.Format(time.RFC3339), ErrNoSession, ErrExpired)
	}
	return sess, keyIndex, nil
}

func (s *RedisStore) sealSession(key string, sess *Session) (string, error) {
	return s.codec.Seal(sessionPurpose(key), encodeSession(nil, sess), sess.ExpiresAt)
}

func sessionPurpose(key string) string { return "redis-session:" + key }

// Save writes sess to Redis until sess.ExpiresAt and, unless r already carries the cookie
// for this id, sets the cookie. Saving a session r's cookie names only updates it: a session
// that was signed out meanwhile is not brought back (the error wraps ErrNoSession).
func (s *RedisStore) Save(w http.ResponseWriter, r *http.Request, sess *Session) error {
	ttl := sess.ExpiresAt.Sub(s.opts.Now())
	if ttl < time.Second {
		return fmt.Errorf("save session: it ends at %s: %w", sess.ExpiresAt.Format(time.RFC3339), ErrExpired)
	}
	raw, err := base64.RawURLEncoding.DecodeString(sess.ID)
	if err != nil || len(raw) != idBytes {
		return fmt.Errorf("save session: id is not %d bytes of base64url", idBytes)
	}
	known := false
	if id, err := s.idFrom(r); err == nil && id == sess.ID {
		known = true
	}
	if err := s.put(context.WithoutCancel(r.Context()), sess, ttl, known); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	s.local.put(sess.ID, sess, s.opts.Now().Add(s.opts.CacheTTL))
	if known {
		return nil
	}
	value, err := s.codec.Seal(s.cookies.opts.Name, raw, sess.ExpiresAt)
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	c := s.cookies.cookie(s.cookies.opts.Name, value, int(ttl/time.Second))
	if err := c.Valid(); err != nil {
		return fmt.Errorf("save session: cookie options: %w", err)
	}
	w.Header().Add("Set-Cookie", c.String())
	for _, name := range s.cookies.carried(r) {
		if name != s.cookies.opts.Name { // chunks of a cookie-store session, from before a switch
			w.Header().Add("Set-Cookie", s.cookies.cookie(name, "", -1).String())
		}
	}
	return nil
}

// SaveRotated saves a session whose refresh token rotated during an /auth answer, and reports
// whether it did. The session lives in Redis and the cookie r carries only names its id, so
// Save writes no Set-Cookie for ingress-nginx to cut short. A session r's cookie does not name
// would need a new cookie, and the deletion of stale ones: it is not saved.
func (s *RedisStore) SaveRotated(w http.ResponseWriter, r *http.Request, sess *Session) (bool, error) {
	if id, err := s.idFrom(r); err != nil || id != sess.ID {
		return false, nil
	}
	if err := s.Save(w, r, sess); err != nil {
		return false, err
	}
	return true, nil
}

// put writes the sealed session, only over an existing one when update is set, and adds it
// to its sid's index for front-channel logout.
func (s *RedisStore) put(ctx context.Context, sess *Session, ttl time.Duration, update bool) error {
	key := s.keys.session(sess.ID)
	sealed, err := s.sealSession(key, sess)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	args := redis.SetArgs{TTL: ttl}
	if update {
		args.Mode = "XX"
	}
	err = s.rdb.SetArgs(ctx, key, sealed, args).Err()
	if errors.Is(err, redis.Nil) {
		return errEnded
	}
	if err != nil {
		return fmt.Errorf("write session: %w: %w", ErrStoreUnavailable, err)
	}
	// The indexes live in other hash slots than the session, so they are written apart.
	// The sid index's TTL only grows: it must outlive the longest session it names.
	hash := s.keys.hash(sess.ID)
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, s.keys.active(), redis.Z{Score: float64(sess.ExpiresAt.Unix()), Member: hash})
		if sess.SID != "" {
			idx := s.keys.sid(sess.SID)
			p.SAdd(ctx, idx, hash)
			p.ExpireNX(ctx, idx, ttl)
			p.ExpireGT(ctx, idx, ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index session by sid: %w: %w", ErrStoreUnavailable, err)
	}
	return nil
}

// ActiveSessions counts the sessions that have not ended and were not signed out or
// revoked, for the active-sessions gauge. Each count first drops ended ones from the index.
func (s *RedisStore) ActiveSessions(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	var card *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, s.keys.active(), "-inf", strconv.FormatInt(s.opts.Now().Unix(), 10))
		card = p.ZCard(ctx, s.keys.active())
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count active sessions: %w: %w", ErrStoreUnavailable, err)
	}
	return card.Val(), nil
}

// idFrom opens r's session cookie and returns the session id it carries.
func (s *RedisStore) idFrom(r *http.Request) (string, error) {
	id, _, err := s.idKeyFrom(r)
	return id, err
}

// idKeyFrom is idFrom that also returns the index of the cookie key that opened it.
func (s *RedisStore) idKeyFrom(r *http.Request) (string, int, error) {
	var cause error = http.ErrNoCookie
	for _, c := range r.Cookies() {
		if c.Name != s.cookies.opts.Name {
			continue
		}
		raw, keyIndex, err := s.codec.openKey(s.cookies.opts.Name, c.Value)
		if err == nil && len(raw) != idBytes {
			// A cookie-store session under the same name, from before a switch.
			err = fmt.Errorf("cookie holds no session id: %w", ErrInvalid)
		}
		if err == nil {
			return base64.RawURLEncoding.EncodeToString(raw), keyIndex, nil
		}
		cause = err
	}
	return "", 0, cause
}
