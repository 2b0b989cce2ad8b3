package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	// ready reports whether the store answers (always true for the cookie store).
	ready func() bool
	// activeSessions counts live sessions; nil with the cookie store, which cannot know.
	activeSessions func(context.Context) (int64, error)
	// close releases the store's connections.
	close func()
}

// newSessionBackend builds the session store of cfg. The Redis store does not connect here:
// tokengate starts (liveness true) while Redis is down and reports not ready until it answers.
func newSessionBackend(cfg *config.Config, codec *session.Codec, logger *slog.Logger, now func() time.Time, tracing *telemetry.Tracing, openedBytes int64) (*sessionBackend, error) {
	cookie := session.CookieOptions{Name: cfg.Cookie.Name, Domain: cfg.Cookie.Domain, OpenedCacheBytes: openedBytes}
	if cfg.Session.Store != config.StoreRedis {
		return &sessionBackend{
			sessions: session.NewCookieStore(codec, cookie),
			ready:    func() bool { return true },
			close:    func() {},
		}, nil
	}
	opts, err := redisClientOptions(&cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	rdb := redis.NewUniversalClient(opts)
	if tracing.Enabled() {
		rdb.AddHook(telemetry.RedisHook(tracing.Provider))
	}
	store, err := session.NewRedisStore(rdb, codec, session.RedisOptions{
		Cookie: cookie, Timeout: cfg.Redis.Timeout, CacheTTL: cfg.Redis.SessionCacheTTL,
		LockTTL: cfg.Redis.LockTTL, Now: now, Logger: logger,
	})
	if err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis session store: %w", err)
	}
	return &sessionBackend{
		sessions: store,
		shared:   store,
		revoker:  store,
		ready:    func() bool { return store.Ping(context.Background()) == nil },

		activeSessions: store.ActiveSessions,
		close:          func() { _ = rdb.Close() },
	}, nil
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
