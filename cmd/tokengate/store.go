package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/tokengate/tokengate/handlers"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/telemetry"
	"github.com/tokengate/tokengate/session"
)

// sessionBackend is where sessions live, chosen by session.store.
type sessionBackend struct {
	sessions handlers.SessionStore
	// shared is the token layer every replica sees; nil with the cookie store.
	shared session.SharedTokens
	// revoker ends sessions by sid (front-channel logout); nil with the cookie store.
	revoker handlers.SIDRevoker
	// ready reports whether the store answers, else why not (always nil for the cookie store).
	ready func() error
	// activeSessions counts live sessions; nil with the cookie store, which cannot know.
	activeSessions func(context.Context) (int64, error)
	// close releases the store's connections.
	close func()
}

// newSessionBackend builds the session store of cfg. The Redis store does not connect here:
// tokengate starts (liveness true) while Redis is down and reports not ready until it answers.
func newSessionBackend(cfg *config.Config, codec *session.Codec, logger *slog.Logger, now func() time.Time, tracing *telemetry.Tracing, metrics *telemetry.Metrics, openedBytes int64) (*sessionBackend, error) {
	cookie := session.CookieOptions{Name: cfg.Cookie.Name, Domain: cfg.Cookie.Domain, OpenedCacheBytes: openedBytes}
	if cfg.Session.Store != config.StoreRedis {
		return &sessionBackend{
			sessions: session.NewCookieStore(codec, cookie),
			ready:    func() error { return nil },
			close:    func() {},
		}, nil
	}
	opts, err := redisClientOptions(&cfg.Redis)
	if err != nil {
		return nil, usageErr("%w", err)
	}
	redisMetrics, err := metrics.Redis()
	if err != nil {
		return nil, err
	}
	rdb := newRedisClient(opts)
	rdb.AddHook(redisMetrics.Hook())
	if tracing.Enabled() {
		rdb.AddHook(telemetry.RedisHook(tracing.Provider))
	}
	store, err := session.NewRedisStore(rdb, codec, session.RedisOptions{
		Cookie: cookie, Timeout: cfg.Redis.Timeout, CacheTTL: cfg.Redis.SessionCacheTTL,
		LockTTL: cfg.Redis.LockTTL, Now: now, Logger: logger, ReuseDetection: cfg.Provider.RefreshTokenReuseDetection,
		LockReplicas: cfg.Redis.LockReplicas,
	})
	if err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis session store: %w", err)
	}
	// An unreachable Redis may come back, so tokengate starts without it; refused
	// credentials will not fix themselves, so they stop the start, named.
	if err := store.Ping(context.Background()); errors.Is(err, session.ErrStoreAuth) {
		rdb.Close()
		return nil, fmt.Errorf("%w: redis.username / redis.password: %w", errUsage, err)
	}
	return &sessionBackend{
		sessions: store,
		shared:   countedLocks{SharedTokens: store, metrics: redisMetrics},
		revoker:  store,
		ready:    func() error { return store.Ping(context.Background()) },

		activeSessions: store.ActiveSessions,
		close:          func() { _ = rdb.Close() },
	}, nil
}

// countedLocks counts the outcomes of the refresh lock: contention between replicas shows
// as held_elsewhere, a struggling Redis as error.
type countedLocks struct {
	session.SharedTokens
	metrics *telemetry.RedisMetrics
}

var _ session.SharedTokens = countedLocks{}

// Lock starts a flight as the store does and counts the outcome: no flight means another
// replica holds the session's refresh.
func (c countedLocks) Lock(ctx context.Context, sess *session.Session, seen session.SharedToken) (session.Flight, error) {
	flight, err := c.SharedTokens.Lock(ctx, sess, seen)
	switch {
	case err != nil:
		c.metrics.Lock(ctx, telemetry.LockError)
	case flight == nil:
		c.metrics.Lock(ctx, telemetry.LockHeldElsewhere)
	default:
		c.metrics.Lock(ctx, telemetry.LockAcquired)
	}
	return flight, err
}

// clusterStateReload is how often a Cluster client re-reads the slot map while it is used.
// go-redis re-reads it at once on MOVED or ASK, but not when the master of a slot stops
// answering: with its default (60s) a killed master's slots kept failing for a minute
// after the Cluster had promoted its replica. One CLUSTER SLOTS every 2s per replica is
// cheap.
const clusterStateReload = 2 * time.Second

// newRedisClient returns the client opts describe: a Cluster client when there are several
// addrs and no masterName, else a single-server or Sentinel client.
func newRedisClient(opts *redis.UniversalOptions) redis.UniversalClient {
	if opts.MasterName == "" && len(opts.Addrs) > 1 {
		cluster := opts.Cluster()
		cluster.ClusterStateReloadInterval = clusterStateReload
		return redis.NewClusterClient(cluster)
	}
	return redis.NewUniversalClient(opts)
}

// redisClientOptions turns the redis section into go-redis options: one server from url,
// else Sentinels (masterName) or Cluster nodes from addrs. Every call is bounded by timeout.
func redisClientOptions(c *config.Redis) (*redis.UniversalOptions, error) {
	opts := &redis.UniversalOptions{
		Addrs:      c.Addrs,
		MasterName: c.MasterName,
		Username:   c.Username,
		Password:   c.Password.Reveal(),
		DB:         c.DB,
		// The context deadline of each call (redis.timeout) bounds it, retries included.
		ContextTimeoutEnabled: true,
		DialTimeout:           c.Timeout,
		ReadTimeout:           c.Timeout,
		WriteTimeout:          c.Timeout,
		PoolTimeout:           c.Timeout,
		DialerRetries:         1,
		// Maintenance notifications are a Redis Enterprise/Cloud handshake; off keeps the
		// connection setup to what every Redis 6+ answers.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if c.URL != "" {
		u, err := redis.ParseURL(c.URL)
		if err != nil {
			// Not quoted: the URL could carry credentials (Validate refuses a password).
			return nil, fmt.Errorf("redis.url: cannot be parsed")
		}
		opts.Addrs = []string{u.Addr}
		opts.TLSConfig = u.TLSConfig
		if u.Username != "" {
			opts.Username = u.Username
		}
		if u.DB != 0 {
			opts.DB = u.DB
		}
	}
	if !c.TLSEnabled() {
		return opts, nil
	}
	if opts.TLSConfig == nil {
		opts.TLSConfig = &tls.Config{}
	}
	opts.TLSConfig.MinVersion = tls.VersionTLS12
	if c.TLS.ServerName != "" {
		opts.TLSConfig.ServerName = c.TLS.ServerName
	}
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis.tls.caFile: %s holds no PEM certificate", c.TLS.CAFile)
		}
		opts.TLSConfig.RootCAs = pool
	}
	return opts, nil
}
