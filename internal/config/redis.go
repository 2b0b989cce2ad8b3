package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Values of Session.Store.
const (
	StoreCookie = "cookie"
	StoreRedis  = "redis"
)

// Bounds of the redis keys that Validate enforces.
const (
	// MaxSessionCacheTTL bounds how long a revoked session may keep working on a replica.
	MaxSessionCacheTTL = 30 * time.Second
	// MaxRedisTimeout keeps a slow Redis from holding every /auth for long.
	MaxRedisTimeout = 10 * time.Second
)

// TLSEnabled reports whether tokengate talks TLS to Redis: redis.tls.enabled or a rediss:// URL.
func (r *Redis) TLSEnabled() bool {
	return r.TLS.Enabled || strings.HasPrefix(strings.ToLower(r.URL), "rediss://")
}

func (c *Config) validateRedis(ps *problems) {
	r := &c.Redis
	if c.Session.Store != StoreCookie && c.Session.Store != StoreRedis {
		ps.add("session.store", "%q is not one of cookie, redis", c.Session.Store)
	}
	c.validateReplicas(ps)
	if r.Timeout <= 0 || r.Timeout > MaxRedisTimeout {
		ps.add("redis.timeout", "%s must be > 0 and at most 10s: every Redis call needs a timeout", r.Timeout)
	}
	if r.SessionCacheTTL < 0 || r.SessionCacheTTL > MaxSessionCacheTTL {
		ps.add("redis.sessionCacheTTL", "%s is outside 0s–30s: it is how long a signed-out session keeps working on other replicas", r.SessionCacheTTL)
	}
	switch {
	case r.LockTTL < time.Second || r.LockTTL > 5*time.Minute:
		ps.add("redis.lockTTL", "%s is outside 1s–5m", r.LockTTL)
	case r.LockTTL <= 3*r.Timeout:
		ps.add("redis.lockTTL", "%s must exceed 3 × redis.timeout (%s): the lock must outlast the writes of a rotated refresh token", r.LockTTL, r.Timeout)
	case r.LockTTL < c.Provider.Timeout:
		ps.add("redis.lockTTL", "%s is shorter than provider.timeout (%s): a refresh that outlives its lock could spend the refresh token twice", r.LockTTL, c.Provider.Timeout)
	}
	if r.LockReplicas < 0 || r.LockReplicas > 5 {
		ps.add("redis.lockReplicas", "%d is outside 0–5", r.LockReplicas)
	}
	if r.URL != "" {
		if err := r.checkURL(); err != nil {
			ps.addErr("redis.url", err)
		}
	}
	for i, a := range r.Addrs {
		if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" {
			ps.add(fmt.Sprintf("redis.addrs[%d]", i), "%q is not host:port", a)
		}
	}
	if r.DB < 0 {
		ps.add("redis.db", "%d must be >= 0", r.DB)
	}
	if r.MasterName != "" && len(r.Addrs) == 0 {
		ps.add("redis.masterName", "needs redis.addrs: the Sentinels to ask for the master")
	}
	if len(r.Addrs) > 1 && r.MasterName == "" && r.DB != 0 {
		ps.add("redis.db", "must be 0 with several redis.addrs: Redis Cluster has only database 0")
	}
	if !r.TLSEnabled() && (r.TLS.CAFile != "" || r.TLS.ServerName != "") {
		ps.add("redis.tls.enabled", "must be true (or redis.url rediss://) when redis.tls.caFile or redis.tls.serverName is set")
	}
	if c.Session.Store != StoreRedis {
		return
	}
	switch {
	case r.URL == "" && len(r.Addrs) == 0:
		ps.add("redis.url", "required with session.store redis: set redis.url or redis.addrs")
	case r.URL != "" && len(r.Addrs) > 0:
		ps.add("redis.addrs", "set redis.url or redis.addrs, not both")
	}
}

// checkURL checks redis.url without ever quoting it: it might hold a password.
func (r *Redis) checkURL() error {
	u, err := url.Parse(r.URL)
	if err != nil {
		return fmt.Errorf("not a URL; want redis://host:6379 or rediss://host:6380")
	}
	if s := strings.ToLower(u.Scheme); s != "redis" && s != "rediss" {
		return fmt.Errorf("scheme %q; want redis or rediss", u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("no host; want redis://host:6379")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port is not a number in 1–65535")
		}
	}
	if _, has := u.User.Password(); has {
		return fmt.Errorf("contains a password: put it in redis.password or redis.passwordFile, which are kept secret")
	}
	if u.User.Username() != "" && r.Username != "" {
		return fmt.Errorf("names a user and so does redis.username: set one")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("has a query or fragment: use the redis.* keys for options")
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return fmt.Errorf("path is not a database number; want redis://host:6379/0")
		}
		if r.DB != 0 && n != r.DB {
			return fmt.Errorf("selects database %d and redis.db says %d: set one", n, r.DB)
		}
	}
	return nil
}

// validateReplicas refuses several replicas where they would spend one refresh token twice:
// on the cookie store each replica refreshes a session on its own, and a provider with reuse
// detection revokes the whole sign-in the second time. Redis makes the replicas share one
// refresh flight per session.
func (c *Config) validateReplicas(ps *problems) {
	switch {
	case c.Replicas < 0:
		ps.add("replicas", "%d must be 0 (undeclared) or more", c.Replicas)
	case c.Session.Store != StoreCookie || !c.Provider.RefreshTokenReuseDetection:
	case c.Replicas == 0:
		ps.add("replicas", "required with session.store cookie and provider.refreshTokenReuseDetection: "+
			"set replicas: 1 to declare that one tokengate process serves this configuration, or use session.store: redis for more")
	case c.Replicas > 1:
		ps.add("replicas", "%d replicas on session.store cookie with provider.refreshTokenReuseDetection would spend one refresh token twice "+
			"and the provider would revoke the sign-in: use session.store: redis, or one replica", c.Replicas)
	}
}
