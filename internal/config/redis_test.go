package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidateRedis(t *testing.T) {
	redisStore := func(c *Config) { c.Session.Store = StoreRedis }
	tests := []struct {
		name   string
		mutate func(c *Config)
		key    string // "" = valid
		parts  []string
	}{
		{name: "cookie store needs no redis", mutate: func(c *Config) {}},
		{name: "unknown store", mutate: func(c *Config) { c.Session.Store = "memcached" }, key: "session.store", parts: []string{"memcached"}},
		{name: "redis store without a server", mutate: redisStore, key: "redis.url", parts: []string{"required"}},
		{name: "url", mutate: func(c *Config) { redisStore(c); c.Redis.URL = "redis://redis.tokengate:6379/2" }},
		{name: "tls url with user", mutate: func(c *Config) { redisStore(c); c.Redis.URL = "rediss://tokengate@redis.example.com:6380" }},
		{name: "sentinel", mutate: func(c *Config) {
			redisStore(c)
			c.Redis.Addrs = []string{"s1:26379", "s2:26379", "s3:26379"}
			c.Redis.MasterName = "mymaster"
			c.Redis.DB = 3
		}},
		{name: "cluster", mutate: func(c *Config) { redisStore(c); c.Redis.Addrs = []string{"n1:6379", "n2:6379"} }},
		{name: "url and addrs", mutate: func(c *Config) { redisStore(c); c.Redis.URL = "redis://r:6379"; c.Redis.Addrs = []string{"r:6379"} }, key: "redis.addrs", parts: []string{"not both"}},
		{name: "url with a password is refused and not echoed", mutate: func(c *Config) { c.Redis.URL = "redis://u:hunter2pass@r:6379" }, key: "redis.url", parts: []string{"redis.passwordFile"}},
		{name: "url scheme", mutate: func(c *Config) { c.Redis.URL = "http://r:6379" }, key: "redis.url", parts: []string{"redis or rediss"}},
		{name: "url without host", mutate: func(c *Config) { c.Redis.URL = "redis:///0" }, key: "redis.url", parts: []string{"no host"}},
		{name: "url with query", mutate: func(c *Config) { c.Redis.URL = "redis://r:6379?dial_timeout=1s" }, key: "redis.url", parts: []string{"query"}},
		{name: "url db clash", mutate: func(c *Config) { c.Redis.URL = "redis://r:6379/1"; c.Redis.DB = 2 }, key: "redis.url", parts: []string{"set one"}},
		{name: "url bad db", mutate: func(c *Config) { c.Redis.URL = "redis://r:6379/x" }, key: "redis.url", parts: []string{"database number"}},
		{name: "url user and username", mutate: func(c *Config) { c.Redis.URL = "redis://a@r:6379"; c.Redis.Username = "b" }, key: "redis.url", parts: []string{"redis.username"}},
		{name: "addr without port", mutate: func(c *Config) { c.Redis.Addrs = []string{"r"} }, key: "redis.addrs[0]", parts: []string{"host:port"}},
		{name: "master name without sentinels", mutate: func(c *Config) { c.Redis.MasterName = "m" }, key: "redis.masterName", parts: []string{"Sentinels"}},
		{name: "cluster with a db", mutate: func(c *Config) { c.Redis.Addrs = []string{"n1:6379", "n2:6379"}; c.Redis.DB = 1 }, key: "redis.db", parts: []string{"Cluster"}},
		{name: "negative db", mutate: func(c *Config) { c.Redis.DB = -1 }, key: "redis.db"},
		{name: "ca without tls", mutate: func(c *Config) { c.Redis.TLS.CAFile = "/ca.pem" }, key: "redis.tls.enabled"},
		{name: "ca with rediss", mutate: func(c *Config) { c.Redis.URL = "rediss://r:6380"; c.Redis.TLS.CAFile = "/ca.pem" }},
		{name: "no timeout", mutate: func(c *Config) { c.Redis.Timeout = 0 }, key: "redis.timeout", parts: []string{"timeout"}},
		{name: "cache ttl too long", mutate: func(c *Config) { c.Redis.SessionCacheTTL = time.Minute }, key: "redis.sessionCacheTTL", parts: []string{"0s–30s"}},
		{name: "cache ttl off", mutate: func(c *Config) { c.Redis.SessionCacheTTL = 0 }},
		{name: "lock shorter than a refresh", mutate: func(c *Config) { c.Redis.LockTTL = 5 * time.Second }, key: "redis.lockTTL", parts: []string{"provider.timeout"}},
		{name: "lock shorter than its writes", mutate: func(c *Config) { c.Redis.Timeout = 5 * time.Second }, key: "redis.lockTTL", parts: []string{"3 × redis.timeout"}},
		{name: "lock too short", mutate: func(c *Config) { c.Redis.LockTTL = time.Millisecond }, key: "redis.lockTTL", parts: []string{"1s–5m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Errorf("Validate() = %v; want nil", err)
				}
				return
			}
			wantProblem(t, err, tt.key, tt.parts...)
			if n := len(problemsOf(t, err)); n != 1 {
				t.Errorf("Validate() = %v; want exactly one problem, got %d", err, n)
			}
			if strings.Contains(err.Error(), "hunter2pass") {
				t.Errorf("Validate() echoes the password in redis.url: %v", err)
			}
		})
	}
}

func TestLoadRedisPasswordFile(t *testing.T) {
	path := writeFile(t, "redis-password", "r3dis-pass\n")
	c, err := Load("", validEnv("TOKENGATE_SESSION_STORE=redis", "TOKENGATE_REDIS_URL=redis://r:6379",
		"TOKENGATE_REDIS_PASSWORD_FILE="+path))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := c.Redis.Password.Reveal(); got != "r3dis-pass" {
		t.Errorf("password = %q; want the file's content", got)
	}
	_, err = Load("", validEnv("TOKENGATE_REDIS_PASSWORD=x", "TOKENGATE_REDIS_PASSWORD_FILE="+path))
	wantProblem(t, err, "redis.passwordFile", "not both")
	_, err = Load("", validEnv("TOKENGATE_REDIS_PASSWORD_FILE="+filepath.Join(t.TempDir(), "missing")))
	wantProblem(t, err, "redis.passwordFile", "missing")
}
