package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Redis commands per /auth: none on a hit within redis.sessionCacheTTL (the session and the
// token are in memory), and one round trip when the session copy is stale: the bounded read
// script, whose TYPE, STRLEN and GET Redis counts as commands of their own (4 in all). The
// figures go to BENCHMARKS.md.
func TestRedisOpsPerAuth(t *testing.T) {
	c := newRedisCluster(t, 1, false)
	c.signIn("alice")
	c.wantStatus("warm-up", 0, http.StatusOK)
	const n = 50
	commands := func() int {
		t.Helper()
		info, err := c.redis.Do("INFO", "stats")
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "total_commands_processed:"); ok {
				got, err := strconv.Atoi(v)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
		}
		t.Fatal("INFO stats has no total_commands_processed")
		return 0
	}
	before := commands()
	for range n {
		c.wantStatus("within sessionCacheTTL", 0, http.StatusOK)
	}
	within := commands() - before - 1 // the INFO that counts is itself a command
	before = commands()
	for range n {
		c.clock.Advance(testCacheTTL) // the copy in memory is stale on every request
		c.wantStatus("outside sessionCacheTTL", 0, http.StatusOK)
	}
	outside := float64(commands()-before-1) / n
	t.Logf("Redis commands per /auth: %d within redis.sessionCacheTTL, %.1f outside it", within, outside)
	if within != 0 {
		t.Errorf("%d Redis commands for %d /auth within sessionCacheTTL; want 0", within, n)
	}
	// The first read loads the script (a NOSCRIPT answer, then EVAL): allow for it once.
	if outside < 1 || outside > 4+2.0/n {
		t.Errorf("%.1f Redis commands per /auth outside sessionCacheTTL; want the read script alone: at most 4 (EVALSHA and its TYPE, STRLEN, GET)", outside)
	}

	// What to watch when scaling out: Redis latency by command and refresh-lock outcomes.
	c.clock.Advance(testTokenLifetime)
	c.wantStatus("after expiry: one refresh under the lock", 0, http.StatusOK)
	metrics := string(c.get(0, "/metrics").Body)
	for _, want := range []string{
		`tokengate_redis_command_duration_seconds_bucket{command="evalsha",outcome="ok"`,
		`tokengate_refresh_lock_attempts_total{outcome="acquired"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
