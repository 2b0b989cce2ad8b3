package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// What Redis holds under a session's key, or whether it holds it at all, decides between
// 200 and 401 ("sign in again"); it never makes /auth answer 500.
func TestRedisFaultsAnswerSignInAgain(t *testing.T) {
	tests := []struct {
		name  string
		fault func(c *redisCluster, sessionKey string)
	}{
		{name: "flushed", fault: func(c *redisCluster, _ string) { c.redisDo("FLUSHALL") }},
		{name: "evicted", fault: func(c *redisCluster, key string) { c.redisDo("DEL", key) }},
		{name: "garbage", fault: func(c *redisCluster, key string) { c.redisDo("SET", key, "garbage") }},
		{name: "foreign type", fault: func(c *redisCluster, key string) {
			c.redisDo("DEL", key)
			c.redisDo("SADD", key, "x")
		}},
		{name: "oversize", fault: func(c *redisCluster, key string) { c.redisDo("SET", key, strings.Repeat("A", 200<<10)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newRedisCluster(t, 1, true)
			c.signIn("alice")
			c.wantStatus("before the fault", 0, http.StatusOK)
			tt.fault(c, c.sessionKey())
			c.clock.Advance(testCacheTTL + time.Second) // the replica asks Redis again
			c.wantStatus("after the fault", 0, http.StatusUnauthorized)
			c.clock.Advance(testTokenLifetime) // and a refresh is due: still no 500
			c.wantStatus("after the fault, token expired", 0, http.StatusUnauthorized)
		})
	}
}

// A Redis that sleeps (DEBUG SLEEP) holds /auth no longer than about redis.timeout: the
// answer is 503, not a wait for Redis to wake.
func TestRedisSlowAnswersWithinTimeout(t *testing.T) {
	c := newRedisCluster(t, 1, true)
	c.signIn("alice")
	cold := len(c.replicas)
	c.addReplica() // nothing in memory: it must ask Redis
	slept := make(chan error, 1)
	go func() {
		_, err := c.redis.Do("DEBUG", "SLEEP", "3")
		slept <- err
	}()
	probe := redis.NewClient(&redis.Options{Addr: c.redis.Addr(), ReadTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer probe.Close()
	for probe.Ping(t.Context()).Err() == nil { // until the server is asleep
		select {
		case err := <-slept:
			t.Fatalf("DEBUG SLEEP ended (%v) before a PING was held", err)
		default:
		}
	}
	start := time.Now()
	c.wantStatus("redis asleep", cold, http.StatusServiceUnavailable)
	if took := time.Since(start); took > c.cfg.Redis.Timeout+time.Second {
		t.Errorf("/auth with redis asleep took %s; want about redis.timeout (%s)", took, c.cfg.Redis.Timeout)
	}
	if err := <-slept; err != nil {
		t.Fatalf("DEBUG SLEEP: %v", err)
	}
}

// redisDo runs a command against the cluster's Redis, failing the test on an error.
func (c *redisCluster) redisDo(args ...string) {
	c.t.Helper()
	if _, err := c.redis.Do(args...); err != nil {
		c.t.Fatalf("redis %s: %v", args[0], err)
	}
}

// sessionKey is the Redis key of the one signed-in session.
func (c *redisCluster) sessionKey() string {
	c.t.Helper()
	keys, err := c.redis.Do("KEYS", "*:session")
	if err != nil || keys == "" || strings.Contains(keys, "\n") {
		c.t.Fatalf("session keys %q (%v); want exactly one", keys, err)
	}
	return keys
}
